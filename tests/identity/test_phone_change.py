"""Changing the phone number: a code to the new number plus a step-up bound to the change."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.identity.factories import (
    Customer,
    last_code,
    login_from_new_device,
    messages,
    password_login,
    random_phone,
    register,
)
from zhangyin.db import Database
from zhangyin.events import OutboxEvent
from zhangyin.identity import service
from zhangyin.identity.models import AuthSession
from zhangyin.identity.models import Customer as CustomerRow
from zhangyin.identity.policy import IdentityPolicy


def _no_cooldown(client: TestClient) -> None:
    client.app.state.identity_policy = IdentityPolicy(sms_cooldown_seconds=0)  # type: ignore[attr-defined]


def _start(client: TestClient, customer: Customer, new_phone: str) -> Any:
    return client.post(
        "/v1/me/phone/start", json={"new_phone": new_phone}, headers=customer.headers
    )


def _step_up_code(db: Database, customer: Customer) -> str:
    return last_code(db, customer.phone)


def _phone_events(db: Database, customer_id: str) -> int:
    return db.run(
        lambda s: s.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(
                OutboxEvent.event_type == "identity.phone_changed",
                OutboxEvent.aggregate_id == customer_id,
            )
        )
    )


def _row(db: Database, customer_id: str) -> CustomerRow:
    return db.run(lambda s: s.get(CustomerRow, customer_id))


def test_phone_change_moves_the_number_and_ends_other_sessions(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    other_phone = login_from_new_device(client, db, customer)
    before = _row(db, customer.customer_id).phone_changed_at
    new_phone = random_phone()

    started = _start(client, customer, new_phone)
    assert started.status_code == 201, started.text
    change = started.json()
    assert change["methods"] == ["sms"]
    # The step-up goes to the current number and names the (masked) new one.
    step_up_text = messages(db, customer.phone)[-1].text
    assert "更换手机号" in step_up_text and new_phone[-4:] in step_up_text
    assert new_phone not in step_up_text
    new_code = last_code(db, new_phone)

    confirmed = client.post(
        "/v1/me/phone/confirm",
        json={
            "change_id": change["change_id"],
            "sms_code": new_code,
            "step_up_sms_code": _step_up_code(db, customer),
        },
        headers=customer.headers,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["phone"] == new_phone[:3] + "****" + new_phone[-4:]
    row = _row(db, customer.customer_id)
    assert row.phone == new_phone and row.phone_changed_at > before
    # Risk reads the change through the profile (feature phone_changed_hours).
    profile = db.run(lambda s: service.risk_profile(s, customer.customer_id, None))
    assert profile.last_phone_change_at == row.phone_changed_at
    # This session lives on; the one on the other phone has ended.
    assert client.get("/v1/me", headers=customer.headers).status_code == 200
    ended = client.get("/v1/me", headers={"Authorization": f"Bearer {other_phone['access_token']}"})
    assert ended.status_code == 401
    reason = db.run(lambda s: s.get(AuthSession, other_phone["session_id"])).revoked_reason
    assert reason == "phone_changed"
    # Both numbers are told; the event is on the outbox.
    assert "已由" in messages(db, customer.phone)[-1].text
    assert "已由" in messages(db, new_phone)[-1].text
    assert _phone_events(db, customer.customer_id) == 1
    # The customer now logs in with the new number; the old one no longer works.
    customer.phone, old = new_phone, customer.phone
    assert password_login(client, customer)["subject_id"] == customer.customer_id
    refused = client.post(
        "/v1/sessions",
        json={"phone": old, "password": customer.password, "device_id": customer.device_id},
    )
    assert refused.status_code == 401


def test_wrong_codes_change_nothing(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    new_phone = random_phone()
    change = _start(client, customer, new_phone).json()
    new_code, step_up = last_code(db, new_phone), _step_up_code(db, customer)
    wrong_new = "000000" if new_code != "000000" else "111111"
    wrong_step_up = "000000" if step_up != "000000" else "111111"
    for body, status, code in (
        ({"sms_code": wrong_new, "step_up_sms_code": step_up}, 422, "code_invalid"),
        ({"sms_code": new_code, "step_up_sms_code": wrong_step_up}, 403, "step_up_invalid"),
        ({"sms_code": new_code}, 403, "step_up_invalid"),  # no step-up proof at all
        # The step-up code in place of the new number's code (and the other way round).
        ({"sms_code": step_up, "step_up_sms_code": new_code}, 422, "code_invalid"),
    ):
        if body["sms_code"] == step_up == new_code:
            continue  # one chance in a million: the two codes are equal
        answer = client.post(
            "/v1/me/phone/confirm",
            json={"change_id": change["change_id"], **body},
            headers=customer.headers,
        )
        assert answer.status_code == status and answer.json()["code"] == code, answer.text
    assert _row(db, customer.customer_id).phone == customer.phone
    assert _phone_events(db, customer.customer_id) == 0
    # The codes were not used up by the refusals: the right pair still works.
    ok = client.post(
        "/v1/me/phone/confirm",
        json={"change_id": change["change_id"], "sms_code": new_code, "step_up_sms_code": step_up},
        headers=customer.headers,
    )
    assert ok.status_code == 200, ok.text


def test_a_code_for_another_change_does_not_confirm_this_one(
    client: TestClient, db: Database
) -> None:
    _no_cooldown(client)
    customer = register(client, db)
    first_phone, second_phone = random_phone(), random_phone()
    first = _start(client, customer, first_phone).json()
    first_code = last_code(db, first_phone)
    second = _start(client, customer, second_phone).json()
    step_up_second = _step_up_code(db, customer)
    # The new-number code of the first change with the second change: refused.
    crossed = client.post(
        "/v1/me/phone/confirm",
        json={
            "change_id": second["change_id"],
            "sms_code": first_code,
            "step_up_sms_code": step_up_second,
        },
        headers=customer.headers,
    )
    assert crossed.status_code == 422 and crossed.json()["code"] == "code_invalid"
    # The second change's step-up does not approve the first change either.
    mixed = client.post(
        "/v1/me/phone/confirm",
        json={
            "change_id": first["change_id"],
            "sms_code": first_code,
            "step_up_sms_code": step_up_second,
        },
        headers=customer.headers,
    )
    assert mixed.status_code == 403 and mixed.json()["code"] == "step_up_invalid"
    assert _row(db, customer.customer_id).phone == customer.phone


def test_a_step_up_for_another_operation_is_not_a_phone_change(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    closure = client.post("/v1/me/closure/step-up", headers=customer.headers).json()
    answer = client.post(
        "/v1/me/phone/confirm",
        json={
            "change_id": closure["challenge_id"],
            "sms_code": "123456",
            "step_up_sms_code": _step_up_code(db, customer),
        },
        headers=customer.headers,
    )
    assert answer.status_code == 404 and answer.json()["code"] == "phone_change_not_found"


def test_a_taken_or_own_number_is_refused(client: TestClient, db: Database) -> None:
    _no_cooldown(client)
    customer, other = register(client, db), register(client, db)
    sent = len(messages(db, other.phone))
    for phone in (other.phone, customer.phone):
        answer = _start(client, customer, phone)
        assert answer.status_code == 409 and answer.json()["code"] == "phone_unavailable"
    assert len(messages(db, other.phone)) == sent  # nothing sent to the other customer


def test_the_number_taken_between_start_and_confirm_is_refused(
    client: TestClient, db: Database
) -> None:
    _no_cooldown(client)
    customer = register(client, db)
    new_phone = random_phone()
    change = _start(client, customer, new_phone).json()
    new_code, step_up = last_code(db, new_phone), _step_up_code(db, customer)
    register(client, db, phone=new_phone, login=False)
    answer = client.post(
        "/v1/me/phone/confirm",
        json={"change_id": change["change_id"], "sms_code": new_code, "step_up_sms_code": step_up},
        headers=customer.headers,
    )
    assert answer.status_code == 409 and answer.json()["code"] == "phone_unavailable"
    assert _row(db, customer.customer_id).phone == customer.phone


def test_another_customer_cannot_confirm_my_change(client: TestClient, db: Database) -> None:
    a, b = register(client, db), register(client, db)
    new_phone = random_phone()
    change = _start(client, a, new_phone).json()
    answer = client.post(
        "/v1/me/phone/confirm",
        json={
            "change_id": change["change_id"],
            "sms_code": last_code(db, new_phone),
            "step_up_sms_code": _step_up_code(db, a),
        },
        headers=b.headers,
    )
    assert answer.status_code == 404
    assert _row(db, a.customer_id).phone == a.phone and _row(db, b.customer_id).phone == b.phone


def test_unauthenticated_and_bad_input(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    assert client.post("/v1/me/phone/start", json={"new_phone": random_phone()}).status_code == 401
    assert (
        client.post(
            "/v1/me/phone/confirm",
            json={"change_id": "0b8e2f4e-6a1d-4c7b-9a55-3f2d1e0c9b8a", "sms_code": "123456"},
        ).status_code
        == 401
    )
    for body in (
        {},
        {"new_phone": "1391234567"},
        {"new_phone": "12345678901"},  # 11 digits, not a mainland mobile number
        {"new_phone": 13912345678},
        {"new_phone": random_phone(), "extra": 1},
    ):
        answer = client.post("/v1/me/phone/start", json=body, headers=customer.headers)
        assert answer.status_code == 422, body
        assert answer.headers["content-type"].startswith("application/problem+json")
    for body in (
        {"change_id": "not-a-uuid", "sms_code": "123456"},
        {"change_id": "0b8e2f4e-6a1d-4c7b-9a55-3f2d1e0c9b8a", "sms_code": "12345"},
        {"change_id": "0b8e2f4e-6a1d-4c7b-9a55-3f2d1e0c9b8a"},
    ):
        answer = client.post("/v1/me/phone/confirm", json=body, headers=customer.headers)
        assert answer.status_code == 422, body
    unknown = client.post(
        "/v1/me/phone/confirm",
        json={"change_id": "0b8e2f4e-6a1d-4c7b-9a55-3f2d1e0c9b8a", "sms_code": "123456"},
        headers=customer.headers,
    )
    assert unknown.status_code == 404
    assert _row(db, customer.customer_id).phone == customer.phone


def test_start_is_rate_limited_per_new_number(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    new_phone = random_phone()
    assert _start(client, customer, new_phone).status_code == 201
    again = _start(client, customer, new_phone)
    assert again.status_code == 429 and again.json()["code"] == "rate_limited"
    assert len(messages(db, new_phone)) == 1
