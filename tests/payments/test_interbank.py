"""Interbank transfers against the clearing-house simulator over real HTTP (ISO 20022)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.payments.factories import (
    Payer,
    assert_books_balance,
    available,
    balance,
    customer,
    idem,
    reconcile_clearing_days,
)
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind, AccountStatus
from zhangyin.payments import clearing
from zhangyin.payments.clearing_sim import ClearingHouse, RunningSimulator, free_port
from zhangyin.payments.jobs import run_payment_jobs
from zhangyin.payments.models import ClearingMessage, IncomingCredit
from zhangyin.payments.service import OUR_BANK_CODE

ICBC = "ICBKCNBJ"
WANG = ("6222020200112233445", "王强")


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    running = RunningSimulator(ClearingHouse(seed=7)).start()
    yield running
    running.stop()


def gateway_for(sim: RunningSimulator) -> clearing.HttpClearingGateway:
    return clearing.HttpClearingGateway(sim.url, OUR_BANK_CODE, timeout=2)


def send(client: TestClient, payer: Payer, account: str, name: str, amount: str = "100.00") -> dict:
    response = client.post(
        "/v1/transfers",
        json={
            "from_account_id": payer.account_id,
            "to_account_number": account,
            "to_name": name,
            "amount": amount,
            "to_bank_code": ICBC,
        },
        headers={**payer.headers, **idem()},
    )
    assert response.status_code == 201, response.text
    body: dict = response.json()
    return body


def status_of(client: TestClient, payer: Payer, transfer_id: str) -> dict:
    body: dict = client.get(f"/v1/transfers/{transfer_id}", headers=payer.headers).json()
    return body


def clearing_balance(db: Database) -> int:
    return db.run(lambda s: ledger.bank_account(s, AccountKind.BANK_CLEARING)).balance_minor


def test_accepted_transfer_is_processing_then_completed(
    client: TestClient, db: Database, sim: RunningSimulator
) -> None:
    a = customer(client, db)
    body = send(client, a, *WANG)
    assert body["status"] == "processing" and body["to_bank_name"] == "中国工商银行"
    assert available(db, a.account_id) == 90_000 and balance(db, a.account_id) == 100_000
    done = run_payment_jobs(db, gateway_for(sim))
    assert done["clearing_sent"] == 1 and done["clearing_received"] == 1
    assert status_of(client, a, body["id"])["status"] == "completed"
    assert balance(db, a.account_id) == 90_000
    assert sim.house.account(ICBC, WANG[0]).balance_minor == 10_000_000 + 10_000
    assert sim.house.received == [clearing.PACS008]
    # Running the jobs again changes nothing (the feed cursor moved on).
    assert run_payment_jobs(db, gateway_for(sim))["clearing_received"] == 0
    reconciliation = reconcile_clearing_days(db, gateway_for(sim))
    assert reconciliation.matched and reconciliation.ours_net_minor == 10_000
    assert_books_balance(db)


@pytest.mark.parametrize(
    ("account", "name", "reason"),
    [
        ("6222020299999999999", "王强", "clearing_ac01"),
        (WANG[0], "王小强", "clearing_be01"),
    ],
)
def test_rejected_transfer_releases_the_money(
    client: TestClient, db: Database, sim: RunningSimulator, account: str, name: str, reason: str
) -> None:
    a = customer(client, db)
    body = send(client, a, account, name)
    run_payment_jobs(db, gateway_for(sim))
    detail = status_of(client, a, body["id"])
    assert detail["status"] == "rejected" and detail["reason"] == reason
    assert [e["status"] for e in detail["timeline"]] == ["processing", "rejected"]
    assert available(db, a.account_id) == 100_000 and balance(db, a.account_id) == 100_000
    assert clearing_balance(db) == 0
    assert_books_balance(db)


def test_returned_later_with_pacs004_credits_the_customer_back(
    client: TestClient, db: Database, sim: RunningSimulator
) -> None:
    sim.house.return_share = 1.0
    a = customer(client, db)
    body = send(client, a, *WANG)
    run_payment_jobs(db, gateway_for(sim))
    assert status_of(client, a, body["id"])["status"] == "completed"
    run_payment_jobs(db, gateway_for(sim))  # the payee's bank returns it later
    detail = status_of(client, a, body["id"])
    assert detail["status"] == "returned", detail
    assert [e["status"] for e in detail["timeline"]] == ["processing", "completed", "returned"]
    assert balance(db, a.account_id) == 100_000 and clearing_balance(db) == 0
    assert sim.house.account(ICBC, WANG[0]).balance_minor == 10_000_000
    reconciliation = reconcile_clearing_days(db, gateway_for(sim))
    assert reconciliation.matched and reconciliation.ours_net_minor == 0
    assert_books_balance(db)


def test_clearing_house_down_the_transfer_waits_and_retries(
    client: TestClient, db: Database
) -> None:
    port = free_port()
    down = clearing.HttpClearingGateway(f"http://127.0.0.1:{port}", OUR_BANK_CODE, timeout=0.5)
    a = customer(client, db)
    body = send(client, a, *WANG)
    done = run_payment_jobs(db, down)
    assert done["clearing_sent"] == 0
    assert status_of(client, a, body["id"])["status"] == "processing"
    message = db.run(lambda s: s.get(ClearingMessage, body["id"].replace("-", "")))
    assert message.sent_at is None and message.attempts == 1
    # Not due yet: the backoff holds the next attempt back.
    assert run_payment_jobs(db, down)["clearing_sent"] == 0
    # The clearing house comes back on that port; the retry goes through.
    db.run(lambda s: _make_due(s, message.id))
    running = RunningSimulator(ClearingHouse(), port=port).start()
    try:
        up = clearing.HttpClearingGateway(running.url, OUR_BANK_CODE)
        done = run_payment_jobs(db, up)
        assert done["clearing_sent"] == 1
        # A resend of the same message (lost answer) is taken once.
        running.house.submit(OUR_BANK_CODE, message.xml)
        run_payment_jobs(db, up)
    finally:
        running.stop()
    assert status_of(client, a, body["id"])["status"] == "completed"
    assert (
        balance(db, a.account_id) == 90_000 and running.house.received.count("pacs.008.001.08") == 2
    )
    assert_books_balance(db)


def _make_due(session, message_id: str) -> None:  # type: ignore[no-untyped-def]
    session.get(ClearingMessage, message_id).next_attempt_at = utcnow()


def test_incoming_credit_posts_to_the_right_account(
    client: TestClient, db: Database, sim: RunningSimulator
) -> None:
    a = customer(client, db, "张三", deposit=None)
    tx_id = sim.house.send_credit(
        ICBC, WANG[0], OUR_BANK_CODE, a.number, "张三", 25_000, "CNY", "还款"
    )
    run_payment_jobs(db, gateway_for(sim))
    assert balance(db, a.account_id) == 25_000
    credit = db.run(lambda s: s.get(IncomingCredit, tx_id))
    assert credit.status == "credited"
    history = client.get(f"/v1/accounts/{a.account_id}/transactions", headers=a.headers).json()
    assert "王强" in history["transactions"][0]["memo"]
    # Our acceptance (pacs.002) went back to the clearing house.
    assert sim.house.received == [clearing.PACS002]
    assert reconcile_clearing_days(db, gateway_for(sim)).matched
    assert_books_balance(db)


@pytest.mark.parametrize("case", ["unknown", "name", "frozen"])
def test_incoming_credit_that_cannot_be_applied_is_returned(
    client: TestClient, db: Database, sim: RunningSimulator, case: str
) -> None:
    a = customer(client, db, "张三", deposit=None)
    number, name = a.number, "张三"
    if case == "unknown":
        number = "6216880000000000000"
    elif case == "name":
        name = "张五"
    else:
        db.run(lambda s: ledger.set_account_status(s, a.account_id, AccountStatus.FULLY_FROZEN))
    before = sim.house.account(ICBC, WANG[0]).balance_minor
    tx_id = sim.house.send_credit(ICBC, WANG[0], OUR_BANK_CODE, number, name, 25_000, "CNY")
    assert sim.house.account(ICBC, WANG[0]).balance_minor == before - 25_000
    run_payment_jobs(db, gateway_for(sim))
    credit = db.run(lambda s: s.get(IncomingCredit, tx_id))
    assert credit.status == "returned"
    assert credit.reason == {"unknown": "AC01", "name": "BE01", "frozen": "AC06"}[case]
    assert balance(db, a.account_id) == 0 and clearing_balance(db) == 0
    assert sim.house.received == [clearing.PACS004]
    assert sim.house.account(ICBC, WANG[0]).balance_minor == before
    # Applying the feed again does not return twice.
    db.run(lambda s: s.execute(select(ClearingMessage)).all())
    assert run_payment_jobs(db, gateway_for(sim))["clearing_received"] == 0


def test_simulator_refuses_schema_invalid_messages(sim: RunningSimulator) -> None:
    refused = httpx.post(
        f"{sim.url}/participants/{OUR_BANK_CODE}/messages",
        content=b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08'>"
        b"<Bogus/></Document>",
    )
    assert refused.status_code == 422
    assert sim.house.pending == []


def test_unknown_bank_is_refused_up_front(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    response = client.post(
        "/v1/transfers",
        json={
            "from_account_id": a.account_id,
            "to_account_number": WANG[0],
            "to_name": WANG[1],
            "amount": "1.00",
            "to_bank_code": "ZZZZCNBJ",
        },
        headers={**a.headers, **idem()},
    )
    assert response.status_code == 422 and response.json()["code"] == "unknown_bank"
    assert available(db, a.account_id) == 100_000


def test_delayed_interbank_transfer_goes_to_clearing_when_due(
    client: TestClient, db: Database, sim: RunningSimulator
) -> None:
    from datetime import timedelta

    from zhangyin.payments import service

    a = customer(client, db)
    response = client.post(
        "/v1/transfers",
        json={
            "from_account_id": a.account_id,
            "to_account_number": WANG[0],
            "to_name": WANG[1],
            "amount": "10.00",
            "to_bank_code": ICBC,
            "arrival": "2h",
        },
        headers={**a.headers, **idem()},
    )
    body = response.json()
    assert body["status"] == "delayed"
    run_payment_jobs(db, gateway_for(sim))
    assert status_of(client, a, body["id"])["status"] == "delayed" and sim.house.received == []
    db.run(lambda s: service.post_due_delayed(s, utcnow() + timedelta(hours=3)))
    run_payment_jobs(db, gateway_for(sim))
    assert status_of(client, a, body["id"])["status"] == "completed"
    assert balance(db, a.account_id) == 99_000


def test_a_message_the_clearing_house_refuses_outright_rejects_the_transfer(
    client: TestClient, db: Database, sim: RunningSimulator
) -> None:
    a = customer(client, db)
    body = send(client, a, *WANG)
    # Submitted under another participant's name, the clearing house refuses it (422).
    impostor = clearing.HttpClearingGateway(sim.url, "PCBCCNBJ")
    done = run_payment_jobs(db, impostor)
    assert done["clearing_sent"] == 0
    detail = status_of(client, a, body["id"])
    assert detail["status"] == "rejected" and detail["reason"] == "clearing_refused"
    assert available(db, a.account_id) == 100_000
    # Nothing is retried afterwards.
    assert run_payment_jobs(db, gateway_for(sim))["clearing_sent"] == 0
    assert sim.house.seen == set() and sim.house.pending == []
    assert_books_balance(db)
