"""Console: staff roles and permissions, masked customer data, unlock, enterprises, audit log."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.identity.factories import (
    PASSWORD,
    id_number,
    idem,
    last_code,
    random_phone,
    register,
    row_counts,
    staff_headers,
)
from zhangyin.db import Database
from zhangyin.identity import service

USCC = "91110000600037341L"  # a valid unified social credit code (check character L)


def _audit(db: Database) -> list[service.AuditView]:
    return db.run(lambda s: service.audit_log(s))


def test_staff_login_refuses_wrong_password_and_audits(client: TestClient, db: Database) -> None:
    staff_headers(client, db, "viewer")
    wrong = client.post("/v1/console/sessions", json={"username": "nobody", "password": "x"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "login_failed"
    actions = [e.action for e in _audit(db)]
    assert "staff.login" in actions and "staff.login_failed" in actions


def test_viewer_reads_masked_customers_but_cannot_unlock(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    viewer = staff_headers(client, db, "viewer")
    found = client.get("/v1/console/customers", params={"phone": customer.phone}, headers=viewer)
    assert found.status_code == 200, found.text
    [row] = found.json()
    assert row["phone"] == f"{customer.phone[:3]}****{customer.phone[-4:]}"
    assert customer.phone not in found.text and customer.id_number not in found.text
    one = client.get(f"/v1/console/customers/{customer.customer_id}", headers=viewer)
    assert one.status_code == 200 and one.json()["name"] == "张*"
    refused = client.post(f"/v1/console/customers/{customer.customer_id}/unlock", headers=viewer)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert client.get("/v1/console/audit-log", headers=viewer).status_code == 403
    actions = [(e.action, e.target) for e in _audit(db)]
    assert ("customer.view", f"customer:{customer.customer_id}") in actions
    assert "customer.unlock" not in [a for a, _ in actions]


def test_operator_unlocks_a_locked_customer(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    for _ in range(5):
        client.post(
            "/v1/sessions",
            json={
                "phone": customer.phone,
                "password": "Wrong-123x",
                "device_id": customer.device_id,
            },
        )
    login = {"phone": customer.phone, "password": PASSWORD, "device_id": customer.device_id}
    assert client.post("/v1/sessions", json=login).status_code == 401
    operator = staff_headers(client, db, "operator")
    unlocked = client.post(f"/v1/console/customers/{customer.customer_id}/unlock", headers=operator)
    assert unlocked.status_code == 200 and unlocked.json()["locked_until"] is None
    assert client.post("/v1/sessions", json=login).status_code == 201
    [entry] = [e for e in _audit(db) if e.action == "customer.unlock"]
    assert entry.target == f"customer:{customer.customer_id}" and entry.staff_id


def test_sms_outbox_shows_masked_phones_and_codes(client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    operator = staff_headers(client, db, "operator")
    outbox = client.get(
        "/v1/console/sms-outbox", params={"phone": customer.phone}, headers=operator
    )
    assert outbox.status_code == 200
    assert outbox.json() and all(
        "******" in m["text"] for m in outbox.json() if "验证码" in m["text"]
    )
    assert customer.phone not in outbox.text


def test_admin_changes_kyc_level_and_limits_follow(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    admin = staff_headers(client, db, "admin")
    assert (
        client.get("/v1/me/limits", headers=customer.headers).json()["daily_amount"] == "10000.00"
    )
    changed = client.put(
        f"/v1/console/customers/{customer.customer_id}/kyc-level",
        json={"kyc_level": "I"},
        headers=admin,
    )
    assert changed.status_code == 200 and changed.json()["kyc_level"] == "I"
    assert (
        client.get("/v1/me/limits", headers=customer.headers).json()["daily_amount"] == "200000.00"
    )
    [entry] = [e for e in _audit(db) if e.action == "customer.kyc_level"]
    assert entry.details == {"from": "II", "to": "I"}
    risk = staff_headers(client, db, "risk_analyst")
    refused = client.put(
        f"/v1/console/customers/{customer.customer_id}/kyc-level",
        json={"kyc_level": "III"},
        headers=risk,
    )
    assert refused.status_code == 403


def test_enterprise_and_its_operator_are_identities(client: TestClient, db: Database) -> None:
    operator_staff = staff_headers(client, db, "operator")
    bad = client.post(
        "/v1/console/enterprises",
        json={"name": "掌银科技有限公司", "uscc": USCC[:-1] + "0"},
        headers={**operator_staff, **idem()},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_uscc"
    created = client.post(
        "/v1/console/enterprises",
        json={"name": "掌银科技有限公司", "uscc": USCC},
        headers={**operator_staff, **idem()},
    )
    assert created.status_code == 201, created.text
    enterprise = created.json()
    dup = client.post(
        "/v1/console/enterprises",
        json={"name": "另一家", "uscc": USCC},
        headers={**operator_staff, **idem()},
    )
    assert dup.status_code == 409
    phone = random_phone()
    added = client.post(
        f"/v1/console/enterprises/{enterprise['id']}/operators",
        json={"phone": phone, "name": "钱七", "id_number": id_number(), "role": "maker"},
        headers={**operator_staff, **idem()},
    )
    assert added.status_code == 201, added.text
    assert added.json()["kind"] == "enterprise_operator"
    assert added.json()["enterprise_id"] == enterprise["id"]
    # The operator sets a password through the SMS reset and logs in.
    client.post("/v1/sms-codes", json={"phone": phone, "purpose": "reset_password"})
    view = db.run(lambda s: service.get_customer(s, added.json()["id"]))
    number = db.run(lambda s: service.reveal_id_number(s, view.id))
    reset = client.post(
        "/v1/password-resets",
        json={
            "phone": phone,
            "sms_code": last_code(db, phone),
            "id_number": number,
            "new_password": "Operator2026x",
        },
    )
    assert reset.status_code == 204
    login = client.post(
        "/v1/sessions",
        json={"phone": phone, "password": "Operator2026x", "device_id": "dev-op-0001"},
    )
    assert login.json()["code"] == "second_factor_required"


def test_only_admin_creates_staff(client: TestClient, db: Database) -> None:
    body = {"username": "new.staff", "name": "孙八", "password": PASSWORD, "roles": ["viewer"]}
    operator = staff_headers(client, db, "operator")
    assert client.post("/v1/console/staff", json=body, headers=operator).status_code == 403
    admin = staff_headers(client, db, "admin")
    created = client.post("/v1/console/staff", json=body, headers=admin)
    assert created.status_code == 201 and created.json()["roles"] == ["viewer"]
    assert client.post("/v1/console/staff", json=body, headers=admin).status_code == 409


def test_staff_token_is_not_a_customer_token(client: TestClient, db: Database) -> None:
    admin = staff_headers(client, db, "admin")
    answer = client.get("/v1/me", headers=admin)
    assert answer.status_code == 403


def test_audit_log_is_append_only_in_the_database(client: TestClient, db: Database) -> None:
    staff_headers(client, db, "viewer")
    before = _audit(db)
    assert before
    for statement in (
        "UPDATE identity_audit_log SET action = 'nothing'",
        "DELETE FROM identity_audit_log",
    ):
        with pytest.raises(DBAPIError):
            db.run(lambda s, sql=statement: s.execute(text(sql)))
    assert _audit(db) == before


def test_console_logout(client: TestClient, db: Database) -> None:
    admin = staff_headers(client, db, "admin")
    assert client.delete("/v1/console/sessions/current", headers=admin).status_code == 204
    assert client.get("/v1/console/audit-log", headers=admin).status_code == 401
    assert row_counts(db)["identity_staff"] == 1


def test_staff_with_an_authenticator_needs_its_code(client: TestClient, db: Database) -> None:
    import pyotp

    from zhangyin.identity import staff
    from zhangyin.identity.policy import IdentityPolicy

    staff_headers(client, db, "viewer")  # someone else, without an authenticator
    db.run(
        lambda s: staff.create_staff(
            s, username="otp.user", name="周九", password=PASSWORD, roles=["admin"]
        )
    )
    enrolment = db.run(lambda s: staff.enrol_totp(s, "otp.user"))
    totp = pyotp.TOTP(enrolment.secret)
    login = {"username": "otp.user", "password": PASSWORD}
    assert client.post("/v1/console/sessions", json=login).status_code == 401
    code = totp.now()
    ok = client.post("/v1/console/sessions", json={**login, "totp_code": code})
    assert ok.status_code == 201 and ok.json()["auth_methods"] == ["pwd", "otp"]
    replay = client.post("/v1/console/sessions", json={**login, "totp_code": code})
    assert replay.status_code == 401  # a code logs in once

    client.app.state.identity_policy = IdentityPolicy(staff_totp_required=True)  # type: ignore[attr-defined]
    username = [e.target for e in _audit(db) if e.action == "staff.login"][-1]
    assert username.startswith("staff:")
    no_otp = db.run(
        lambda s: staff.create_staff(
            s, username="plain.user", name="吴十", password=PASSWORD, roles=["viewer"]
        )
    )
    refused = client.post(
        "/v1/console/sessions", json={"username": "plain.user", "password": PASSWORD}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "staff_totp_not_enrolled"
    assert not no_otp.totp_enabled
