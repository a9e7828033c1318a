"""PATCH /v1/me: elder mode and language live on the server, so every phone applies them."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.identity.factories import login_from_new_device, register
from zhangyin.db import Database
from zhangyin.events import OutboxEvent
from zhangyin.identity.models import Customer


def _events(db: Database, customer_id: str) -> list[dict[str, Any]]:
    rows = db.run(
        lambda s: s.scalars(
            select(OutboxEvent)
            .where(
                OutboxEvent.event_type == "identity.preferences_changed",
                OutboxEvent.aggregate_id == customer_id,
            )
            .order_by(OutboxEvent.id)
        ).all()
    )
    return [r.payload for r in rows]


def test_defaults_then_a_change_shows_on_get_and_on_another_device(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    me = client.get("/v1/me", headers=customer.headers).json()
    assert me["elder_mode"] is False and me["language"] == "zh-CN"

    changed = client.patch("/v1/me", json={"elder_mode": True}, headers=customer.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["elder_mode"] is True and changed.json()["language"] == "zh-CN"
    both = client.patch(
        "/v1/me", json={"elder_mode": True, "language": "en-US"}, headers=customer.headers
    )
    assert both.json()["elder_mode"] is True and both.json()["language"] == "en-US"

    # A new login on another phone sees what the customer chose.
    other = login_from_new_device(client, db, customer)
    seen = client.get("/v1/me", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert seen.json()["elder_mode"] is True and seen.json()["language"] == "en-US"
    # One event per real change; a PATCH that changes nothing emits none.
    assert _events(db, customer.customer_id) == [{"elder_mode": True}, {"language": "en-US"}]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"elder_mode": None},
        {"language": None},
        {"elder_mode": "true"},
        {"elder_mode": 1},
        {"language": "fr-FR"},
        {"language": "zh-cn"},
        {"language": "en-US", "theme": "dark"},
        {"elder_mode": True, "phone": "13900000000"},
    ],
)
def test_bad_input_is_422_and_changes_nothing(
    client: TestClient, db: Database, body: dict[str, Any]
) -> None:
    customer = register(client, db)
    answer = client.patch("/v1/me", json=body, headers=customer.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    row = db.run(lambda s: s.get(Customer, customer.customer_id))
    assert (row.elder_mode, row.language, row.phone) == (False, "zh-CN", customer.phone)
    assert _events(db, customer.customer_id) == []


def test_needs_a_customer_and_changes_only_the_caller(client: TestClient, db: Database) -> None:
    a, b = register(client, db), register(client, db)
    assert client.patch("/v1/me", json={"elder_mode": True}).status_code == 401
    assert client.patch("/v1/me", json={"elder_mode": True}, headers=b.headers).status_code == 200
    assert client.get("/v1/me", headers=a.headers).json()["elder_mode"] is False
