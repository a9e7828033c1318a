"""What each risk outcome does to a transfer: block, challenge, delay, hold (and the review)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.payments.factories import (
    assert_books_balance,
    available,
    balance,
    customer,
    idem,
    transfer,
)
from zhangyin import events
from zhangyin.db import Database
from zhangyin.events import OutboxDispatcher
from zhangyin.payments import service


def force_risk(monkeypatch: pytest.MonkeyPatch, outcome: str) -> None:
    """Stand in for the risk engine's answer (its own tests cover how it decides)."""

    def decide(session: Any, caller: Any, payment: Any) -> service.RiskVerdict:
        return service.RiskVerdict(None, outcome, [f"forced_{outcome}"])

    monkeypatch.setattr(service, "_risk_decision", decide)


def test_block_rejects_and_moves_nothing(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    force_risk(monkeypatch, "block")
    body = transfer(client, a, b, "10.00").json()
    assert body["status"] == "rejected" and body["reason"] == "risk_blocked"
    assert (available(db, a.account_id), balance(db, b.account_id)) == (100_000, 0)
    listed = client.get("/v1/transfers", headers=a.headers).json()["transfers"]
    assert listed[0]["status"] == "rejected"


def test_challenge_outcome_asks_for_step_up_even_for_small_amounts(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    force_risk(monkeypatch, "challenge")
    body = transfer(client, a, b, "1.00").json()
    assert body["status"] == "pending_challenge" and body["challenge_id"]
    assert balance(db, b.account_id) == 0


def test_delay_outcome_makes_a_24h_delayed_transfer(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    force_risk(monkeypatch, "delay")
    body = transfer(client, a, b, "10.00", arrival="instant").json()
    assert body["status"] == "delayed" and body["arrival"] == "24h"
    assert available(db, a.account_id) == 99_000 and balance(db, b.account_id) == 0


def test_hold_then_approve_posts_the_held_money(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    force_risk(monkeypatch, "hold")
    body = transfer(client, a, b, "10.00").json()
    assert body["status"] == "held_for_review"
    assert available(db, a.account_id) == 99_000 and balance(db, a.account_id) == 100_000
    cancel = client.post(f"/v1/transfers/{body['id']}/cancel", headers={**a.headers, **idem()})
    assert cancel.status_code == 409  # under review: not the customer's to cancel
    approved = db.run(lambda s: service.approve_held(s, body["id"]))
    assert approved.status == "completed"
    again = db.run(lambda s: service.approve_held(s, body["id"]))  # redelivered decision
    assert again.status == "completed"
    assert balance(db, b.account_id) == 1_000 and balance(db, a.account_id) == 99_000
    assert_books_balance(db)


def test_hold_then_reject_releases_the_money(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    force_risk(monkeypatch, "hold")
    body = transfer(client, a, b, "10.00").json()
    rejected = db.run(lambda s: service.reject_held(s, body["id"]))
    assert rejected.status == "rejected" and rejected.reason == "review_rejected"
    assert available(db, a.account_id) == 100_000 and balance(db, b.account_id) == 0
    # A late approval of the same case changes nothing.
    assert db.run(lambda s: service.approve_held(s, body["id"])).status == "rejected"
    assert balance(db, b.account_id) == 0
    assert_books_balance(db)


@pytest.mark.parametrize("decision", ["approved", "rejected"])
def test_reviewers_decision_arrives_as_an_outbox_event(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch, decision: str
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    force_risk(monkeypatch, "hold")
    body = transfer(client, a, b, "10.00").json()
    db.run(
        lambda s: events.emit(
            s,
            f"risk.case.{decision}",
            "risk_case",
            "case-1",
            {"decision_id": "d-1", "reference": body["id"]},
        )
    )
    publisher = client.app.state.publisher  # type: ignore[attr-defined]
    asyncio.run(OutboxDispatcher(db, publisher).drain())
    detail = client.get(f"/v1/transfers/{body['id']}", headers=a.headers).json()
    expected = "completed" if decision == "approved" else "rejected"
    assert detail["status"] == expected
    assert balance(db, b.account_id) == (1_000 if decision == "approved" else 0)


@pytest.mark.real_risk
def test_the_real_risk_engine_decides_and_hears_what_became_of_it(
    client: TestClient, db: Database
) -> None:
    from zhangyin.payments.models import PaymentTransfer
    from zhangyin.risk import service as risk

    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    body = transfer(client, a, b, "10.00").json()
    payment = db.run(lambda s: s.get(PaymentTransfer, body["id"]))
    assert payment.risk_decision_id is not None
    assert payment.risk_outcome in ("allow", "challenge", "delay", "hold", "block")
    decision = db.run(lambda s: risk.get_decision_row(s, payment.risk_decision_id))
    assert decision.reference == body["id"]
    expected = {
        "completed": "completed",
        "pending_challenge": "challenged",
        "delayed": "delayed",
        "held_for_review": "held",
        "rejected": "blocked",
    }[body["status"]]
    assert decision.status == expected


@pytest.mark.parametrize("outcome", ["challenge", "hold", "block"])
def test_cardless_cash_needs_a_plain_allow(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    a = customer(client, db)

    def decide(session: Any, caller: Any, **facts: Any) -> service.RiskVerdict:
        assert facts["operation"] == "cardless_cash"
        return service.RiskVerdict(None, outcome, [])

    monkeypatch.setattr(service, "assess_operation", decide)
    refused = client.post(
        "/v1/cardless-withdrawals",
        json={"account_id": a.account_id, "amount": "100.00"},
        headers={**a.headers, **idem()},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "cardless_refused"
    assert available(db, a.account_id) == 100_000
    assert client.get("/v1/cardless-withdrawals", headers=a.headers).json() == []


def test_a_hold_nobody_reviews_is_rejected_when_its_grace_runs_out(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from zhangyin.clock import utcnow

    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    force_risk(monkeypatch, "hold")
    body = transfer(client, a, b, "10.00").json()
    assert db.run(lambda s: service.expire_stale_reviews(s, utcnow() + timedelta(days=29))) == 0
    later = utcnow() + service.HOLD_GRACE + timedelta(minutes=1)
    assert db.run(lambda s: service.expire_stale_reviews(s, later)) == 1
    detail = client.get(f"/v1/transfers/{body['id']}", headers=a.headers).json()
    assert detail["status"] == "rejected" and detail["reason"] == "review_expired"
    assert available(db, a.account_id) == 100_000 and balance(db, b.account_id) == 0
    assert_books_balance(db)
