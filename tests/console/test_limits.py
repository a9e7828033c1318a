"""Limits by KYC level: viewers read, admins change them (audited), payments obey at once."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.console.factories import staff
from tests.payments.factories import customer, transfer
from zhangyin.db import Database
from zhangyin.identity import service as identity


def _levels(db: Database) -> dict[str, Any]:
    return {v.level: v for v in db.run(identity.list_level_limits)}


def _limit_entries(db: Database) -> list[Any]:
    entries = db.run(lambda s: identity.audit_log(s, limit=500))
    return [e for e in entries if e.action == "limits.update"]


def test_viewer_reads_the_limits_of_every_level(client: TestClient, db: Database) -> None:
    viewer = staff(client, db, "viewer")
    found = client.get("/v1/console/limits", headers=viewer.headers)
    assert found.status_code == 200, found.text
    assert [row["level"] for row in found.json()] == ["I", "II", "III"]
    level_two = found.json()[1]
    assert level_two == {
        "level": "II",
        "currency": "CNY",
        "per_transaction": "10000.00",
        "daily_amount": "10000.00",
        "daily_count": 20,
    }


def test_admin_changes_a_level_and_the_change_is_audited_with_before_and_after(
    client: TestClient, db: Database
) -> None:
    admin = staff(client, db, "admin")
    changed = client.put(
        "/v1/console/limits/III",
        json={"per_transaction": "1500.00", "daily_amount": "1800.50", "daily_count": 8},
        headers=admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["daily_amount"] == "1800.50"
    now = _levels(db)["III"]
    assert (now.per_transaction_minor, now.daily_amount_minor, now.daily_count) == (
        150_000,
        180_050,
        8,
    )
    [entry] = _limit_entries(db)
    assert entry.staff_id == admin.staff_id and entry.target == "kyc_level:III"
    assert entry.details["before"] == {
        "per_transaction_minor": 200_000,
        "daily_amount_minor": 200_000,
        "daily_count": 10,
    }
    assert entry.details["after"]["daily_amount_minor"] == 180_050


@pytest.mark.parametrize("role", ["viewer", "operator", "risk_analyst"])
def test_only_admins_change_limits(client: TestClient, db: Database, role: str) -> None:
    member = staff(client, db, role)
    refused = client.put(
        "/v1/console/limits/II",
        json={"per_transaction": "1.00", "daily_amount": "1.00", "daily_count": 1},
        headers=member.headers,
    )
    assert refused.status_code == 403, refused.text
    assert _levels(db)["II"].per_transaction_minor == 1_000_000
    assert _limit_entries(db) == []


def _body(per: str, daily: str, count: Any) -> dict[str, Any]:
    return {"per_transaction": per, "daily_amount": daily, "daily_count": count}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (_body("-5.00", "100.00", 5), "limits_invalid"),
        (_body("0.00", "100.00", 5), "limits_invalid"),
        (_body("10.001", "100.00", 5), "limits_invalid"),
        (_body("100.00", "99.99", 5), "limits_invalid"),
        (_body("1e3", "100.00", 5), "limits_invalid"),
        (_body("10.00", "100.00", 0), "validation_error"),
        (_body("10.00", "100.00", 2.5), "validation_error"),
        ({"per_transaction": "10.00", "daily_amount": "100.00"}, "validation_error"),
    ],
)
def test_invalid_limits_are_refused_and_nothing_changes(
    client: TestClient, db: Database, body: dict[str, Any], code: str
) -> None:
    admin = staff(client, db, "admin")
    before = _levels(db)
    refused = client.put("/v1/console/limits/II", json=body, headers=admin.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == code
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert _levels(db) == before
    assert _limit_entries(db) == []


def test_unknown_level_is_refused(client: TestClient, db: Database) -> None:
    admin = staff(client, db, "admin")
    body = {"per_transaction": "10.00", "daily_amount": "100.00", "daily_count": 5}
    refused = client.put("/v1/console/limits/IV", json=body, headers=admin.headers)
    assert refused.status_code == 422
    assert _limit_entries(db) == []


def test_a_customer_token_cannot_read_or_change_limits(client: TestClient, db: Database) -> None:
    payer = customer(client, db, deposit=None)
    assert client.get("/v1/console/limits", headers=payer.headers).status_code == 403
    body = {"per_transaction": "10.00", "daily_amount": "100.00", "daily_count": 5}
    changed = client.put("/v1/console/limits/II", json=body, headers=payer.headers)
    assert changed.status_code == 403
    assert _levels(db)["II"].per_transaction_minor == 1_000_000


def test_a_lowered_limit_refuses_the_next_transfer_without_a_restart(
    client: TestClient, db: Database
) -> None:
    admin = staff(client, db, "admin")
    payer = customer(client, db, name="张三", deposit="1000.00")
    payee = customer(client, db, name="李四", deposit=None)

    first = transfer(client, payer, payee, amount="80.00")
    assert first.status_code in (200, 201, 202), first.text

    lowered = client.put(
        "/v1/console/limits/II",
        json={"per_transaction": "50.00", "daily_amount": "5000.00", "daily_count": 20},
        headers=admin.headers,
    )
    assert lowered.status_code == 200, lowered.text

    limits = client.get("/v1/transfer-limits", headers=payer.headers)
    assert limits.json()["per_transaction"] == "50.00", limits.text
    refused = transfer(client, payer, payee, amount="80.00")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "limit_exceeded"
    assert refused.json()["limit_kind"] == "per_transaction"
    allowed = transfer(client, payer, payee, amount="30.00")
    assert allowed.status_code in (200, 201, 202), allowed.text
