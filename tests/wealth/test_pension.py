"""Personal pension: 12,000 CNY per calendar year (Beijing), pension-only products,
restricted withdrawals with 3% tax, and the year's tax statement."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.wealth.factories import (
    acknowledge,
    assess,
    balance,
    beijing,
    conserved,
    demo_shelf,
    new_customer,
    register_born,
)
from zhangyin.db import Database
from zhangyin.money import Money
from zhangyin.wealth import jobs, pension, service
from zhangyin.wealth.errors import (
    PensionAccountExists,
    PensionAccountRequired,
    PensionCapExceeded,
    PensionOnly,
    PensionWithdrawalRefused,
)
from zhangyin.wealth.models import WealthOrder

LAST_MINUTE_2026 = beijing(date(2026, 12, 31), time(23, 59))  # 15:59 UTC
FIRST_MINUTE_2027 = beijing(date(2027, 1, 1), time(0, 1))  # still 2026-12-31 in UTC


def _contribute(db: Database, customer: str, account: int, minor: int, now: object) -> None:
    from datetime import datetime

    assert isinstance(now, datetime)
    db.run(lambda s: pension.contribute(s, customer, account, Money(minor, "CNY"), now))


def test_the_cap_is_per_beijing_calendar_year_across_the_boundary(db: Database) -> None:
    customer, account = new_customer(db, 5_000_000)
    with pytest.raises(PensionAccountRequired):
        _contribute(db, customer, account, 100, LAST_MINUTE_2026)
    db.run(lambda s: pension.open_account(s, customer, LAST_MINUTE_2026))
    with pytest.raises(PensionAccountExists):
        db.run(lambda s: pension.open_account(s, customer, LAST_MINUTE_2026))
    _contribute(db, customer, account, 1_000_000, beijing(date(2026, 3, 1)))
    _contribute(db, customer, account, 200_000, LAST_MINUTE_2026)
    with pytest.raises(PensionCapExceeded) as refused:
        _contribute(db, customer, account, 1, LAST_MINUTE_2026)
    assert refused.value.params["remaining"] == "0.00"
    assert refused.value.params["tax_year"] == 2026
    # one minute later it is 2027 in Beijing (though still 2026 in UTC): a fresh cap
    _contribute(db, customer, account, 1_200_000, FIRST_MINUTE_2027)
    with pytest.raises(PensionCapExceeded):
        _contribute(db, customer, account, 1, FIRST_MINUTE_2027)
    assert balance(db, account) == 5_000_000 - 2_400_000
    summary = db.run(lambda s: pension.summary(s, customer, FIRST_MINUTE_2027))
    assert (summary.balance_minor, summary.contributed_minor, summary.remaining_minor) == (
        2_400_000,
        1_200_000,
        0,
    )
    statement = db.run(lambda s: pension.tax_statement(s, customer, 2026))
    assert (statement.contributed_minor, statement.deductible_minor) == (1_200_000, 1_200_000)
    assert len(statement.contributions) == 2
    assert db.run(lambda s: pension.tax_statement(s, customer, 2027)).deductible_minor == 1_200_000
    assert db.run(lambda s: pension.tax_statement(s, customer, 2025)).contributed_minor == 0
    conserved(db)


def test_pension_money_buys_only_pension_products_and_returns_to_the_pension(
    db: Database,
) -> None:
    now = beijing(date(2026, 3, 2), time(10))
    demo_shelf(db, now.date())
    customer, account = new_customer(db, 5_000_000)
    assess(db, customer, 3, now)
    for code in ("P-BOND", "F-BOND", "PD-1Y"):
        acknowledge(db, customer, code, now)
    row = db.run(lambda s: pension.open_account(s, customer, now))
    _contribute(db, customer, account, 1_000_000, now)

    def buy(code: str, from_pension: bool, minor: int) -> WealthOrder:
        return db.run(
            lambda s: service.subscribe(
                s,
                customer,
                product_code=code,
                amount=Money(minor, "CNY"),
                account_id=None if from_pension else account,
                in_pension=from_pension,
                now=now,
            )
        )

    with pytest.raises(PensionOnly):
        buy("F-BOND", True, 100_000)
    with pytest.raises(PensionOnly):
        buy("P-BOND", False, 100_000)
    order = buy("P-BOND", True, 600_000)
    assert order.account_id == row.ledger_account_id
    deposit = buy("PD-1Y", True, 400_000)
    assert balance(db, row.ledger_account_id) == 0
    assert balance(db, account) == 4_000_000
    db.run(lambda s: service.record_nav(s, "P-BOND", now.date(), 10_000, "test", now))
    db.run(lambda s: service.confirm_due_orders(s, beijing(date(2026, 3, 3), time(9))))
    holding_id = db.run(lambda s: service.get_order(s, customer, order.id)).holding_id or ""
    redeem = db.run(
        lambda s: service.redeem(
            s, customer, holding_id, service.RedemptionRequest(), beijing(date(2026, 3, 3))
        )
    )
    db.run(lambda s: service.record_nav(s, "P-BOND", date(2026, 3, 3), 10_100, "test", now))
    db.run(lambda s: service.confirm_due_orders(s, beijing(date(2026, 3, 4), time(9))))
    assert db.run(lambda s: service.get_order(s, customer, redeem.id)).amount_minor == 606_000
    # the proceeds went back to the pension account, not the current account
    assert balance(db, row.ledger_account_id) == 606_000
    assert balance(db, account) == 4_000_000
    # the pension deposit matures into the pension account too (1.20% x 360 / 360)
    jobs.run_wealth_jobs(db, beijing(date(2027, 3, 2)))
    assert balance(db, row.ledger_account_id) == 606_000 + 400_000 + 4_800
    assert deposit.status == "confirmed"
    conserved(db)


def test_withdrawal_needs_pension_age_and_withholds_three_percent(
    client: TestClient, db: Database
) -> None:
    young = register_born(client, db, date(1990, 3, 7))
    old = register_born(client, db, date(1960, 1, 5))
    now = beijing(date(2026, 6, 1))
    for customer in (young, old):
        _refuse_unverified_emigration(db, customer.customer_id, customer.account["id"], now)
    with pytest.raises(PensionWithdrawalRefused):
        db.run(
            lambda s: pension.withdraw(
                s, young.customer_id, young.account["id"], Money(100_000, "CNY"), "retirement", now
            )
        )
    moved = db.run(
        lambda s: pension.withdraw(
            s, old.customer_id, old.account["id"], Money(100_000, "CNY"), "retirement", now
        )
    )
    assert (moved.amount_minor, moved.tax_minor) == (100_000, 3_000)
    assert balance(db, old.account["id"]) == 97_000
    assert balance(db, young.account["id"]) == 0
    # staff who checked the documents may pay the young customer's emigration withdrawal
    db.run(
        lambda s: pension.withdraw(
            s,
            young.customer_id,
            young.account["id"],
            Money(50_000, "CNY"),
            "emigration",
            now,
            verified_by_staff=True,
        )
    )
    assert balance(db, young.account["id"]) == 48_500
    statement = db.run(lambda s: pension.tax_statement(s, old.customer_id, 2026))
    assert (statement.withdrawn_minor, statement.tax_withheld_minor) == (100_000, 3_000)
    conserved(db)


def _refuse_unverified_emigration(
    db: Database, customer_id: str, account_id: int, now: datetime
) -> None:
    db.run(lambda s: _fund_and_contribute(s, customer_id, account_id, now))
    with pytest.raises(PensionWithdrawalRefused):
        db.run(
            lambda s: pension.withdraw(
                s, customer_id, account_id, Money(100_000, "CNY"), "emigration", now
            )
        )


def _fund_and_contribute(session: object, customer_id: str, account_id: int, now: object) -> None:
    from datetime import datetime

    from sqlalchemy.orm import Session

    from zhangyin.ledger import service as ledger
    from zhangyin.ledger.models import AccountKind

    assert isinstance(session, Session) and isinstance(now, datetime)
    cash = ledger.bank_account(session, AccountKind.BANK_CASH)
    ledger.transfer(session, ledger.TransferOrder(cash.id, account_id, Money(1_000_000, "CNY")))
    pension.open_account(session, customer_id, now)
    pension.contribute(session, customer_id, account_id, Money(1_000_000, "CNY"), now)


def test_pension_api_cap_statement_and_refusals(client: TestClient, db: Database) -> None:
    customer = register_born(client, db, date(1985, 5, 5))
    headers = customer.headers
    account_id = customer.account["id"]
    db.run(lambda s: _fund_only(s, account_id))

    def post(path: str, body: dict[str, object] | None = None) -> Response:
        response: Response = client.post(
            path, json=body or {}, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
        )
        return response

    missing = client.get("/v1/wealth/pension", headers=headers)
    assert missing.status_code == 409 and missing.json()["code"] == "pension_account_required"
    opened = post("/v1/wealth/pension")
    assert isinstance(opened, Response) and opened.status_code == 201
    over = post(
        "/v1/wealth/pension/contributions",
        {"from_account_id": account_id, "amount": "12000.01"},
    )
    assert isinstance(over, Response) and over.status_code == 422
    assert over.json()["code"] == "pension_cap_exceeded"
    paid = post(
        "/v1/wealth/pension/contributions", {"from_account_id": account_id, "amount": "12000.00"}
    )
    assert isinstance(paid, Response) and paid.status_code == 201, paid.text
    summary = client.get("/v1/wealth/pension", headers=headers).json()
    assert summary["remaining_this_year"] == "0.00" and summary["balance"] == "12000.00"
    refused = post(
        "/v1/wealth/pension/withdrawals", {"to_account_id": account_id, "amount": "100.00"}
    )
    assert isinstance(refused, Response) and refused.status_code == 403
    sneaky = post(
        "/v1/wealth/pension/withdrawals",
        {"to_account_id": account_id, "amount": "100.00", "reason": "emigration"},
    )
    assert isinstance(sneaky, Response) and sneaky.status_code == 422
    year = summary["tax_year"]
    statement = client.get(f"/v1/wealth/pension/tax-statement?year={year}", headers=headers)
    assert statement.status_code == 200
    assert statement.json()["deductible"] == "12000.00"
    assert client.get("/v1/wealth/pension", headers=headers).json()["balance"] == "12000.00"
    assert balance(db, account_id) == 0
    # staff who checked the emigration documents pay it out, 3% withheld, audited
    from tests.identity.factories import staff_headers

    staff = staff_headers(client, db, "operator")
    paid_out = client.post(
        f"/v1/console/wealth/pension/{customer.customer_id}/withdrawals",
        json={"to_account_id": account_id, "amount": "1000.00", "reason": "emigration"},
        headers={**staff, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert paid_out.status_code == 201, paid_out.text
    assert paid_out.json()["tax_withheld"] == "30.00"
    assert balance(db, account_id) == 97_000
    viewer = staff_headers(client, db, "viewer")
    refused = client.post(
        f"/v1/console/wealth/pension/{customer.customer_id}/withdrawals",
        json={"to_account_id": account_id, "amount": "1000.00", "reason": "emigration"},
        headers={**viewer, "Idempotency-Key": uuid.uuid4().hex},
    )
    assert refused.status_code == 403
    assert balance(db, account_id) == 97_000


def _fund_only(session: object, account_id: int) -> None:
    from sqlalchemy.orm import Session

    from zhangyin.ledger import service as ledger
    from zhangyin.ledger.models import AccountKind

    assert isinstance(session, Session)
    cash = ledger.bank_account(session, AccountKind.BANK_CASH)
    ledger.transfer(session, ledger.TransferOrder(cash.id, account_id, Money(1_200_000, "CNY")))
