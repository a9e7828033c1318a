"""Staff users and roles in the console: admins list, create, re-role and disable; audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.console.factories import PASSWORD, audit_actions, staff
from tests.identity.factories import register
from zhangyin.db import Database
from zhangyin.identity import staff as staff_accounts


def _member(db: Database, staff_id: str) -> staff_accounts.StaffView:
    found = db.run(lambda s: staff_accounts.get_staff(s, staff_id))
    assert found is not None
    return found


def test_admin_lists_staff_with_roles_and_last_login(client: TestClient, db: Database) -> None:
    admin = staff(client, db, "admin")
    viewer = staff(client, db, "viewer")
    never = db.run(
        lambda s: staff_accounts.create_staff(
            s, username="zz-never", name="未登录", password=PASSWORD, roles=["operator"]
        )
    )
    listed = client.get("/v1/console/staff", headers=admin.headers)
    assert listed.status_code == 200, listed.text
    rows = {r["id"]: r for r in listed.json()}
    assert rows[viewer.staff_id]["roles"] == ["viewer"] and rows[viewer.staff_id]["active"]
    assert rows[viewer.staff_id]["username"] == viewer.username
    assert rows[viewer.staff_id]["last_login_at"] is not None
    assert rows[never.id]["last_login_at"] is None
    assert "password" not in listed.text and "totp_secret" not in listed.text


def test_admin_creates_a_staff_member_who_can_log_in(client: TestClient, db: Database) -> None:
    admin = staff(client, db, "admin")
    body = {"username": "new.ops", "name": "新同事", "password": PASSWORD, "roles": ["operator"]}
    created = client.post("/v1/console/staff", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    login = client.post("/v1/console/sessions", json={"username": "new.ops", "password": PASSWORD})
    assert login.status_code == 201
    assert "staff.create" in audit_actions(db)


def test_admin_changes_roles_and_the_next_request_uses_them(
    client: TestClient, db: Database
) -> None:
    admin = staff(client, db, "admin")
    member = staff(client, db, "viewer")
    assert client.get("/v1/console/home-items", headers=member.headers).status_code == 200
    changed = client.put(
        f"/v1/console/staff/{member.staff_id}/roles",
        json={"roles": ["risk_analyst"]},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["risk_analyst"]
    assert _member(db, member.staff_id).roles == ("risk_analyst",)
    # home.read was the viewer's; the same token is now judged by the new role.
    assert client.get("/v1/console/home-items", headers=member.headers).status_code == 403
    entries = db.run(lambda s: staff_accounts.audit_log(s, limit=50))
    [entry] = [e for e in entries if e.action == "staff.roles"]
    assert entry.staff_id == admin.staff_id and entry.target == f"staff:{member.staff_id}"
    assert entry.details == {"before": ["viewer"], "after": ["risk_analyst"]}


def test_admin_disables_a_member_whose_session_ends_and_login_fails(
    client: TestClient, db: Database
) -> None:
    admin = staff(client, db, "admin")
    member = staff(client, db, "operator")
    disabled = client.post(f"/v1/console/staff/{member.staff_id}/disable", headers=admin.headers)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json()["active"] is False
    assert client.get("/v1/console/me", headers=member.headers).status_code == 401
    login = client.post(
        "/v1/console/sessions", json={"username": member.username, "password": PASSWORD}
    )
    assert login.status_code == 401
    assert "staff.disable" in audit_actions(db)


def test_an_admin_cannot_lock_themselves_out(client: TestClient, db: Database) -> None:
    admin = staff(client, db, "admin")
    demoted = client.put(
        f"/v1/console/staff/{admin.staff_id}/roles",
        json={"roles": ["viewer"]},
        headers=admin.headers,
    )
    assert demoted.status_code == 409, demoted.text
    assert demoted.json()["code"] == "self_lockout_refused"
    disabled = client.post(f"/v1/console/staff/{admin.staff_id}/disable", headers=admin.headers)
    assert disabled.status_code == 409
    assert _member(db, admin.staff_id).roles == ("admin",)
    assert _member(db, admin.staff_id).active
    # Adding a role to oneself while keeping admin is fine.
    kept = client.put(
        f"/v1/console/staff/{admin.staff_id}/roles",
        json={"roles": ["admin", "risk_analyst"]},
        headers=admin.headers,
    )
    assert kept.status_code == 200, kept.text
    assert not {"staff.disable"} & set(audit_actions(db))


@pytest.mark.parametrize("role", ["viewer", "operator", "risk_analyst"])
def test_only_admins_manage_staff(client: TestClient, db: Database, role: str) -> None:
    member = staff(client, db, role)
    other = staff(client, db, "viewer")
    assert client.get("/v1/console/staff", headers=member.headers).status_code == 403
    roles = client.put(
        f"/v1/console/staff/{other.staff_id}/roles",
        json={"roles": ["admin"]},
        headers=member.headers,
    )
    assert roles.status_code == 403
    off = client.post(f"/v1/console/staff/{other.staff_id}/disable", headers=member.headers)
    assert off.status_code == 403
    assert _member(db, other.staff_id).roles == ("viewer",) and _member(db, other.staff_id).active
    assert not {"staff.roles", "staff.disable"} & set(audit_actions(db))


def test_bad_input_and_unknown_staff(client: TestClient, db: Database) -> None:
    admin = staff(client, db, "admin")
    member = staff(client, db, "viewer")
    url = f"/v1/console/staff/{member.staff_id}/roles"
    for body in ({"roles": []}, {"roles": ["root"]}, {"roles": ["viewer"], "extra": 1}, {}):
        refused = client.put(url, json=body, headers=admin.headers)
        assert refused.status_code == 422, (body, refused.text)
    assert _member(db, member.staff_id).roles == ("viewer",)
    missing = "00000000-0000-0000-0000-000000000000"
    gone = client.put(
        f"/v1/console/staff/{missing}/roles", json={"roles": ["viewer"]}, headers=admin.headers
    )
    assert gone.status_code == 404 and gone.json()["code"] == "staff_not_found"
    off = client.post(f"/v1/console/staff/{missing}/disable", headers=admin.headers)
    assert off.status_code == 404


def test_a_customer_token_cannot_manage_staff(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    member = staff(client, db, "viewer")
    assert client.get("/v1/console/staff", headers=customer.headers).status_code == 403
    off = client.post(f"/v1/console/staff/{member.staff_id}/disable", headers=customer.headers)
    assert off.status_code == 403
    assert _member(db, member.staff_id).active
