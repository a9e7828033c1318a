"""举报诈骗: a customer reports a completed transfer as fraud; risk opens a case for an analyst."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.payments.factories import Payer, customer, idem, transfer
from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.payments import service
from zhangyin.payments.models import PaymentTransfer
from zhangyin.risk import cases
from zhangyin.risk.models import RiskCase, RiskDecision


@pytest.fixture
def risk_records_but_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real engine records a decision (what a report labels); the transfer goes ahead.

    Whatever the engine would say about a new payee, these tests need a completed transfer.
    """
    real = service._risk_decision

    def decide(session: Any, caller: Any, payment: Any) -> Any:
        verdict = real(session, caller, payment)
        return service.RiskVerdict(verdict.decision_id, "allow", [])

    monkeypatch.setattr(service, "_risk_decision", decide)


def report(
    client: TestClient, payer: Payer, transfer_id: str, key: str | None = None, **body: Any
) -> Any:
    return client.post(
        f"/v1/transfers/{transfer_id}/report-fraud",
        json=body,
        headers={**payer.headers, **idem(key)},
    )


def case_count(db: Database) -> int:
    return int(db.run(lambda s: s.scalar(select(func.count()).select_from(RiskCase))))


def completed_transfer(client: TestClient, db: Database) -> tuple[Payer, Payer, str]:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    sent = transfer(client, a, b, "100.00")
    assert sent.json()["status"] == "completed", sent.text
    return a, b, str(sent.json()["id"])


@pytest.mark.real_risk
@pytest.mark.usefixtures("risk_records_but_allows")
def test_reporting_a_completed_transfer_opens_one_case_and_labels_it(
    client: TestClient, db: Database
) -> None:
    a, b, transfer_id = completed_transfer(client, db)
    first = report(client, a, transfer_id, key="k1", description="对方冒充客服，让我转账")
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["transfer_id"] == transfer_id and body["status"] == "reviewing"
    assert body["description"] == "对方冒充客服，让我转账"
    replay = report(client, a, transfer_id, key="k1", description="对方冒充客服，让我转账")
    assert replay.json() == body and replay.headers.get("Idempotent-Replayed") == "true"
    again = report(client, a, transfer_id, description="再次举报")  # a new key, same report
    assert again.status_code == 200 and again.json()["report_id"] == body["report_id"]
    assert again.json()["description"] == "对方冒充客服，让我转账"
    assert case_count(db) == 1
    case = db.run(lambda s: s.get(RiskCase, body["report_id"]))
    assert (case.kind, case.status, case.customer_id, case.reference) == (
        "customer_report",
        "open",
        a.customer_id,
        transfer_id,
    )
    payment = db.run(lambda s: s.get(PaymentTransfer, transfer_id))
    decision = db.run(lambda s: s.get(RiskDecision, payment.risk_decision_id))
    assert decision.fraud_label is True and decision.label_source == "customer_report"
    # A report is for an analyst to act on: nobody is frozen by it.
    payee = db.run(lambda s: ledger.get_account(s, b.account_id))
    assert payee.status == "active" and case.payee_frozen is False
    detail = client.get(f"/v1/transfers/{transfer_id}", headers=a.headers).json()
    assert detail["status"] == "completed"


@pytest.mark.real_risk
@pytest.mark.usefixtures("risk_records_but_allows")
def test_the_report_shows_the_analysts_decision(client: TestClient, db: Database) -> None:
    a, _, confirmed_id = completed_transfer(client, db)
    c = customer(client, db, "王五", deposit=None)
    dismissed = transfer(client, a, c, "20.00").json()
    first = report(client, a, confirmed_id).json()
    second = report(client, a, dismissed["id"], description="我记错了").json()
    db.run(lambda s: cases.reject_case(s, first["report_id"], analyst="analyst-1"))
    db.run(lambda s: cases.approve_case(s, second["report_id"], analyst="analyst-1"))
    assert report(client, a, confirmed_id).json()["status"] == "confirmed"
    assert report(client, a, dismissed["id"]).json()["status"] == "dismissed"
    # The dismissed report's label is withdrawn; the confirmed one's stays.
    labels = dict(
        db.run(
            lambda s: s.execute(
                select(PaymentTransfer.id, RiskDecision.fraud_label).join(
                    RiskDecision, RiskDecision.id == PaymentTransfer.risk_decision_id
                )
            ).all()
        )
    )
    assert labels == {confirmed_id: True, dismissed["id"]: False}


def test_only_a_completed_transfer_can_be_reported(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    delayed = transfer(client, a, b, "10.00", arrival="2h").json()
    assert delayed["status"] == "delayed"
    refused = report(client, a, delayed["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "transfer_not_reportable"
    assert "delayed" in refused.json()["detail"]
    en = client.post(
        f"/v1/transfers/{delayed['id']}/report-fraud",
        json={},
        headers={**a.headers, **idem(), "Accept-Language": "en-US"},
    )
    assert en.status_code == 409 and "completed transfer" in en.json()["detail"]
    assert case_count(db) == 0


def test_a_transfer_to_ones_own_account_cannot_be_reported(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db)
    savings = db.run(
        lambda s: ledger.open_account(
            s, kind=AccountKind.CUSTOMER_CURRENT, name=a.name, owner_id=a.customer_id
        )
    )
    sent = client.post(
        "/v1/transfers",
        json={
            "from_account_id": a.account_id,
            "to_account_number": savings.number,
            "to_name": a.name,
            "amount": "10.00",
        },
        headers={**a.headers, **idem()},
    )
    assert sent.json()["status"] == "completed", sent.text
    refused = report(client, a, sent.json()["id"])
    assert refused.status_code == 409 and refused.json()["code"] == "transfer_not_reportable"
    assert case_count(db) == 0


def test_another_customers_transfer_is_not_found(client: TestClient, db: Database) -> None:
    a, _, transfer_id = completed_transfer(client, db)
    intruder = customer(client, db, "赵六", deposit=None)
    theirs = report(client, intruder, transfer_id)
    assert theirs.status_code == 404 and theirs.json()["code"] == "transfer_not_found"
    unknown = report(client, a, str(uuid.uuid4()))
    assert unknown.status_code == 404 and unknown.json()["code"] == "transfer_not_found"
    assert case_count(db) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"description": "x" * 501},
        {"description": "bad\x00text"},
        {"description": 5},
        {"reason": "extra field"},
    ],
)
def test_bad_input_is_refused_and_reports_nothing(
    client: TestClient, db: Database, body: dict[str, Any]
) -> None:
    a, _, transfer_id = completed_transfer(client, db)
    refused = report(client, a, transfer_id, **body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert case_count(db) == 0


def test_a_report_needs_a_key_a_token_and_a_transfer_id(client: TestClient, db: Database) -> None:
    a, _, transfer_id = completed_transfer(client, db)
    path = f"/v1/transfers/{transfer_id}/report-fraud"
    no_key = client.post(path, json={}, headers=a.headers)
    assert no_key.status_code in (400, 422)
    anonymous = client.post(path, json={}, headers=idem())
    assert anonymous.status_code == 401
    bad_id = client.post(
        "/v1/transfers/not-an-id/report-fraud", json={}, headers={**a.headers, **idem()}
    )
    assert bad_id.status_code == 422
    assert case_count(db) == 0
