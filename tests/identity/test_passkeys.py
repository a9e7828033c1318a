"""Passkeys through our endpoints, verified by the real `webauthn` package."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.identity.factories import Customer, device_id, password_login, register
from tests.identity.soft_authenticator import SoftAuthenticator
from zhangyin.db import Database
from zhangyin.identity import service
from zhangyin.identity.errors import StepUpInvalid
from zhangyin.identity.models import Passkey
from zhangyin.identity.service import StepUpBinding


def _enrol(
    client: TestClient, customer: Customer, name: str = "我的手机"
) -> tuple[SoftAuthenticator, Any]:
    authenticator = SoftAuthenticator()
    options = client.post("/v1/passkeys/registration-options", headers=customer.headers)
    assert options.status_code == 200, options.text
    created = client.post(
        "/v1/passkeys",
        json={
            "challenge_id": options.json()["challenge_id"],
            "credential": authenticator.create(options.json()["options"]),
            "name": name,
        },
        headers=customer.headers,
    )
    assert created.status_code == 201, created.text
    return authenticator, created.json()


def _login(client: TestClient, authenticator: SoftAuthenticator, device: str, **kw: Any) -> Any:
    options = client.post("/v1/passkeys/login-options").json()
    return client.post(
        "/v1/passkeys/sessions",
        json={
            "challenge_id": options["challenge_id"],
            "credential": authenticator.get(options["options"], **kw),
            "device_id": device,
        },
    )


def test_register_list_log_in_and_remove(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    authenticator, created = _enrol(client, customer)
    second, _ = _enrol(client, customer, "iPad")
    listed = client.get("/v1/passkeys", headers=customer.headers).json()
    assert [p["name"] for p in listed] == ["我的手机", "iPad"]
    stored = db.run(lambda s: s.get(Passkey, created["id"]))
    assert stored.customer_id == customer.customer_id and stored.sign_count == 0

    new_device = device_id()
    login = _login(client, authenticator, new_device)
    assert login.status_code == 201, login.text
    assert login.json()["subject_id"] == customer.customer_id
    assert login.json()["auth_methods"] == ["passkey"]
    devices = client.get("/v1/me/devices", headers=customer.headers).json()
    assert len(devices) == 2 and all(d["trusted"] for d in devices)  # passkey = two factors
    assert db.run(lambda s: s.get(Passkey, created["id"])).sign_count == 1

    removed = client.delete(f"/v1/passkeys/{created['id']}", headers=customer.headers)
    assert removed.status_code == 204
    assert _login(client, authenticator, new_device).status_code == 401
    assert _login(client, second, new_device).status_code == 201


def test_registration_from_another_origin_is_refused(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    options = client.post("/v1/passkeys/registration-options", headers=customer.headers).json()
    refused = client.post(
        "/v1/passkeys",
        json={
            "challenge_id": options["challenge_id"],
            "credential": SoftAuthenticator().create(
                options["options"], origin="https://evil.example"
            ),
        },
        headers=customer.headers,
    )
    assert refused.status_code == 401 and refused.json()["code"] == "passkey_rejected"
    assert client.get("/v1/passkeys", headers=customer.headers).json() == []


def test_registration_challenge_is_single_use_and_personal(
    client: TestClient, db: Database
) -> None:
    owner, other = register(client, db), register(client, db)
    options = client.post("/v1/passkeys/registration-options", headers=owner.headers).json()
    credential = SoftAuthenticator().create(options["options"])
    body = {"challenge_id": options["challenge_id"], "credential": credential}
    assert client.post("/v1/passkeys", json=body, headers=other.headers).status_code == 401
    assert client.post("/v1/passkeys", json=body, headers=owner.headers).status_code == 201
    assert client.post("/v1/passkeys", json=body, headers=owner.headers).status_code == 401


@pytest.mark.parametrize(
    "tamper",
    ["origin", "no_user_verification", "replayed_counter", "wrong_challenge", "bad_signature"],
)
def test_bad_assertions_are_refused(client: TestClient, db: Database, tamper: str) -> None:
    customer = register(client, db)
    authenticator, _ = _enrol(client, customer)
    assert _login(client, authenticator, device_id()).status_code == 201  # counter now 1
    options = client.post("/v1/passkeys/login-options").json()
    kwargs: dict[str, Any] = {}
    if tamper == "origin":
        kwargs["origin"] = "https://evil.example"
    if tamper == "no_user_verification":
        kwargs["user_verified"] = False
    if tamper == "replayed_counter":
        kwargs["sign_count"] = 1
    if tamper == "wrong_challenge":
        options["options"]["challenge"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    credential = authenticator.get(options["options"], **kwargs)
    if tamper == "bad_signature":
        credential["response"]["signature"] = SoftAuthenticator().get(options["options"])[
            "response"
        ]["signature"]
    refused = client.post(
        "/v1/passkeys/sessions",
        json={
            "challenge_id": options["challenge_id"],
            "credential": credential,
            "device_id": device_id(),
        },
    )
    assert refused.status_code == 401 and refused.json()["code"] == "passkey_rejected"


def test_passkey_login_challenge_is_single_use(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    authenticator, _ = _enrol(client, customer)
    options = client.post("/v1/passkeys/login-options").json()
    body = {
        "challenge_id": options["challenge_id"],
        "credential": authenticator.get(options["options"]),
        "device_id": device_id(),
    }
    assert client.post("/v1/passkeys/sessions", json=body).status_code == 201
    assert client.post("/v1/passkeys/sessions", json=body).status_code == 401


def test_passkey_step_up_signs_the_binding(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    authenticator, _ = _enrol(client, customer)
    binding = StepUpBinding("transfer", 880_000, "CNY", "6216880000000001234 李四")
    started = db.run(lambda s: service.start_step_up(s, customer.customer_id, binding))
    assert started.methods == ("sms", "passkey") and started.passkey_options is not None
    assertion = authenticator.get(started.passkey_options)
    other = StepUpBinding("transfer", 880_000, "CNY", "6216880000000009999 王五")
    with pytest.raises(StepUpInvalid):
        db.run(
            lambda s: service.verify_step_up(
                s, customer.customer_id, started.challenge_id, other, passkey_assertion=assertion
            )
        )
    db.run(
        lambda s: service.verify_step_up(
            s, customer.customer_id, started.challenge_id, binding, passkey_assertion=assertion
        )
    )
    # An assertion made for one challenge does not approve a new challenge for the same binding.
    again = db.run(lambda s: service.start_step_up(s, customer.customer_id, binding))
    with pytest.raises(StepUpInvalid):
        db.run(
            lambda s: service.verify_step_up(
                s, customer.customer_id, again.challenge_id, binding, passkey_assertion=assertion
            )
        )


def test_adding_a_passkey_or_authenticator_needs_a_recent_login(
    client: TestClient, db: Database
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from zhangyin.clock import utcnow
    from zhangyin.identity.models import AuthSession

    customer = register(client, db)
    db.run(
        lambda s: s.execute(
            update(AuthSession)
            .where(AuthSession.id == customer.tokens["session_id"])
            .values(created_at=utcnow() - timedelta(minutes=11))
        )
    )
    for path in ("/v1/passkeys/registration-options", "/v1/me/totp"):
        refused = client.post(path, headers=customer.headers)
        assert refused.status_code == 403 and refused.json()["code"] == "reauthentication_required"
    assert client.get("/v1/passkeys", headers=customer.headers).status_code == 200
    assert client.get("/v1/me", headers=customer.headers).json()["totp_enabled"] is False
    fresh = password_login(client, customer)
    allowed = client.post(
        "/v1/passkeys/registration-options",
        headers={"Authorization": f"Bearer {fresh['access_token']}"},
    )
    assert allowed.status_code == 200
