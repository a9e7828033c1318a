"""The wealth check-up on hand-made portfolios whose right answers are worked out here."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from fastapi.testclient import TestClient

from tests.identity import factories as identity_factories
from tests.identity.authz import World
from tests.wealth.authz import buyer
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.wealth.checkup import (
    Candidate,
    CheckupInput,
    Position,
    build_report,
    target_allocation,
)

TODAY = date(2026, 3, 2)
CANDIDATES = [
    Candidate("TD-12M", "整存整取 12 个月", "deposit", 1, 95, True),
    Candidate("WM-180", "稳健添利 180 天", "fixed_income", 2, 260, False),
    Candidate("WM-365P", "增利精选一年期", "fixed_income", 3, 340, False),
    Candidate("F-BAL", "平衡混合", "equity", 3, 560, False),
    Candidate("F-TECH", "科技创新成长", "equity", 5, 900, False),
]


def test_target_allocation_caps_equity_at_one_hundred_minus_age() -> None:
    assert target_allocation(5, 30) == {
        "cash": 5,
        "deposit": 5,
        "fixed_income": 25,
        "equity": 65,
    }
    assert target_allocation(5, 70) == {
        "cash": 5,
        "deposit": 5,
        "fixed_income": 60,
        "equity": 30,
    }
    assert target_allocation(None, 40) == target_allocation(1, 40)


def test_a_concentrated_over_risk_portfolio_with_idle_cash() -> None:
    # 1,000,000.00 in all: cash 150,000, a deposit maturing in 20 days 300,000,
    # a bond fund 100,000 and a R5 tech fund 450,000; level C3, age 40, spending 10,000/month.
    report = build_report(
        CheckupInput(
            today=TODAY,
            age=40,
            risk_level=3,
            cash_minor=15_000_000,
            positions=[
                Position(
                    "整存整取 12 个月",
                    "deposit",
                    1,
                    30_000_000,
                    False,
                    "TD-12M",
                    TODAY + timedelta(days=20),
                ),
                Position("纯债债券", "fixed_income", 2, 10_000_000, True, "F-BOND"),
                Position("科技创新成长", "equity", 5, 45_000_000, True, "F-TECH"),
            ],
            monthly_spending_minor=1_000_000,
            candidates=CANDIDATES,
        )
    )
    assert report.total_minor == 100_000_000
    shares = {line.asset_class: (line.share_bp, line.target_bp) for line in report.allocation}
    # C3 at 40: cash 10, deposit 20, fixed income 40, equity 30 (the age cap of 60 does not bite)
    assert shares == {
        "cash": (1_500, 1_000),
        "deposit": (3_000, 2_000),
        "fixed_income": (1_000, 4_000),
        "equity": (4_500, 3_000),
    }
    assert report.by_risk == {1: 45_000_000, 2: 10_000_000, 3: 0, 4: 0, 5: 45_000_000}
    assert (report.largest_position, report.largest_share_bp, report.concentrated) == (
        "科技创新成长",
        4_500,
        True,
    )
    # liquid: cash + both funds = 700,000 = 70 months of 10,000
    assert (report.liquid_minor, report.months_covered_e1) == (70_000_000, 700)
    # idle: 150,000 - 6 x 10,000 = 90,000
    assert report.idle_cash_minor == 9_000_000
    assert [p.product_code for p in report.maturing] == ["TD-12M"]
    assert [p.product_code for p in report.above_level] == ["F-TECH"]
    assert [s.code for s in report.suggestions] == [
        "review_above_level",
        "deploy_idle_cash",
        "diversify",
        "reduce_equity",
        "plan_maturity",
    ]
    idle = report.suggestions[1]
    # the best-yielding fixed-income or deposit product within C3
    assert (idle.product_code, idle.amount_minor) == ("WM-365P", 9_000_000)
    # 100 - 10 (one holding above level) - 10 (idle) - 10 (concentrated) - 1500 // 200
    assert report.score == 63


def test_an_older_aggressive_customer_short_of_reserve() -> None:
    # age 70, C5: equity capped at 30%; cash 30,000 with spending 15,000 a month
    report = build_report(
        CheckupInput(
            today=TODAY,
            age=70,
            risk_level=5,
            cash_minor=3_000_000,
            positions=[],
            monthly_spending_minor=1_500_000,
            candidates=CANDIDATES,
        )
    )
    assert report.months_covered_e1 == 20
    assert report.idle_cash_minor == 0
    assert [s.code for s in report.suggestions] == [
        "build_reserve",
        "add_equity",
        "annual_review",
    ]
    assert report.suggestions[0].amount_minor == 1_500_000  # 3 x 15,000 - 30,000
    assert report.suggestions[1].product_code == "F-TECH"
    equity = next(line for line in report.allocation if line.asset_class == "equity")
    assert (equity.target_bp, equity.deviation_bp) == (3_000, -3_000)
    assert report.score == 100 - 15 - 15
    assert report.largest_position is None and not report.concentrated


def test_without_an_assessment_only_deposits_are_suggested() -> None:
    report = build_report(
        CheckupInput(
            today=TODAY,
            age=30,
            risk_level=None,
            cash_minor=10_000_000,
            positions=[],
            monthly_spending_minor=0,
            candidates=CANDIDATES,
        )
    )
    assert report.months_covered_e1 is None
    assert [s.code for s in report.suggestions] == [
        "take_assessment",
        "deploy_idle_cash",
        "annual_review",
    ]
    assert report.suggestions[1].product_code == "TD-12M"
    assert report.score == 100 - 15 - 10


def test_suggested_products_never_exceed_the_customers_level() -> None:
    risk = {c.code: c for c in CANDIDATES}
    for level in (None, 1, 2, 3, 4, 5):
        for age in (25, 45, 80):
            for cash, equity in ((50_000_000, 0), (1_000_000, 90_000_000)):
                report = build_report(
                    CheckupInput(
                        today=TODAY,
                        age=age,
                        risk_level=level,
                        cash_minor=cash,
                        positions=[Position("x", "equity", 1, equity, True, None)]
                        if equity
                        else [],
                        monthly_spending_minor=100_000,
                        candidates=CANDIDATES,
                    )
                )
                assert 3 <= len(report.suggestions) <= 5
                for s in report.suggestions:
                    if s.product_code in risk:
                        product = risk[s.product_code]
                        assert product.is_deposit or (
                            level is not None and product.risk_level <= level
                        ), (level, s)


def test_checkup_api_and_pdf(client: TestClient, db: Database) -> None:
    owner = identity_factories.register(client, db)
    account_id = buyer(World(client, db, Settings()), owner, ["TD-3M", "F-BOND"], "80000.00")
    headers = owner.headers
    for code, amount in (("TD-3M", "30000.00"), ("F-BOND", "10000.00")):
        made = client.post(
            "/v1/wealth/orders",
            json={"product_code": code, "amount": amount, "account_id": account_id},
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert made.status_code == 201, made.text
    report = client.get("/v1/wealth/checkup", headers=headers)
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["total"] == "80000.00"  # 40,000 cash + 30,000 deposit + 10,000 in transit
    values = {line["asset_class"]: line["value"] for line in body["allocation"]}
    assert values == {
        "cash": "40000.00",
        "deposit": "30000.00",
        "fixed_income": "10000.00",
        "equity": "0.00",
    }
    assert body["risk_level"] == "C5"
    assert 3 <= len(body["suggestions"]) <= 5
    pdf = client.get("/v1/wealth/checkup.pdf", headers=headers)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 2_000
    english = client.get("/v1/wealth/checkup.pdf", headers={**headers, "Accept-Language": "en"})
    assert english.content.startswith(b"%PDF")


def test_spending_leaves_out_savings_products_and_the_pension(
    client: TestClient, db: Database
) -> None:
    from zhangyin.clock import utcnow
    from zhangyin.ledger import service as ledger
    from zhangyin.ledger.models import AccountKind
    from zhangyin.money import Money
    from zhangyin.wealth import catalogue, checkup, pension, service

    owner = identity_factories.register(client, db)
    account_id = owner.account["id"]
    now = utcnow()

    def work(s: object) -> None:
        from sqlalchemy.orm import Session

        assert isinstance(s, Session)
        catalogue.install_demo_products(s)
        cash = ledger.bank_account(s, AccountKind.BANK_CASH)
        ledger.transfer(s, ledger.TransferOrder(cash.id, account_id, Money(5_000_000, "CNY")))
        shop = ledger.open_account(s, kind=AccountKind.CUSTOMER_CURRENT, name="商户")
        ledger.transfer(s, ledger.TransferOrder(account_id, shop.id, Money(900_000, "CNY")))
        product = catalogue.get_product(s, "TD-3M")
        service.acknowledge_documents(s, owner.customer_id, "TD-3M", product.document_version, now)
        service.subscribe(
            s,
            owner.customer_id,
            product_code="TD-3M",
            amount=Money(1_000_000, "CNY"),
            account_id=account_id,
            in_pension=False,
            now=now,
        )
        pension.open_account(s, owner.customer_id, now)
        pension.contribute(s, owner.customer_id, account_id, Money(100_000, "CNY"), now)

    db.run(work)
    data = db.run(lambda s: checkup.gather_inputs(s, owner.customer_id, now))
    # only the 9,000.00 paid to the shop is spending: 9,000 over 90 days = 3,000 a month
    assert data.monthly_spending_minor == 300_000
    assert data.cash_minor == 5_000_000 - 900_000 - 1_000_000 - 100_000
    assert [p.product_code for p in data.positions] == ["TD-3M"]
    assert data.pension_remaining_minor == 1_100_000
    assert data.risk_level is None and data.age >= 30
