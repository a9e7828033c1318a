"""Step-up: a fresh second factor bound to exactly what is approved, usable once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.identity.factories import last_code, messages, register
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.identity import service
from zhangyin.identity.errors import StepUpInvalid
from zhangyin.identity.models import Challenge
from zhangyin.identity.service import StepUpBinding

TRANSFER_A = StepUpBinding("transfer", 500_000, "CNY", "6216880000000001234 李四")


def _start(db: Database, customer_id: str, binding: StepUpBinding = TRANSFER_A) -> str:
    return db.run(lambda s: service.start_step_up(s, customer_id, binding)).challenge_id


def _verify(
    db: Database, customer_id: str, challenge_id: str, binding: StepUpBinding, code: str
) -> None:
    db.run(lambda s: service.verify_step_up(s, customer_id, challenge_id, binding, sms_code=code))


def test_code_names_amount_and_payee_and_approves_once(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    started = db.run(lambda s: service.start_step_up(s, customer.customer_id, TRANSFER_A))
    assert started.methods == ("sms",) and started.expires_at > utcnow()
    text = messages(db, customer.phone)[-1].text
    assert "5000.00" in text and "李四" in text and "转账" in text
    code = last_code(db, customer.phone)
    _verify(db, customer.customer_id, started.challenge_id, TRANSFER_A, code)
    with pytest.raises(StepUpInvalid) as used:
        _verify(db, customer.customer_id, started.challenge_id, TRANSFER_A, code)
    assert used.value.params["reason"] == "used"


@pytest.mark.parametrize(
    "other",
    [
        StepUpBinding("transfer", 500_001, "CNY", "6216880000000001234 李四"),
        StepUpBinding("transfer", 500_000, "CNY", "6216880000000009999 王五"),
        StepUpBinding("transfer", 500_000, "USD", "6216880000000001234 李四"),
        StepUpBinding("payment", 500_000, "CNY", "6216880000000001234 李四"),
    ],
    ids=["amount", "payee", "currency", "operation"],
)
def test_proof_for_transfer_a_never_approves_transfer_b(
    client: TestClient, db: Database, other: StepUpBinding
) -> None:
    customer = register(client, db, login=False)
    challenge_id = _start(db, customer.customer_id)
    code = last_code(db, customer.phone)
    with pytest.raises(StepUpInvalid) as refused:
        _verify(db, customer.customer_id, challenge_id, other, code)
    assert refused.value.params["reason"] == "binding_mismatch"
    _verify(db, customer.customer_id, challenge_id, TRANSFER_A, code)  # still good for A itself


def test_another_customer_cannot_use_the_proof(client: TestClient, db: Database) -> None:
    owner, other = register(client, db, login=False), register(client, db, login=False)
    challenge_id = _start(db, owner.customer_id)
    with pytest.raises(StepUpInvalid):
        _verify(db, other.customer_id, challenge_id, TRANSFER_A, last_code(db, owner.phone))
    row = db.run(lambda s: s.get(Challenge, challenge_id))
    assert row.consumed_at is None


def test_expired_proof_is_refused(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    challenge_id = _start(db, customer.customer_id)
    db.run(
        lambda s: s.execute(
            update(Challenge)
            .where(Challenge.id == challenge_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    )
    with pytest.raises(StepUpInvalid) as refused:
        _verify(db, customer.customer_id, challenge_id, TRANSFER_A, last_code(db, customer.phone))
    assert refused.value.params["reason"] == "expired"


def test_wrong_codes_exhaust_the_challenge_even_when_rolled_back(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db, login=False)
    challenge_id = _start(db, customer.customer_id)
    code = last_code(db, customer.phone)
    for guess in range(5):
        wrong = f"{(int(code) + guess + 1) % 1_000_000:06d}"
        with pytest.raises(StepUpInvalid):
            _verify(db, customer.customer_id, challenge_id, TRANSFER_A, wrong)
    with pytest.raises(StepUpInvalid) as refused:
        _verify(db, customer.customer_id, challenge_id, TRANSFER_A, code)
    assert refused.value.params["reason"] == "too_many_attempts"


def test_a_new_challenge_replaces_nothing_of_the_old(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    first = _start(db, customer.customer_id)
    first_code = last_code(db, customer.phone)
    second = _start(db, customer.customer_id, StepUpBinding("transfer", 100, "CNY", "X"))
    second_code = last_code(db, customer.phone)
    with pytest.raises(StepUpInvalid):  # the second code does not open the first challenge
        _verify(db, customer.customer_id, first, TRANSFER_A, second_code)
    _verify(db, customer.customer_id, first, TRANSFER_A, first_code)
    _verify(
        db, customer.customer_id, second, StepUpBinding("transfer", 100, "CNY", "X"), second_code
    )


def test_resend_of_a_step_up_code_keeps_its_binding(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    challenge_id = _start(db, customer.customer_id)
    stale = last_code(db, customer.phone)
    answer = client.post(
        "/v1/sms-codes",
        json={"phone": customer.phone, "purpose": "step_up", "challenge_id": challenge_id},
    )
    assert answer.status_code == 202
    fresh = last_code(db, customer.phone)
    assert "5000.00" in messages(db, customer.phone)[-1].text
    if fresh != stale:
        with pytest.raises(StepUpInvalid):
            _verify(db, customer.customer_id, challenge_id, TRANSFER_A, stale)
    _verify(db, customer.customer_id, challenge_id, TRANSFER_A, fresh)
    challenges = db.run(lambda s: s.scalars(select(Challenge)).all())
    assert all(c.consumed_at is not None for c in challenges if c.kind == "step_up")
