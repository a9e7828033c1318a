"""Sessions and tokens: rotation, reuse detection, logout, idle timeout, tampering, devices."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.identity.factories import login_from_new_device, register
from zhangyin.app import create_app
from zhangyin.clock import utcnow
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.identity.models import AuthSession
from zhangyin.identity.tokens import AccessClaims, TokenSigner, key_id, signing_key


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _me(client: TestClient, token: str) -> int:
    return client.get("/v1/me", headers=_bearer(token)).status_code


def test_refresh_rotates_and_reuse_ends_the_family(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    old = customer.tokens["refresh_token"]
    rotated = client.post("/v1/sessions/refresh", json={"refresh_token": old})
    assert rotated.status_code == 201, rotated.text
    new = rotated.json()
    assert new["refresh_token"] != old and new["session_id"] == customer.tokens["session_id"]
    assert _me(client, new["access_token"]) == 200

    reused = client.post("/v1/sessions/refresh", json={"refresh_token": old})
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_token_reused"
    # The thief's reuse also kills what the legitimate holder had.
    assert (
        client.post(
            "/v1/sessions/refresh", json={"refresh_token": new["refresh_token"]}
        ).status_code
        == 401
    )
    assert _me(client, new["access_token"]) == 401
    row = db.run(lambda s: s.get(AuthSession, customer.tokens["session_id"]))
    assert row.revoked_reason == "refresh_token_reused"


def test_unknown_refresh_token_is_refused(client: TestClient, db: Database) -> None:
    answer = client.post("/v1/sessions/refresh", json={"refresh_token": "zyr_" + "x" * 40})
    assert answer.status_code == 401 and answer.json()["code"] == "token_invalid"
    assert client.post("/v1/sessions/refresh", json={}).status_code == 401


def test_logout_ends_the_session(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    assert client.delete("/v1/sessions/current", headers=customer.headers).status_code == 204
    assert _me(client, customer.tokens["access_token"]) == 401
    refresh = client.post(
        "/v1/sessions/refresh", json={"refresh_token": customer.tokens["refresh_token"]}
    )
    assert refresh.status_code == 401


def test_idle_session_times_out(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    db.run(
        lambda s: s.execute(
            update(AuthSession)
            .where(AuthSession.id == customer.tokens["session_id"])
            .values(last_seen_at=utcnow() - timedelta(minutes=16))
        )
    )
    answer = client.get("/v1/me", headers=customer.headers)
    assert answer.status_code == 401 and answer.json()["code"] == "token_invalid"
    refresh = client.post(
        "/v1/sessions/refresh", json={"refresh_token": customer.tokens["refresh_token"]}
    )
    assert refresh.status_code == 401


def test_tampered_token_is_refused(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    other = register(client, db)
    header, payload, signature = customer.tokens["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = other.customer_id
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    assert _me(client, f"{header}.{forged_payload}.{signature}") == 401
    assert _me(client, f"{header}.{payload}.{signature[:-4]}AAAA") == 401
    assert _me(client, "not-a-token") == 401


def test_alg_none_and_foreign_keys_are_refused(
    client: TestClient, db: Database, settings: Settings
) -> None:
    customer = register(client, db)
    claims = jwt.decode(customer.tokens["access_token"], options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _me(client, unsigned) == 401
    assert (
        _me(client, jwt.encode(claims, "guessed-key-of-32-bytes-or-more!!", algorithm="HS256"))
        == 401
    )
    # HS256 with the raw secret key (not the derived signing key) is not accepted either.
    assert _me(client, jwt.encode(claims, settings.resolved_secret_key(), algorithm="HS256")) == 401
    # The right key but another algorithm (HS512) is refused too.
    key = hmac.new(
        settings.resolved_secret_key().encode(), b"zhangyin-access-token-v1", hashlib.sha256
    ).digest()
    kid = {"kid": key_id(key)}
    assert _me(client, jwt.encode(claims, key, algorithm="HS512", headers=kid)) == 401
    # The right key without its kid, or under another kid, is refused.
    assert _me(client, jwt.encode(claims, key, algorithm="HS256")) == 401
    assert _me(client, jwt.encode(claims, key, algorithm="HS256", headers={"kid": "0" * 16})) == 401
    assert _me(client, jwt.encode(claims, key, algorithm="HS256", headers=kid)) == 200  # control


def test_access_tokens_name_their_key_and_survive_a_rotation(
    client: TestClient, db: Database, settings: Settings
) -> None:
    customer = register(client, db)
    old_token = customer.tokens["access_token"]
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    assert old_kid == key_id(signing_key(settings.resolved_secret_key()))
    assert settings.resolved_secret_key() not in old_kid

    old_secret = settings.resolved_secret_key()
    rotated = settings.model_copy(
        update={"secret_key": "rotated-secret-key", "previous_secret_keys": f" ,{old_secret}"}
    )
    with TestClient(create_app(rotated, database=db, background_jobs=False)) as after:
        # Tokens signed before the rotation still work until they expire...
        assert _me(after, old_token) == 200
        # ...and the session goes on: its refresh gives a token under the new key.
        renewed = after.post(
            "/v1/sessions/refresh", json={"refresh_token": customer.tokens["refresh_token"]}
        )
        assert renewed.status_code == 201, renewed.text
        new_token = renewed.json()["access_token"]
        assert jwt.get_unverified_header(new_token)["kid"] != old_kid
        assert _me(after, new_token) == 200
    # Once the old key is dropped from the ring, its tokens are refused (unknown kid).
    dropped = settings.model_copy(update={"secret_key": "rotated-secret-key"})
    with TestClient(create_app(dropped, database=db, background_jobs=False)) as later:
        assert _me(later, old_token) == 401
        assert _me(later, new_token) == 200
    # A server that never had the new key does not accept its tokens either.
    assert _me(client, new_token) == 401


def test_expired_token_is_refused(client: TestClient, db: Database, settings: Settings) -> None:
    customer = register(client, db)
    signer = TokenSigner(settings.resolved_secret_key())
    claims = AccessClaims(
        "customer", customer.customer_id, customer.tokens["session_id"], None, ("pwd",)
    )
    assert _me(client, signer.issue(claims, timedelta(minutes=5))) == 200
    expired = signer.issue(claims, timedelta(seconds=-1))
    answer = client.get("/v1/me", headers=_bearer(expired))
    assert answer.status_code == 401 and answer.json()["code"] == "token_invalid"


def test_a_token_for_another_customer_session_is_refused(
    client: TestClient, db: Database, settings: Settings
) -> None:
    a, b = register(client, db), register(client, db)
    signer = TokenSigner(settings.resolved_secret_key())
    mixed = AccessClaims("customer", b.customer_id, a.tokens["session_id"], None, ("pwd",))
    assert _me(client, signer.issue(mixed, timedelta(minutes=5))) == 401


def test_revoking_a_device_ends_its_sessions_and_untrusts_it(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    phone_b = login_from_new_device(client, db, customer)
    assert _me(client, phone_b["access_token"]) == 200
    revoked = client.delete(f"/v1/me/devices/{phone_b['device_id']}", headers=customer.headers)
    assert revoked.status_code == 204
    assert _me(client, phone_b["access_token"]) == 401
    refresh = client.post("/v1/sessions/refresh", json={"refresh_token": phone_b["refresh_token"]})
    assert refresh.status_code == 401
    assert _me(client, customer.tokens["access_token"]) == 200  # the other device is untouched
    devices = client.get("/v1/me/devices", headers=customer.headers).json()
    assert [d["id"] for d in devices] == [customer.tokens["device_id"]]
    again = client.delete(f"/v1/me/devices/{phone_b['device_id']}", headers=customer.headers)
    assert again.status_code == 404


def test_cookie_session_needs_the_anti_forgery_header_for_writes(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db, login=False)
    login = client.post(
        "/v1/sessions",
        json={
            "phone": customer.phone,
            "password": customer.password,
            "device_id": customer.device_id,
        },
    )
    assert login.status_code == 201 and client.cookies.get("zy_at")
    assert client.get("/v1/me").status_code == 200  # read with the cookie alone
    forged = client.delete("/v1/sessions/current")
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_rejected"
    assert client.get("/v1/me").status_code == 200  # the forged logout did nothing
    out = client.delete("/v1/sessions/current", headers={"X-Requested-With": "zhangyin"})
    assert out.status_code == 204
    client.cookies.clear()
    reuse = client.get("/v1/me", cookies={"zy_at": login.json()["access_token"]})
    assert reuse.status_code == 401
