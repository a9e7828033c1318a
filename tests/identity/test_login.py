"""Logging in: password, device binding with a second factor, SMS-code login, lockout, limits."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update
from stdnum.cn import ric

from tests.identity.factories import (
    PASSWORD,
    device_id,
    last_code,
    login_from_new_device,
    messages,
    random_phone,
    register,
    wrong_code,
)
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.identity.models import Customer
from zhangyin.identity.policy import IdentityPolicy


def _login(client: TestClient, phone: str, password: str, device: str) -> object:
    return client.post(
        "/v1/sessions", json={"phone": phone, "password": password, "device_id": device}
    )


def _policy(client: TestClient, **changes: int) -> None:
    client.app.state.identity_policy = IdentityPolicy(**changes)  # type: ignore[attr-defined]


def test_login_from_the_registering_device_needs_no_second_factor(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db, login=False)
    response = _login(client, customer.phone, customer.password, customer.device_id)
    assert response.status_code == 201, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    assert tokens["subject_id"] == customer.customer_id and tokens["auth_methods"] == ["pwd"]
    assert response.headers["cache-control"] == "no-store"
    cookies = response.headers.get_list("set-cookie")
    assert any(
        c.startswith("zy_at=") and "HttpOnly" in c and "SameSite=strict" in c for c in cookies
    )
    assert any(c.startswith("zy_rt=") and "Path=/v1/sessions" in c for c in cookies)


def test_new_device_needs_the_sms_code_then_becomes_trusted(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    device = device_id()
    first = _login(client, customer.phone, customer.password, device)
    assert first.status_code == 401
    problem = first.json()
    assert problem["code"] == "second_factor_required" and problem["methods"] == ["sms"]
    assert first.headers["content-type"].startswith("application/problem+json")
    assert "新设备" in messages(db, customer.phone)[-1].text

    wrong = client.post(
        "/v1/sessions/second-factor",
        json={
            "challenge_id": problem["challenge_id"],
            "sms_code": wrong_code(last_code(db, customer.phone)),
        },
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "second_factor_failed"
    devices = client.get("/v1/me/devices", headers=customer.headers).json()
    assert [d["trusted"] for d in devices] == [True, False]  # seen, not trusted

    second = client.post(
        "/v1/sessions/second-factor",
        json={"challenge_id": problem["challenge_id"], "sms_code": last_code(db, customer.phone)},
    )
    assert second.status_code == 201, second.text
    assert second.json()["auth_methods"] == ["pwd", "sms"]
    devices = client.get("/v1/me/devices", headers=customer.headers).json()
    assert [d["trusted"] for d in devices] == [True, True]
    assert _login(client, customer.phone, customer.password, device).status_code == 201


def test_second_factor_code_is_single_use(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    first = _login(client, customer.phone, customer.password, device_id()).json()
    code = last_code(db, customer.phone)
    body = {"challenge_id": first["challenge_id"], "sms_code": code}
    assert client.post("/v1/sessions/second-factor", json=body).status_code == 201
    replay = client.post("/v1/sessions/second-factor", json=body)
    assert replay.status_code == 401 and replay.json()["code"] == "second_factor_failed"
    other = _login(client, customer.phone, customer.password, device_id()).json()
    if last_code(db, customer.phone) == code:  # the new code repeats the old one (1 in 10^6)
        other = _login(client, customer.phone, customer.password, device_id()).json()
    assert last_code(db, customer.phone) != code
    cross = client.post(
        "/v1/sessions/second-factor", json={"challenge_id": other["challenge_id"], "sms_code": code}
    )
    assert cross.status_code == 401  # an old code does not open another challenge


def test_second_factor_code_cannot_be_brute_forced(client: TestClient, db: Database) -> None:
    _policy(client, lockout_threshold=50)
    customer = register(client, db)
    challenge = _login(client, customer.phone, customer.password, device_id()).json()
    code = last_code(db, customer.phone)
    for guess in range(5):
        wrong = f"{(int(code) + guess + 1) % 1_000_000:06d}"
        body = {"challenge_id": challenge["challenge_id"], "sms_code": wrong}
        assert client.post("/v1/sessions/second-factor", json=body).status_code == 401
    late = client.post(
        "/v1/sessions/second-factor",
        json={"challenge_id": challenge["challenge_id"], "sms_code": code},
    )
    assert late.status_code == 401


def test_errors_do_not_tell_whether_a_phone_is_registered(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    wrong_password = _login(client, customer.phone, "Wrong-pass-123", customer.device_id)
    unknown_phone = _login(client, random_phone(), "Wrong-pass-123", customer.device_id)
    assert wrong_password.status_code == unknown_phone.status_code == 401
    strip = {"instance", "request_id"}
    assert {k: v for k, v in wrong_password.json().items() if k not in strip} == {
        k: v for k, v in unknown_phone.json().items() if k not in strip
    }


def test_five_wrong_passwords_lock_until_unlocked_or_cooled(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db, login=False)
    for _ in range(5):
        assert (
            _login(client, customer.phone, "Wrong-pass-123", customer.device_id).status_code == 401
        )
    locked = _login(client, customer.phone, PASSWORD, customer.device_id)
    assert locked.status_code == 401 and locked.json()["code"] == "login_failed"
    assert "锁定" in messages(db, customer.phone)[-1].text
    row = db.run(lambda s: s.get(Customer, customer.customer_id))
    assert row.locked_until is not None and row.locked_until > utcnow() + timedelta(minutes=29)

    db.run(
        lambda s: s.execute(
            update(Customer)
            .where(Customer.id == customer.customer_id)
            .values(locked_until=utcnow() - timedelta(seconds=1))
        )
    )
    assert _login(client, customer.phone, PASSWORD, customer.device_id).status_code == 201


def test_wrong_second_factor_codes_count_towards_the_lockout(
    client: TestClient, db: Database
) -> None:
    _policy(client, lockout_threshold=3)
    customer = register(client, db, login=False)
    for _ in range(3):
        challenge = _login(client, customer.phone, PASSWORD, device_id()).json()
        code = wrong_code(last_code(db, customer.phone))
        body = {"challenge_id": challenge["challenge_id"], "sms_code": code}
        assert client.post("/v1/sessions/second-factor", json=body).status_code == 401
    assert _login(client, customer.phone, PASSWORD, customer.device_id).status_code == 401


def test_login_attempts_per_phone_are_rate_limited(client: TestClient, db: Database) -> None:
    _policy(client, login_per_phone_per_15min=3, lockout_threshold=100)
    customer = register(client, db, login=False)
    for _ in range(3):
        assert _login(client, customer.phone, "Wrong-pass-1", customer.device_id).status_code == 401
    limited = _login(client, customer.phone, PASSWORD, customer.device_id)
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert limited.json()["retry_after"] > 0


def test_login_attempts_per_ip_are_rate_limited(client: TestClient, db: Database) -> None:
    _policy(client, login_per_ip_per_minute=4)
    statuses = [
        _login(client, random_phone(), "Wrong-pass-1", device_id()).status_code for _ in range(6)
    ]
    assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429]


def test_sms_bombing_is_stopped(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    sent = messages(db, customer.phone)
    first = client.post("/v1/sms-codes", json={"phone": customer.phone, "purpose": "login"})
    again = client.post("/v1/sms-codes", json={"phone": customer.phone, "purpose": "login"})
    assert first.status_code == 202 and again.status_code == 429
    assert again.json()["code"] == "rate_limited"
    assert len(messages(db, customer.phone)) == len(sent) + 1

    _policy(client, sms_cooldown_seconds=0, sms_per_phone_per_hour=3)
    phone = random_phone()
    answers = [
        client.post("/v1/sms-codes", json={"phone": phone, "purpose": "register"}).status_code
        for _ in range(5)
    ]
    assert answers == [202, 202, 202, 429, 429] and len(messages(db, phone)) == 3


def test_sms_code_login_works_only_on_a_trusted_device(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    assert (
        client.post("/v1/sms-codes", json={"phone": customer.phone, "purpose": "login"}).status_code
        == 202
    )
    code = last_code(db, customer.phone)
    untrusted = client.post(
        "/v1/sessions/sms-code",
        json={"phone": customer.phone, "sms_code": code, "device_id": device_id()},
    )
    assert untrusted.status_code == 401 and untrusted.json()["code"] == "device_not_trusted"
    _policy(client, sms_cooldown_seconds=0)
    client.post("/v1/sms-codes", json={"phone": customer.phone, "purpose": "login"})
    code = last_code(db, customer.phone)
    body = {"phone": customer.phone, "sms_code": code, "device_id": customer.device_id}
    trusted = client.post("/v1/sessions/sms-code", json=body)
    assert trusted.status_code == 201 and trusted.json()["auth_methods"] == ["sms"]
    assert client.post("/v1/sessions/sms-code", json=body).status_code == 401  # OTP replay


def _another_id_number(id_number: str) -> str:
    """A valid ID number that is not `id_number`: another sequence digit, its own check digit
    (so the reset is refused for not matching, not for a malformed number)."""
    body = id_number[:-2] + ("1" if id_number[-2] != "1" else "2")
    return body + ric.calc_check_digit(body)


def test_password_reset_needs_code_and_id_and_ends_every_session(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    other_device = login_from_new_device(client, db, customer)
    _policy(client, sms_cooldown_seconds=0)
    client.post("/v1/sms-codes", json={"phone": customer.phone, "purpose": "reset_password"})
    code = last_code(db, customer.phone)
    wrong_id = client.post(
        "/v1/password-resets",
        json={
            "phone": customer.phone,
            "sms_code": code,
            "id_number": _another_id_number(customer.id_number),
            "new_password": "NewPass2026x",
        },
    )
    assert wrong_id.status_code == 422, wrong_id.text
    assert wrong_id.json()["code"] == "code_invalid"
    client.post("/v1/sms-codes", json={"phone": customer.phone, "purpose": "reset_password"})
    reset = client.post(
        "/v1/password-resets",
        json={
            "phone": customer.phone,
            "sms_code": last_code(db, customer.phone),
            "id_number": customer.id_number,
            "new_password": "NewPass2026x",
        },
    )
    assert reset.status_code == 204, reset.text
    for token in (customer.tokens["access_token"], other_device["access_token"]):
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 401
    assert _login(client, customer.phone, PASSWORD, customer.device_id).status_code == 401
    assert _login(client, customer.phone, "NewPass2026x", customer.device_id).status_code == 201


def test_devices_are_listed_by_name(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    named = client.post(
        "/v1/sessions",
        json={
            "phone": customer.phone,
            "password": customer.password,
            "device_id": device_id(),
            "device_name": "华为 Mate 60",
        },
    )
    assert named.json()["code"] == "second_factor_required"
    client.post(
        "/v1/sessions",
        json={"phone": customer.phone, "password": customer.password, "device_id": device_id()},
        headers={"User-Agent": "ZhangyinApp/1.0 (iPhone; iOS 18)\x07"},
    )
    names = [d["name"] for d in client.get("/v1/me/devices", headers=customer.headers).json()]
    assert names[1:] == ["华为 Mate 60", "ZhangyinApp/1.0 (iPhone; iOS 18)"]
    bad = client.post(
        "/v1/sessions",
        json={
            "phone": customer.phone,
            "password": customer.password,
            "device_id": device_id(),
            "device_name": "<script>alert(1)</script>",
        },
    )
    assert bad.status_code == 422
