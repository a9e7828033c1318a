"""The clearing house misbehaves (slow, down, answers twice, out of order): nothing doubles.

The simulator runs over real HTTP; a gateway in front of it injects the fault.
After each scenario every interbank transfer is in a final state, the customer
paid once for each completed one, the payee's bank received it once, and both
the ledger and the clearing house's settlement report agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.identity.factories import last_code
from tests.payments.factories import (
    Payer,
    assert_books_balance,
    balance,
    customer,
    idem,
    reconcile_clearing_days,
)
from zhangyin.clock import business_date, utcnow
from zhangyin.db import Database
from zhangyin.payments import clearing, interbank
from zhangyin.payments.clearing_sim import ClearingHouse, RunningSimulator
from zhangyin.payments.jobs import run_payment_jobs
from zhangyin.payments.models import ClearingMessage
from zhangyin.payments.service import OUR_BANK_CODE

ICBC = "ICBKCNBJ"
PAYEE = ("6222020200998877665", "赵敏")
OPENING = 100_000
FINAL = {"completed", "rejected", "returned"}

# Production runs on PostgreSQL; the payments tests already cover SQLite.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


class FaultyGateway:
    """The real HTTP gateway with a fault in front of it."""

    def __init__(self, inner: clearing.HttpClearingGateway) -> None:
        self.inner = inner
        self.participant = inner.participant
        self.down = False
        self.lose_submit_answers = 0
        self.duplicate_feed = False
        self.reverse_feed = False

    def submit(self, xml: str) -> None:
        if self.down:
            raise clearing.ClearingUnreachable("down")
        self.inner.submit(xml)
        if self.lose_submit_answers > 0:
            # The clearing house took it, but the answer never came back (a timeout).
            self.lose_submit_answers -= 1
            raise clearing.ClearingUnreachable("answer lost")

    def fetch(self, after: int) -> list[clearing.FeedMessage]:
        if self.down:
            raise clearing.ClearingUnreachable("down")
        messages = self.inner.fetch(after)
        if self.reverse_feed and len(messages) > 1:
            # The clearing house answered in the opposite order: same sequence numbers, the
            # later message first (e.g. a return before the acceptance it returns).
            contents = [(m.message_type, m.xml) for m in reversed(messages)]
            messages = [
                clearing.FeedMessage(m.sequence, kind, xml)
                for m, (kind, xml) in zip(messages, contents, strict=True)
            ]
        if self.duplicate_feed:
            # Every message twice, and the whole feed again from the start.
            messages = [m for m in messages for _ in (0, 1)] + self.inner.fetch(0)
        return messages

    def settlement_report(self, day: date) -> dict[str, object]:
        return self.inner.settlement_report(day)


@pytest.fixture
def sim() -> Iterator[RunningSimulator]:
    running = RunningSimulator(ClearingHouse(seed=11)).start()
    yield running
    running.stop()


@pytest.fixture
def gateway(sim: RunningSimulator) -> FaultyGateway:
    return FaultyGateway(clearing.HttpClearingGateway(sim.url, OUR_BANK_CODE, timeout=2))


def send_interbank(client: TestClient, db: Database, payer: Payer, amounts: list[str]) -> list[str]:
    ids = []
    for amount in amounts:
        response = client.post(
            "/v1/transfers",
            json={
                "from_account_id": payer.account_id,
                "to_account_number": PAYEE[0],
                "to_name": PAYEE[1],
                "amount": amount,
                "to_bank_code": ICBC,
            },
            headers={**payer.headers, **idem()},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        if body["status"] == "pending_challenge":  # risk asks for step-up: the customer answers
            response = client.post(
                f"/v1/transfers/{body['id']}/confirm",
                json={"challenge_id": body["challenge_id"], "sms_code": last_code(db, payer.phone)},
                headers={**payer.headers, **idem()},
            )
            assert response.status_code == 200, response.text
            body = response.json()
        assert body["status"] == "processing", body
        ids.append(body["id"])
    return ids


def make_everything_due(db: Database) -> None:
    db.run(lambda s: s.execute(update(ClearingMessage).values(next_attempt_at=utcnow())))


def settle(db: Database, gateway: FaultyGateway, passes: int = 6) -> None:
    for _ in range(passes):
        make_everything_due(db)
        run_payment_jobs(db, gateway)


def check_once(
    client: TestClient,
    db: Database,
    sim: RunningSimulator,
    gateway: FaultyGateway,
    payer: Payer,
    ids: list[str],
    payee_before: int,
) -> dict[str, str]:
    statuses = {}
    paid = 0
    for transfer_id in ids:
        body = client.get(f"/v1/transfers/{transfer_id}", headers=payer.headers).json()
        assert body["status"] in FINAL, body
        statuses[transfer_id] = body["status"]
        if body["status"] == "completed":
            paid += int(body["amount"].replace(".", ""))
    assert balance(db, payer.account_id) == OPENING - paid
    account = sim.house.account(ICBC, PAYEE[0])
    assert account is not None and account.balance_minor == payee_before + paid
    reconciliation = reconcile_clearing_days(db, gateway)
    assert reconciliation.matched and reconciliation.pending_outgoing == 0, reconciliation
    assert reconciliation.ours_net_minor == paid
    assert_books_balance(db)
    return statuses


def release_answers(sim: RunningSimulator) -> None:
    """The slow clearing house answers now: what it holds falls due, later messages at once."""
    with sim.house._lock:
        sim.house.answer_delay = 0.0
        for item in sim.house.pending:
            item.due = 0.0


def payee_balance(sim: RunningSimulator) -> int:
    account = sim.house.account(ICBC, PAYEE[0])
    assert account is not None
    return account.balance_minor


def test_slow_answers_and_lost_acknowledgements_settle_once(
    client: TestClient, db: Database, sim: RunningSimulator, gateway: FaultyGateway
) -> None:
    payer = customer(client, db)
    before = payee_balance(sim)
    # Slow: the clearing house holds its answers until the test lets them go (a delay of
    # 0.6 s was shorter than one job pass on a loaded machine, so answers came "early").
    sim.house.answer_delay = 3600
    gateway.lose_submit_answers = 2  # the first two submissions time out after being taken
    ids = send_interbank(client, db, payer, ["10.00", "20.00", "30.00"])
    run_payment_jobs(db, gateway)
    # Nothing answered yet: the money is held, not gone.
    for transfer_id in ids:
        assert (
            client.get(f"/v1/transfers/{transfer_id}", headers=payer.headers).json()["status"]
            == "processing"
        )
    assert balance(db, payer.account_id) == OPENING
    release_answers(sim)
    settle(db, gateway)
    settle(db, gateway)
    statuses = check_once(client, db, sim, gateway, payer, ids, before)
    assert set(statuses.values()) == {"completed"}
    # Resent messages were taken once by the clearing house.
    assert sim.house.received.count(clearing.PACS008) > len(ids)


def test_clearing_house_down_then_back_settles_once(
    client: TestClient, db: Database, sim: RunningSimulator, gateway: FaultyGateway
) -> None:
    payer = customer(client, db)
    before = payee_balance(sim)
    gateway.down = True
    ids = send_interbank(client, db, payer, ["5.00", "6.00"])
    settle(db, gateway, passes=3)
    assert sim.house.received == []
    assert balance(db, payer.account_id) == OPENING
    gateway.down = False
    settle(db, gateway)
    statuses = check_once(client, db, sim, gateway, payer, ids, before)
    assert set(statuses.values()) == {"completed"}
    assert sim.house.received.count(clearing.PACS008) == len(ids)


def test_answers_delivered_twice_are_applied_once(
    client: TestClient, db: Database, sim: RunningSimulator, gateway: FaultyGateway
) -> None:
    payer = customer(client, db)
    before = payee_balance(sim)
    sim.house.return_share = 0.5
    gateway.duplicate_feed = True
    ids = send_interbank(client, db, payer, ["1.00", "2.00", "3.00", "4.00", "5.00", "6.00"])
    settle(db, gateway)
    statuses = check_once(client, db, sim, gateway, payer, ids, before)
    assert "returned" in statuses.values() and "completed" in statuses.values()


def test_a_return_that_overtakes_its_acceptance_is_not_lost(
    client: TestClient, db: Database, sim: RunningSimulator, gateway: FaultyGateway
) -> None:
    payer = customer(client, db)
    before = payee_balance(sim)
    sim.house.return_share = 1.0
    gateway.reverse_feed = True
    ids = send_interbank(client, db, payer, ["7.00"])
    make_everything_due(db)

    interbank.send_pending(db, gateway)
    # Let the clearing house accept and then return it before the bank reads its feed, so
    # that both answers are there at once (and the fault reverses them).
    for _ in range(3):
        sim.house.settlement(OUR_BANK_CODE, business_date(utcnow()))
    assert [m["type"] for m in sim.house.feed(OUR_BANK_CODE, 0)] == [
        clearing.PACS002,
        clearing.PACS004,
    ]
    settle(db, gateway)
    statuses = check_once(client, db, sim, gateway, payer, ids, before)
    assert set(statuses.values()) == {"returned"}
