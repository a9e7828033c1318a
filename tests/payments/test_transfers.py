"""Customer accounts and intra-bank transfers over HTTP: statuses, idempotency, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.identity.factories import last_code
from tests.payments.factories import (
    Payer,
    assert_books_balance,
    available,
    balance,
    customer,
    idem,
    payments_count,
    transfer,
)
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.events import OutboxEvent
from zhangyin.identity import service as identity
from zhangyin.payments import service
from zhangyin.payments.models import TransferEvent


def events_of(db: Database, transfer_id: str) -> list[str]:
    return list(
        db.run(
            lambda s: s.scalars(
                select(OutboxEvent.event_type)
                .where(OutboxEvent.aggregate_id == transfer_id)
                .order_by(OutboxEvent.id)
            ).all()
        )
    )


def test_accounts_show_balances_as_decimal_strings(client: TestClient, db: Database) -> None:
    a = customer(client, db, deposit="1234.50")
    listed = client.get("/v1/accounts", headers=a.headers)
    assert listed.status_code == 200
    account = listed.json()[0]
    assert account["balance"] == "1234.50" and account["available_balance"] == "1234.50"
    assert account["currency"] == "CNY" and account["masked_number"].endswith(a.number[-4:])
    one = client.get(f"/v1/accounts/{a.account_id}", headers=a.headers).json()
    assert one["id"] == a.account_id
    history = client.get(f"/v1/accounts/{a.account_id}/transactions", headers=a.headers).json()
    assert history["transactions"][0]["direction"] == "in"
    assert history["transactions"][0]["amount"] == "1234.50"


def test_another_customers_account_is_not_found(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四")
    for path in (f"/v1/accounts/{a.account_id}", f"/v1/accounts/{a.account_id}/transactions"):
        response = client.get(path, headers=b.headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")


def test_intra_bank_transfer_completes_with_timeline_and_events(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    sent = transfer(client, a, b, "100.00", memo="午饭")
    assert sent.status_code == 201, sent.text
    body = sent.json()
    assert body["status"] == "completed" and body["amount"] == "100.00"
    assert body["to_account_number"] != b.number and body["to_account_number"].endswith(
        b.number[-4:]
    )
    assert (balance(db, a.account_id), balance(db, b.account_id)) == (90_000, 10_000)
    detail = client.get(f"/v1/transfers/{body['id']}", headers=a.headers).json()
    assert [e["status"] for e in detail["timeline"]] == ["completed"]
    assert events_of(db, body["id"]) == ["payments.transfer.completed"]
    listed = client.get("/v1/transfers", headers=a.headers).json()
    assert [t["id"] for t in listed["transfers"]] == [body["id"]]
    assert client.get(f"/v1/transfers/{body['id']}", headers=b.headers).status_code == 404
    assert_books_balance(db)


def test_retry_with_the_same_key_moves_money_once(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    first = transfer(client, a, b, "10.00", key="same-key")
    second = transfer(client, a, b, "10.00", key="same-key")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json() and second.headers.get("idempotent-replayed") == "true"
    assert balance(db, b.account_id) == 1_000 and payments_count(db) == 1
    changed = transfer(client, a, b, "11.00", key="same-key")
    assert changed.status_code == 409 and changed.json()["code"] == "idempotency_key_reused"
    assert balance(db, b.account_id) == 1_000


def test_two_customers_may_use_the_same_key(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四")
    assert transfer(client, a, b, "1.00", key="k1").status_code == 201
    assert transfer(client, b, a, "2.00", key="k1").status_code == 201
    assert payments_count(db) == 2


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"to_name": "王五"}, "payee_name_mismatch", 422),
        ({"to_account_number": "6216880000000000000"}, "payee_account_unknown", 422),
        ({"amount": "5000.01"}, "insufficient_funds", 422),
    ],
)
def test_refused_transfer_moves_nothing(
    client: TestClient, db: Database, change: dict[str, Any], code: str, status: int
) -> None:
    a = customer(client, db, deposit="10.00")
    b = customer(client, db, "李四", deposit=None)
    body = {
        "from_account_id": a.account_id,
        "to_account_number": b.number,
        "to_name": b.name,
        "amount": "1.00",
        **change,
    }
    if code == "insufficient_funds":
        body["amount"] = "10.01"
    response = client.post("/v1/transfers", json=body, headers={**a.headers, **idem()})
    assert response.status_code == status, response.text
    assert response.json()["code"] == code and response.json()["detail"]
    assert (balance(db, a.account_id), balance(db, b.account_id)) == (1_000, 0)
    assert payments_count(db) == 0


def test_name_mismatch_message_is_clear_in_both_languages(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    zh = transfer(client, a, b, to_name="李三")
    assert "户名" in zh.json()["detail"]
    en = client.post(
        "/v1/transfers",
        json={
            "from_account_id": a.account_id,
            "to_account_number": b.number,
            "to_name": "李三",
            "amount": "1.00",
        },
        headers={**a.headers, **idem(), "Accept-Language": "en-US"},
    )
    assert "name does not match" in en.json()["detail"]


def test_transfer_from_someone_elses_account_is_not_found(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四")
    stolen = client.post(
        "/v1/transfers",
        json={
            "from_account_id": a.account_id,
            "to_account_number": b.number,
            "to_name": b.name,
            "amount": "1.00",
        },
        headers={**b.headers, **idem()},
    )
    assert stolen.status_code == 404
    assert balance(db, a.account_id) == 100_000 and payments_count(db) == 0


def test_transfer_to_self_or_to_a_bank_account_is_refused(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    itself = transfer(client, a, a)
    assert itself.status_code == 422 and itself.json()["code"] == "same_account"
    cash_number = db.run(
        lambda s: service.ledger.bank_account(s, service.AccountKind.BANK_CASH)
    ).number
    internal = client.post(
        "/v1/transfers",
        json={
            "from_account_id": a.account_id,
            "to_account_number": cash_number,
            "to_name": "Bank cash CNY",
            "amount": "1.00",
        },
        headers={**a.headers, **idem()},
    )
    assert internal.status_code == 422 and internal.json()["code"] == "payee_account_unknown"
    assert balance(db, a.account_id) == 100_000


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "abc"},
        {"amount": "1.001"},
        {"amount": "0.00"},
        {"amount": 100},
        {"amount": "-1.00"},
        {"currency": "XXX"},
        {"currency": "USD"},
        {"to_account_number": "abc"},
        {"to_name": ""},
        {"to_name": "李\x00四"},
        {"arrival": "1h"},
        {"from_account_id": "1"},
        {"unexpected": True},
        {"to_bank_code": "bad code"},
        {"to_bank_code": "NOPECNBJ"},
    ],
)
def test_bad_input_is_a_problem_and_moves_nothing(
    client: TestClient, db: Database, body: dict[str, Any]
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    full = {
        "from_account_id": a.account_id,
        "to_account_number": b.number,
        "to_name": b.name,
        "amount": "1.00",
        **body,
    }
    response = client.post("/v1/transfers", json=full, headers={**a.headers, **idem()})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert balance(db, a.account_id) == 100_000 and payments_count(db) == 0


def test_missing_key_and_malformed_json_are_refused(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    no_key = client.post("/v1/transfers", json={}, headers=a.headers)
    assert no_key.status_code in (400, 422)
    broken = client.post(
        "/v1/transfers",
        content=b"{not json",
        headers={**a.headers, **idem(), "content-type": "application/json"},
    )
    assert broken.status_code == 400 and broken.json()["code"] == "malformed_body"
    unauthenticated = client.post("/v1/transfers", json={}, headers=idem())
    assert unauthenticated.status_code == 401
    assert payments_count(db) == 0


# ---------------------------------------------------------------------- limits


def lower_limits(db: Database, payer: Payer, **limits: int | None) -> None:
    values: dict[str, int | None] = {
        "per_transaction_minor": None,
        "daily_amount_minor": None,
        "daily_count": None,
        **limits,
    }
    db.run(lambda s: identity.set_own_limits(s, payer.customer_id, **values))


def test_per_transaction_limit_says_the_limit_and_what_is_left(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    lower_limits(db, a, per_transaction_minor=5_000)
    refused = transfer(client, a, b, "50.01")
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["code"] == "limit_exceeded" and problem["limit_kind"] == "per_transaction"
    assert problem["limit"] == "50.00" and "50.00" in problem["detail"]
    assert transfer(client, a, b, "50.00").json()["status"] == "completed"
    assert balance(db, b.account_id) == 5_000


def test_daily_amount_and_count_limits(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One moment for every payment: "today" is the Beijing day, which ends at 16:00 UTC,
    # and a day that ended mid-test started the counts again.
    frozen = utcnow()
    monkeypatch.setattr(service, "utcnow", lambda: frozen)
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    lower_limits(db, a, daily_amount_minor=10_000, daily_count=3)
    assert transfer(client, a, b, "60.00").status_code == 201
    over = transfer(client, a, b, "40.01")
    assert over.json()["code"] == "limit_exceeded" and over.json()["remaining"] == "40.00"
    assert transfer(client, a, b, "20.00").status_code == 201
    assert transfer(client, a, b, "1.00").status_code == 201
    fourth = transfer(client, a, b, "1.00")
    assert fourth.status_code == 422 and fourth.json()["code"] == "daily_count_exceeded"
    assert balance(db, b.account_id) == 8_100
    limits = client.get("/v1/transfer-limits", headers=a.headers).json()
    assert limits["used_today"] == "81.00" and limits["remaining_today"] == "19.00"
    assert limits["count_today"] == 3


# ------------------------------------------------------------ step-up challenge


def test_large_transfer_waits_for_step_up_then_completes(client: TestClient, db: Database) -> None:
    a = customer(client, db, deposit="20000.00")
    b = customer(client, db, "李四", deposit=None)
    created = transfer(client, a, b, "6000.00")
    body = created.json()
    assert body["status"] == "pending_challenge" and body["challenge_id"], body
    assert "sms" in body["challenge_methods"]
    assert available(db, a.account_id) == 2_000_000  # nothing moved or held yet
    wrong = client.post(
        f"/v1/transfers/{body['id']}/confirm",
        json={"challenge_id": body["challenge_id"], "sms_code": "000000"},
        headers={**a.headers, **idem()},
    )
    assert wrong.status_code >= 400 and balance(db, b.account_id) == 0
    code = last_code(db, a.phone)
    key = idem()
    confirmed = client.post(
        f"/v1/transfers/{body['id']}/confirm",
        json={"challenge_id": body["challenge_id"], "sms_code": code},
        headers={**a.headers, **key},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed"
    replay = client.post(
        f"/v1/transfers/{body['id']}/confirm",
        json={"challenge_id": body["challenge_id"], "sms_code": code},
        headers={**a.headers, **key},
    )
    assert replay.json() == confirmed.json()
    assert balance(db, b.account_id) == 600_000
    timeline = [e["status"] for e in confirmed.json()["timeline"]]
    assert timeline == ["pending_challenge", "completed"]


def test_unconfirmed_transfer_can_be_cancelled(client: TestClient, db: Database) -> None:
    a = customer(client, db, deposit="20000.00")
    b = customer(client, db, "李四", deposit=None)
    body = transfer(client, a, b, "6000.00").json()
    cancelled = client.post(f"/v1/transfers/{body['id']}/cancel", headers={**a.headers, **idem()})
    assert cancelled.json()["status"] == "cancelled"
    late = client.post(
        f"/v1/transfers/{body['id']}/confirm",
        json={"challenge_id": body["challenge_id"], "sms_code": last_code(db, a.phone)},
        headers={**a.headers, **idem()},
    )
    assert late.status_code == 409 and balance(db, b.account_id) == 0


# ------------------------------------------------------------------- delayed


def test_delayed_transfer_holds_money_and_can_be_cancelled(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    body = transfer(client, a, b, "100.00", arrival="2h").json()
    assert body["status"] == "delayed" and body["due_at"]
    assert (balance(db, a.account_id), available(db, a.account_id)) == (100_000, 90_000)
    cancelled = client.post(f"/v1/transfers/{body['id']}/cancel", headers={**a.headers, **idem()})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert available(db, a.account_id) == 100_000 and balance(db, b.account_id) == 0
    again = client.post(f"/v1/transfers/{body['id']}/cancel", headers={**a.headers, **idem()})
    assert again.status_code == 409 and again.json()["code"] == "transfer_not_cancellable"
    # Nothing is due any more: the scheduler posts nothing.
    assert db.run(lambda s: service.post_due_delayed(s, utcnow() + timedelta(days=2))) == 0
    assert balance(db, b.account_id) == 0
    assert_books_balance(db)


def test_delayed_transfer_posts_when_due_even_after_a_restart(
    client: TestClient, db: Database, database_url: str
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    body = transfer(client, a, b, "100.00", arrival="24h").json()
    assert db.run(lambda s: service.post_due_delayed(s, utcnow() + timedelta(hours=23))) == 0
    # A fresh process (new engine) finds the due transfer from the database alone.
    restarted = Database(database_url)
    try:
        done = restarted.run(lambda s: service.post_due_delayed(s, utcnow() + timedelta(hours=25)))
        again = restarted.run(lambda s: service.post_due_delayed(s, utcnow() + timedelta(hours=26)))
    finally:
        restarted.dispose()
    assert (done, again) == (1, 0)
    detail = client.get(f"/v1/transfers/{body['id']}", headers=a.headers).json()
    assert detail["status"] == "completed"
    assert [e["status"] for e in detail["timeline"]] == ["delayed", "completed"]
    assert balance(db, b.account_id) == 10_000 and available(db, a.account_id) == 90_000
    cancel = client.post(f"/v1/transfers/{body['id']}/cancel", headers={**a.headers, **idem()})
    assert cancel.status_code == 409
    assert_books_balance(db)


def test_delayed_transfer_to_an_account_closed_meanwhile_is_released(
    client: TestClient, db: Database
) -> None:
    from zhangyin.ledger import service as ledger
    from zhangyin.ledger.models import AccountStatus

    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    body = transfer(client, a, b, "100.00", arrival="2h").json()
    db.run(lambda s: ledger.set_account_status(s, b.account_id, AccountStatus.FULLY_FROZEN))
    assert db.run(lambda s: service.post_due_delayed(s, utcnow() + timedelta(hours=3))) == 1
    detail = client.get(f"/v1/transfers/{body['id']}", headers=a.headers).json()
    assert detail["status"] == "rejected" and detail["reason"] == "account_frozen"
    assert available(db, a.account_id) == 100_000
    assert_books_balance(db)


def test_default_arrival_applies_to_new_transfers(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    changed = client.put(
        "/v1/transfer-settings", json={"default_arrival": "24h"}, headers=a.headers
    )
    assert changed.status_code == 200 and changed.json()["default_arrival"] == "24h"
    assert transfer(client, a, b, "1.00").json()["arrival"] == "24h"
    assert transfer(client, a, b, "1.00", arrival="instant").json()["status"] == "completed"
    bad = client.put("/v1/transfer-settings", json={"default_arrival": "3h"}, headers=a.headers)
    assert bad.status_code == 422


# --------------------------------------------------------------------- payees


def test_payees_are_checked_saved_and_recent_ones_listed(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    wrong = client.post(
        "/v1/payees",
        json={"account_number": b.number, "name": "李三"},
        headers={**a.headers, **idem()},
    )
    assert wrong.status_code == 422 and wrong.json()["code"] == "payee_name_mismatch"
    saved = client.post(
        "/v1/payees",
        json={"account_number": b.number, "name": "李四", "nickname": "房东"},
        headers={**a.headers, **idem()},
    )
    assert saved.status_code == 201 and saved.json()["nickname"] == "房东"
    transfer(client, a, b, "5.00")
    payees = client.get("/v1/payees", headers=a.headers).json()
    assert [p["name"] for p in payees["saved"]] == ["李四"]
    assert [r["account_number"] for r in payees["recent"]] == [b.number]
    other = customer(client, db, "王五", deposit=None)
    assert client.get("/v1/payees", headers=other.headers).json() == {"saved": [], "recent": []}
    deleted = client.delete(f"/v1/payees/{saved.json()['id']}", headers=a.headers)
    assert deleted.status_code == 204
    assert client.get("/v1/payees", headers=a.headers).json()["saved"] == []


def test_interbank_payee_needs_a_known_bank(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    unknown = client.post(
        "/v1/payees",
        json={"account_number": "6222020200112233445", "name": "王强", "bank_code": "ZZZZCNBJ"},
        headers={**a.headers, **idem()},
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_bank"
    known = client.post(
        "/v1/payees",
        json={"account_number": "6222020200112233445", "name": "王强", "bank_code": "ICBKCNBJ"},
        headers={**a.headers, **idem()},
    )
    assert known.status_code == 201 and known.json()["bank_name"] == "中国工商银行"


# --------------------------------------------------------------- dev deposits


def test_dev_deposit_only_in_demo_mode(client: TestClient, db: Database, settings: Any) -> None:
    a = customer(client, db, deposit=None)
    ok = client.post(
        "/v1/dev/deposits",
        json={"account_number": a.number, "amount": "1.50"},
        headers={**a.headers, **idem()},
    )
    assert ok.status_code == 201 and balance(db, a.account_id) == 150
    assert "balance" not in ok.json()
    bad = client.post(
        "/v1/dev/deposits",
        json={"account_number": a.number, "amount": "1.005"},
        headers={**a.headers, **idem()},
    )
    assert bad.status_code == 422 and balance(db, a.account_id) == 150
    settings.demo = False
    try:
        off = client.post(
            "/v1/dev/deposits",
            json={"account_number": a.number, "amount": "1.00"},
            headers={**a.headers, **idem()},
        )
    finally:
        settings.demo = True
    assert off.status_code == 404 and balance(db, a.account_id) == 150


def test_every_status_change_is_in_the_timeline_table(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    body = transfer(client, a, b, "1.00", arrival="2h").json()
    client.post(f"/v1/transfers/{body['id']}/cancel", headers={**a.headers, **idem()})
    rows = db.run(
        lambda s: s.scalars(
            select(TransferEvent.status)
            .where(TransferEvent.transfer_id == body["id"])
            .order_by(TransferEvent.id)
        ).all()
    )
    assert list(rows) == ["delayed", "cancelled"]
    assert events_of(db, body["id"]) == ["payments.transfer.delayed", "payments.transfer.cancelled"]


@pytest.mark.parametrize("arrival", ["instant", "2h"])
def test_a_crash_after_the_ledger_call_leaves_nothing_behind(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch, arrival: str
) -> None:
    """Payment row, timeline, events and the ledger movement commit together or not at all."""
    from sqlalchemy import func

    from zhangyin.ledger.models import LedgerTransfer
    from zhangyin.money import Money

    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    ledger_before = db.run(lambda s: s.scalar(select(func.count()).select_from(LedgerTransfer)))

    def crash(session: Any, payment: Any) -> None:
        raise RuntimeError("process killed after the ledger posted")

    original = service._record_risk_outcome
    monkeypatch.setattr(service, "_record_risk_outcome", crash)
    request = service.TransferRequest(
        a.account_id, b.number, b.name, Money(1_000, "CNY"), arrival=service.Arrival(arrival)
    )
    with pytest.raises(RuntimeError):
        db.run(lambda s: service.create_transfer(s, service.Caller(a.customer_id), request))
    assert payments_count(db) == 0
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(LedgerTransfer))) == (
        ledger_before
    )
    assert (available(db, a.account_id), balance(db, b.account_id)) == (100_000, 0)
    monkeypatch.setattr(service, "_record_risk_outcome", original)
    # The customer's retry (same key or not) then goes through once.
    assert transfer(client, a, b, "10.00", arrival=arrival).status_code == 201
    assert payments_count(db) == 1
    assert_books_balance(db)
