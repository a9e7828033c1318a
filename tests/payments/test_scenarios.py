"""Bill payment, QR codes, cardless cash, scheduled transfers, receipts and camt.053 statements."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.payments.factories import (
    assert_books_balance,
    available,
    balance,
    customer,
    idem,
    payments_count,
    transfer,
)
from zhangyin.clock import business_date, utcnow
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.payments import billers, cardless, clearing, receipts, scheduled, service
from zhangyin.payments.models import Biller, Frequency, PaymentTransfer, ScheduledTransfer

# ---------------------------------------------------------------------- bills


def add_bill(
    db: Database, biller_id: str, account: str, minor: int, period: str = "2026-10"
) -> None:
    db.run(
        lambda s: billers.add_bill(
            s,
            biller_id,
            bill_account=account,
            holder_name="张三丰",
            period=period,
            amount_minor=minor,
        )
    )


def settlement_balance(db: Database, biller_id: str) -> int:
    def work(s: Any) -> int:
        biller = s.get(Biller, biller_id)
        return int(service.ledger.get_account(s, biller.settlement_account_id).balance_minor)

    return db.run(work)


def test_biller_registry_lookup_and_pay(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    listed = client.get("/v1/billers", headers=a.headers).json()
    categories = {b["category"] for b in listed}
    assert {"water", "electricity", "gas", "heating", "phone", "campus", "hospital"} <= categories
    add_bill(db, "sgcc-bj", "0101234567", 12_345)
    bills = client.get(
        "/v1/billers/sgcc-bj/bills", params={"account": "0101234567"}, headers=a.headers
    ).json()
    assert bills["bills"][0]["amount"] == "123.45" and bills["bills"][0]["holder_name"] == "**丰"
    paid = client.post(
        "/v1/bill-payments",
        json={
            "biller_id": "sgcc-bj",
            "bill_account": "0101234567",
            "from_account_id": a.account_id,
            "save_account": True,
        },
        headers={**a.headers, **idem()},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["amount"] == "123.45" and paid.json()["transfer"]["status"] == "completed"
    assert settlement_balance(db, "sgcc-bj") == 12_345 and balance(db, a.account_id) == 87_655
    after = client.get(
        "/v1/billers/sgcc-bj/bills", params={"account": "0101234567"}, headers=a.headers
    ).json()
    assert after["bills"] == []
    again = client.post(
        "/v1/bill-payments",
        json={
            "biller_id": "sgcc-bj",
            "bill_account": "0101234567",
            "from_account_id": a.account_id,
        },
        headers={**a.headers, **idem()},
    )
    assert again.status_code == 422 and again.json()["code"] == "no_bill_due"
    history = client.get("/v1/bill-payments", params={"biller_id": "sgcc-bj"}, headers=a.headers)
    assert len(history.json()["payments"]) == 1
    saved = client.get("/v1/bill-accounts", headers=a.headers).json()
    assert [s["bill_account"] for s in saved] == ["0101234567"]
    assert_books_balance(db)


def test_top_up_accepts_only_the_billers_fixed_amounts(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    body = {
        "biller_id": "china-mobile",
        "bill_account": "13900001111",
        "from_account_id": a.account_id,
    }
    odd = client.post(
        "/v1/bill-payments", json={**body, "amount": "33.00"}, headers={**a.headers, **idem()}
    )
    assert odd.status_code == 422 and odd.json()["code"] == "bill_amount_not_allowed"
    ok = client.post(
        "/v1/bill-payments", json={**body, "amount": "50.00"}, headers={**a.headers, **idem()}
    )
    assert ok.status_code == 201 and settlement_balance(db, "china-mobile") == 5_000
    assert balance(db, a.account_id) == 95_000


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/v1/billers/nope/bills", {"account": "12345678"}, 404),
        ("/v1/billers/bj-water/bills", {"account": "12"}, 422),
        ("/v1/billers/bj-water/bills", {}, 422),
        ("/v1/billers/bj-water/bills", {"account": "<script>"}, 422),
    ],
)
def test_bill_lookup_bad_input(
    client: TestClient, db: Database, path: str, params: dict[str, str], code: int
) -> None:
    a = customer(client, db, deposit=None)
    response = client.get(path, params=params, headers=a.headers)
    assert response.status_code == code
    assert response.headers["content-type"].startswith("application/problem+json")


def test_console_adds_a_biller_without_a_release(
    client: TestClient, db: Database, service_headers: dict[str, str]
) -> None:
    a = customer(client, db)
    made = client.post(
        "/v1/payments/billers",
        json={
            "id": "sh-water",
            "category": "water",
            "name": "上海城投水务",
            "name_en": "Shanghai Water",
            "account_label": "户号",
            "account_pattern": r"^\d{9}$",
        },
        headers={**service_headers, **idem()},
    )
    assert made.status_code == 201, made.text
    bill = client.post(
        "/v1/payments/billers/sh-water/bills",
        json={
            "bill_account": "123456789",
            "holder_name": "李雷",
            "period": "2026-11",
            "amount": "45.60",
        },
        headers={**service_headers, **idem()},
    )
    assert bill.status_code == 201
    refused = client.post("/v1/payments/billers", json={}, headers={**a.headers, **idem()})
    assert refused.status_code in (401, 403)
    paid = client.post(
        "/v1/bill-payments",
        json={
            "biller_id": "sh-water",
            "bill_account": "123456789",
            "from_account_id": a.account_id,
        },
        headers={**a.headers, **idem()},
    )
    assert paid.json()["amount"] == "45.60"


def test_autopay_pays_new_bills_within_the_monthly_cap(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    mandate = client.post(
        "/v1/bill-accounts",
        json={
            "biller_id": "bj-gas",
            "bill_account": "88880001",
            "autopay_from_account_id": a.account_id,
            "autopay_monthly_cap": "100.00",
        },
        headers={**a.headers, **idem()},
    )
    assert mandate.status_code == 201 and mandate.json()["autopay_monthly_cap"] == "100.00"
    add_bill(db, "bj-gas", "88880001", 6_000, "2026-10")
    add_bill(db, "bj-gas", "88880001", 5_000, "2026-11")
    assert db.run(lambda s: billers.run_autopay(s)) == 1  # the second would pass the cap
    assert db.run(lambda s: billers.run_autopay(s)) == 0
    assert settlement_balance(db, "bj-gas") == 6_000 and balance(db, a.account_id) == 94_000
    half = client.post(
        "/v1/bill-accounts",
        json={"biller_id": "bj-gas", "bill_account": "88880001", "autopay_monthly_cap": "1.00"},
        headers={**a.headers, **idem()},
    )
    assert half.status_code == 422


# ------------------------------------------------------------------------- QR


def make_qr(client: TestClient, payee: Any, **body: Any) -> dict[str, Any]:
    made = client.post(
        "/v1/qr-codes",
        json={"account_id": payee.account_id, **body},
        headers={**payee.headers, **idem()},
    )
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


def pay_qr(client: TestClient, payer: Any, payload: str, **body: Any) -> Any:
    return client.post(
        "/v1/qr-payments",
        json={"payload": payload, "from_account_id": payer.account_id, **body},
        headers={**payer.headers, **idem()},
    )


def test_static_code_takes_any_amount_many_times(client: TestClient, db: Database) -> None:
    shop = customer(client, db, "李四", deposit=None)
    a = customer(client, db)
    code = make_qr(client, shop)
    assert code["amount"] is None and code["svg_data_uri"].startswith("data:image/svg+xml")
    decoded = client.post(
        "/v1/qr-codes/decode", json={"payload": code["payload"]}, headers=a.headers
    )
    assert decoded.json()["payee_name"] == "李四" and shop.number not in decoded.text
    missing = pay_qr(client, a, code["payload"])
    assert missing.status_code == 422 and missing.json()["code"] == "qr_amount_required"
    assert pay_qr(client, a, code["payload"], amount="12.00").json()["status"] == "completed"
    assert pay_qr(client, a, code["payload"], amount="3.00").json()["kind"] == "qr"
    assert balance(db, shop.account_id) == 1_500


def test_dynamic_code_is_paid_once_for_its_amount(client: TestClient, db: Database) -> None:
    shop = customer(client, db, "李四", deposit=None)
    a = customer(client, db)
    code = make_qr(client, shop, amount="25.50", expires_in_seconds=300)
    paid = pay_qr(client, a, code["payload"], amount="1.00")  # the code's amount wins
    assert paid.status_code == 201 and paid.json()["amount"] == "25.50"
    twice = pay_qr(client, a, code["payload"])
    assert twice.status_code == 409 and twice.json()["code"] == "qr_already_paid"
    assert balance(db, shop.account_id) == 2_550


def _tamper(payload: str, change: dict[str, Any]) -> str:
    prefix, body, signature = payload.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims.update(change)
    new_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{new_body}.{signature}"


@pytest.mark.parametrize("change", [{"m": 1}, {"a": "6216880000000000000"}, {"e": 4102444800}])
def test_altered_code_is_refused_and_moves_nothing(
    client: TestClient, db: Database, change: dict[str, Any]
) -> None:
    shop = customer(client, db, "李四", deposit=None)
    a = customer(client, db)
    code = make_qr(client, shop, amount="25.50", expires_in_seconds=300)
    forged = pay_qr(client, a, _tamper(code["payload"], change))
    assert forged.status_code == 422 and forged.json()["code"] == "qr_invalid"
    garbage = pay_qr(client, a, "ZYQR1.not-a-code.at-all")
    assert garbage.status_code == 422
    assert balance(db, a.account_id) == 100_000 and payments_count(db) == 0


def test_expired_code_is_refused(client: TestClient, db: Database, settings: Settings) -> None:
    shop = customer(client, db, "李四", deposit=None)
    a = customer(client, db)
    view = db.run(
        lambda s: __import__("zhangyin.payments.qr", fromlist=["qr"]).create_code(
            s,
            service.Caller(shop.customer_id),
            account_id=shop.account_id,
            amount=service.Money(100, "CNY"),
            currency="CNY",
            expires_in=timedelta(seconds=-1),
            secret=settings.resolved_secret_key(),
        )
    )
    expired = pay_qr(client, a, view.payload)
    assert expired.status_code == 422 and expired.json()["code"] == "qr_expired"
    assert balance(db, shop.account_id) == 0


# ------------------------------------------------------------------ cardless


def test_cardless_code_holds_money_and_pays_out_once(
    client: TestClient, db: Database, service_headers: dict[str, str]
) -> None:
    a = customer(client, db)
    made = client.post(
        "/v1/cardless-withdrawals",
        json={"account_id": a.account_id, "amount": "200.00", "expires_in_minutes": 30},
        headers={**a.headers, **idem()},
    )
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    assert len(code) == 8 and available(db, a.account_id) == 80_000
    listed = client.get("/v1/cardless-withdrawals", headers=a.headers).json()
    assert listed[0]["code"] is None  # shown once only
    wrong_amount = client.post(
        "/v1/atm/cardless-redemptions",
        json={"code": code, "amount": "100.00", "atm_id": "ATM-1"},
        headers={**service_headers, **idem()},
    )
    assert wrong_amount.status_code == 422
    redeemed = client.post(
        "/v1/atm/cardless-redemptions",
        json={"code": code, "amount": "200.00", "atm_id": "ATM-1"},
        headers={**service_headers, **idem()},
    )
    assert redeemed.status_code == 200 and redeemed.json()["status"] == "redeemed"
    reused = client.post(
        "/v1/atm/cardless-redemptions",
        json={"code": code, "amount": "200.00", "atm_id": "ATM-2"},
        headers={**service_headers, **idem()},
    )
    assert reused.status_code == 422 and reused.json()["code"] == "cardless_code_invalid"
    assert balance(db, a.account_id) == 80_000
    by_customer = client.post(
        "/v1/atm/cardless-redemptions",
        json={"code": code, "amount": "200.00", "atm_id": "ATM-2"},
        headers={**a.headers, **idem()},
    )
    assert by_customer.status_code in (401, 403)
    assert_books_balance(db)


def test_unused_code_expires_and_releases_the_hold(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    made = client.post(
        "/v1/cardless-withdrawals",
        json={"account_id": a.account_id, "amount": "50.00", "expires_in_minutes": 5},
        headers={**a.headers, **idem()},
    ).json()
    assert db.run(lambda s: cardless.expire_due(s, utcnow())) == 0
    assert db.run(lambda s: cardless.expire_due(s, utcnow() + timedelta(minutes=6))) == 1
    assert available(db, a.account_id) == 100_000
    listed = client.get("/v1/cardless-withdrawals", headers=a.headers).json()
    assert listed[0]["id"] == made["id"] and listed[0]["status"] == "expired"


def test_cardless_code_can_be_cancelled(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    made = client.post(
        "/v1/cardless-withdrawals",
        json={"account_id": a.account_id, "amount": "50.00"},
        headers={**a.headers, **idem()},
    ).json()
    cancelled = client.post(
        f"/v1/cardless-withdrawals/{made['id']}/cancel", headers={**a.headers, **idem()}
    )
    assert cancelled.json()["status"] == "cancelled" and available(db, a.account_id) == 100_000
    too_much = client.post(
        "/v1/cardless-withdrawals",
        json={"account_id": a.account_id, "amount": "5000.00"},
        headers={**a.headers, **idem()},
    )
    assert too_much.status_code == 422 and available(db, a.account_id) == 100_000


# ----------------------------------------------------------------- scheduled


def test_monthly_dates_keep_their_day_across_month_ends() -> None:
    anchor = date(2027, 1, 31)
    feb = scheduled.next_date(Frequency.MONTHLY, anchor, anchor)
    mar = scheduled.next_date(Frequency.MONTHLY, feb or anchor, anchor)
    assert (feb, mar) == (date(2027, 2, 28), date(2027, 3, 31))
    assert scheduled.next_date(Frequency.MONTHLY, date(2027, 12, 31), anchor) == date(2028, 1, 31)
    assert scheduled.next_date(Frequency.WEEKLY, anchor, anchor) == date(2027, 2, 7)
    assert scheduled.next_date(Frequency.ONCE, anchor, anchor) is None


def _tomorrow() -> date:
    """A start date the server still accepts when its clock passes midnight Beijing (16:00
    UTC) after the test read its own: a start of "today" would then be in the past."""
    return business_date(utcnow()) + timedelta(days=1)


def _next_31st(today: date) -> date:
    day = today
    while day.day != 31:
        day += timedelta(days=1)
    return day


def test_recurring_transfer_runs_once_per_date_across_a_month_boundary(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    start = _next_31st(_tomorrow())
    made = client.post(
        "/v1/scheduled-transfers",
        json={
            "from_account_id": a.account_id,
            "to_account_number": b.number,
            "to_name": b.name,
            "amount": "10.00",
            "frequency": "monthly",
            "start_date": start.isoformat(),
            "end_date": (start + timedelta(days=70)).isoformat(),
        },
        headers={**a.headers, **idem()},
    )
    assert made.status_code == 201, made.text
    sched_id = made.json()["id"]
    assert db.run(lambda s: scheduled.run_due(s, start - timedelta(days=1))) == 0
    assert db.run(lambda s: scheduled.run_due(s, start)) == 1
    assert db.run(lambda s: scheduled.run_due(s, start)) == 0  # the same day again: nothing
    row = db.run(lambda s: s.get(ScheduledTransfer, sched_id))
    second = row.next_run_date
    assert second.month != start.month and second.day == min(31, second.day)
    assert db.run(lambda s: scheduled.run_due(s, second)) == 1
    assert balance(db, b.account_id) == 2_000
    keys = db.run(
        lambda s: s.scalars(
            select(PaymentTransfer.origin_key).where(PaymentTransfer.customer_id == a.customer_id)
        ).all()
    )
    assert sorted(keys) == sorted([f"sched:{sched_id}:{start}", f"sched:{sched_id}:{second}"])


def test_a_missed_schedule_catches_up_once(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    start = _tomorrow()
    view = db.run(
        lambda s: scheduled.create_scheduled(
            s,
            service.Caller(a.customer_id),
            from_account_id=a.account_id,
            to_account_number=b.number,
            to_name=b.name,
            to_bank_code=None,
            amount=service.Money(100, "CNY"),
            memo="",
            frequency=Frequency.DAILY,
            start_date=start,
            end_date=None,
        )
    )
    # The scheduler was down for ten days: one run, then the next date after "today".
    later = start + timedelta(days=10)
    assert db.run(lambda s: scheduled.run_due(s, later)) == 1
    row = db.run(lambda s: s.get(ScheduledTransfer, view.id))
    assert row.next_run_date == later + timedelta(days=1) and balance(db, b.account_id) == 100


def test_a_failed_run_is_recorded_as_rejected(client: TestClient, db: Database) -> None:
    a = customer(client, db, deposit="1.00")
    b = customer(client, db, "李四", deposit=None)
    start = _tomorrow()
    made = client.post(
        "/v1/scheduled-transfers",
        json={
            "from_account_id": a.account_id,
            "to_account_number": b.number,
            "to_name": b.name,
            "amount": "10.00",
            "frequency": "once",
            "start_date": start.isoformat(),
        },
        headers={**a.headers, **idem()},
    ).json()
    assert db.run(lambda s: scheduled.run_due(s, start)) == 1
    listed = client.get("/v1/transfers", headers=a.headers).json()["transfers"]
    assert listed[0]["status"] == "rejected" and listed[0]["reason"] == "insufficient_funds"
    mine = client.get("/v1/scheduled-transfers", headers=a.headers).json()
    assert mine[0]["id"] == made["id"] and mine[0]["active"] is False


@pytest.mark.parametrize(
    "change",
    [
        {"start_date": "2000-01-01"},
        {"frequency": "hourly"},
        {"end_date": "2000-01-01"},
        {"to_name": "王五"},
        {"amount": "0"},
    ],
)
def test_scheduled_transfer_bad_input(
    client: TestClient, db: Database, change: dict[str, Any]
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    body = {
        "from_account_id": a.account_id,
        "to_account_number": b.number,
        "to_name": b.name,
        "amount": "10.00",
        "frequency": "monthly",
        "start_date": business_date(utcnow()).isoformat(),
        **change,
    }
    response = client.post("/v1/scheduled-transfers", json=body, headers={**a.headers, **idem()})
    assert 400 <= response.status_code < 500
    count = db.run(lambda s: s.scalar(select(func.count()).select_from(ScheduledTransfer)))
    assert count == 0


# ------------------------------------------------------------------- receipts


def test_receipt_pdf_and_its_verification_code(
    client: TestClient, db: Database, settings: Settings, service_headers: dict[str, str]
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    body = transfer(client, a, b, "88.80", memo="房租").json()
    pdf = client.get(f"/v1/transfers/{body['id']}/receipt", headers=a.headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
    payment = db.run(lambda s: s.get(PaymentTransfer, body["id"]))
    code = receipts.verification_code(settings.resolved_secret_key(), payment)
    ok = client.get(
        "/v1/payments/receipts/verify",
        params={"transfer_id": body["id"], "code": code},
        headers=service_headers,
    ).json()
    assert ok["valid"] is True and ok["amount"] == "88.80"
    forged = client.get(
        "/v1/payments/receipts/verify",
        params={"transfer_id": body["id"], "code": "AAAA-BBBB-CCCC-DDDD"},
        headers=service_headers,
    ).json()
    assert forged["valid"] is False and forged["amount"] is None
    delayed = transfer(client, a, b, "1.00", arrival="2h").json()
    none_yet = client.get(f"/v1/transfers/{delayed['id']}/receipt", headers=a.headers)
    assert none_yet.status_code == 409 and none_yet.json()["code"] == "receipt_not_available"


# --------------------------------------------------------------------- camt.053


def test_camt053_statement_for_a_date_range(
    client: TestClient, db: Database, service_headers: dict[str, str]
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    transfer(client, a, b, "10.00")
    today = business_date(utcnow())
    response = client.get(
        f"/v1/payments/accounts/{a.account_id}/camt053",
        params={"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()},
        headers=service_headers,
    )
    assert response.status_code == 200 and "camt.053.001.08" in response.text
    document = clearing.parse(response.text, clearing.CAMT053)
    statement = document.bk_to_cstmr_stmt.stmt[0]
    assert [str(e.cdt_dbt_ind.value) for e in statement.ntry] == ["CRDT", "DBIT"]
    balances = {b.tp.cd_or_prtry.cd: b.amt.value for b in statement.bal}
    assert str(balances["OPBD"]) == "0.00" and str(balances["CLBD"]) == "990.00"
    backwards = client.get(
        f"/v1/payments/accounts/{a.account_id}/camt053",
        params={"from": today.isoformat(), "to": (today - timedelta(days=1)).isoformat()},
        headers=service_headers,
    )
    assert backwards.status_code == 422
