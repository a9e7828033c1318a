"""A bill or QR code is paid only when its transfer's money posts; otherwise it is payable again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.payments.factories import Payer, available, balance, customer, idem
from tests.payments.test_scenarios import add_bill, make_qr, pay_qr, settlement_balance
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.payments import service
from zhangyin.payments.jobs import run_payment_jobs

BILLER, ACCOUNT = "sgcc-bj", "0101234567"


def force_risk(monkeypatch: pytest.MonkeyPatch, outcome: str) -> None:
    def decide(session: Any, caller: Any, payment: Any) -> service.RiskVerdict:
        return service.RiskVerdict(None, outcome, [])

    monkeypatch.setattr(service, "_risk_decision", decide)


def pay_bill(client: TestClient, payer: Payer) -> Any:
    return client.post(
        "/v1/bill-payments",
        json={"biller_id": BILLER, "bill_account": ACCOUNT, "from_account_id": payer.account_id},
        headers={**payer.headers, **idem()},
    )


def open_bills(client: TestClient, payer: Payer) -> list[dict[str, Any]]:
    found = client.get(
        f"/v1/billers/{BILLER}/bills", params={"account": ACCOUNT}, headers=payer.headers
    )
    bills: list[dict[str, Any]] = found.json()["bills"]
    return bills


def cancel(client: TestClient, payer: Payer, transfer_id: str) -> None:
    done = client.post(f"/v1/transfers/{transfer_id}/cancel", headers={**payer.headers, **idem()})
    assert done.status_code == 200 and done.json()["status"] == "cancelled", done.text


def expire_unconfirmed(db: Database) -> None:
    later = utcnow() + service.UNCONFIRMED_TIMEOUT + timedelta(minutes=1)
    assert db.run(lambda s: service.expire_unconfirmed(s, later)) == 1


def expire_review(db: Database) -> None:
    later = utcnow() + service.HOLD_GRACE + timedelta(minutes=1)
    assert db.run(lambda s: service.expire_stale_reviews(s, later)) == 1


#: (risk outcome, how the transfer then ends unpaid, the final status and reason)
ENDINGS: list[tuple[str, str, str, str | None]] = [
    ("challenge", "cancelled by the customer", "cancelled", None),
    ("challenge", "never confirmed", "cancelled", "challenge_expired"),
    ("hold", "rejected on review", "rejected", "review_rejected"),
    ("hold", "review expired", "rejected", "review_expired"),
    ("delay", "cancelled while delayed", "cancelled", None),
]


def end_unpaid(client: TestClient, db: Database, payer: Payer, transfer_id: str, how: str) -> None:
    enders: dict[str, Callable[[], None]] = {
        "cancelled by the customer": lambda: cancel(client, payer, transfer_id),
        "never confirmed": lambda: expire_unconfirmed(db),
        "rejected on review": lambda: db.run(lambda s: service.reject_held(s, transfer_id)),
        "review expired": lambda: expire_review(db),
        "cancelled while delayed": lambda: cancel(client, payer, transfer_id),
    }
    enders[how]()


@pytest.mark.parametrize(("outcome", "how", "status", "reason"), ENDINGS)
def test_a_bill_whose_transfer_ends_unpaid_is_open_again(
    client: TestClient,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    outcome: str,
    how: str,
    status: str,
    reason: str | None,
) -> None:
    a = customer(client, db)
    add_bill(db, BILLER, ACCOUNT, 12_345)
    force_risk(monkeypatch, outcome)
    first = pay_bill(client, a)
    assert first.status_code == 201, first.text
    transfer_id = first.json()["transfer"]["id"]
    assert first.json()["transfer"]["status"] != "completed"
    # While the money is on its way the bill cannot be paid a second time.
    assert open_bills(client, a) == []
    assert pay_bill(client, a).json()["code"] == "no_bill_due"
    end_unpaid(client, db, a, transfer_id, how)
    detail = client.get(f"/v1/transfers/{transfer_id}", headers=a.headers).json()
    assert (detail["status"], detail["reason"]) == (status, reason)
    assert [b["amount"] for b in open_bills(client, a)] == ["123.45"]
    assert available(db, a.account_id) == 100_000 and settlement_balance(db, BILLER) == 0
    monkeypatch.undo()
    monkeypatch.setattr(
        service, "_risk_decision", lambda *a, **k: service.RiskVerdict(None, "allow", [])
    )
    again = pay_bill(client, a)
    assert again.status_code == 201 and again.json()["transfer"]["status"] == "completed"
    assert open_bills(client, a) == [] and settlement_balance(db, BILLER) == 12_345


@pytest.mark.parametrize("outcome", ["hold", "delay"])
def test_a_bill_stays_paid_when_its_transfer_posts_later(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    a = customer(client, db)
    add_bill(db, BILLER, ACCOUNT, 12_345)
    force_risk(monkeypatch, outcome)
    transfer_id = pay_bill(client, a).json()["transfer"]["id"]
    if outcome == "hold":
        db.run(lambda s: service.approve_held(s, transfer_id))
    else:
        later = utcnow() + timedelta(hours=25)
        assert db.run(lambda s: service.post_due_delayed(s, later)) == 1
    detail = client.get(f"/v1/transfers/{transfer_id}", headers=a.headers).json()
    assert detail["status"] == "completed"
    assert open_bills(client, a) == [] and settlement_balance(db, BILLER) == 12_345
    assert balance(db, a.account_id) == 100_000 - 12_345


@pytest.mark.parametrize(("outcome", "how", "status", "reason"), ENDINGS[:4])
def test_a_dynamic_code_whose_payment_ends_unpaid_can_be_paid_again(
    client: TestClient,
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    outcome: str,
    how: str,
    status: str,
    reason: str | None,
) -> None:
    shop = customer(client, db, "李四", deposit=None)
    a = customer(client, db)
    code = make_qr(client, shop, amount="25.50", expires_in_seconds=600)
    force_risk(monkeypatch, outcome)
    first = pay_qr(client, a, code["payload"])
    assert first.status_code == 201, first.text
    transfer_id = first.json()["id"]
    taken = pay_qr(client, a, code["payload"])
    assert taken.status_code == 409 and taken.json()["code"] == "qr_already_paid"
    end_unpaid(client, db, a, transfer_id, how)
    detail = client.get(f"/v1/transfers/{transfer_id}", headers=a.headers).json()
    assert (detail["status"], detail["reason"]) == (status, reason)
    assert balance(db, shop.account_id) == 0 and available(db, a.account_id) == 100_000
    monkeypatch.undo()
    monkeypatch.setattr(
        service, "_risk_decision", lambda *a, **k: service.RiskVerdict(None, "allow", [])
    )
    paid = pay_qr(client, a, code["payload"])
    assert paid.status_code == 201 and paid.json()["status"] == "completed"
    assert balance(db, shop.account_id) == 2_550
    twice = pay_qr(client, a, code["payload"])
    assert twice.status_code == 409 and twice.json()["code"] == "qr_already_paid"


def test_an_unconfirmed_transfer_is_cancelled_by_the_job_only_after_the_timeout(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = customer(client, db)
    add_bill(db, BILLER, ACCOUNT, 12_345)
    force_risk(monkeypatch, "challenge")
    transfer_id = pay_bill(client, a).json()["transfer"]["id"]
    assert run_payment_jobs(db)["unconfirmed_expired"] == 0
    soon = utcnow() + service.UNCONFIRMED_TIMEOUT - timedelta(minutes=1)
    assert db.run(lambda s: service.expire_unconfirmed(s, soon)) == 0
    assert client.get(f"/v1/transfers/{transfer_id}", headers=a.headers).json()["status"] == (
        "pending_challenge"
    )
    expire_unconfirmed(db)
    assert db.run(lambda s: service.expire_unconfirmed(s, utcnow() + timedelta(days=1))) == 0
    assert [b["amount"] for b in open_bills(client, a)] == ["123.45"]
