"""Builders for console tests: logged-in staff with given roles, home-page item bodies."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from zhangyin.db import Database

PASSWORD = "Zhangyin2026ok"


@dataclass
class Staff:
    staff_id: str
    username: str
    headers: dict[str, str]


def staff(client: TestClient, db: Database, *roles: str) -> Staff:
    from zhangyin.identity import service

    username = "ops" + secrets.token_hex(4)
    view = db.run(
        lambda s: service.create_staff(
            s, username=username, name="运营", password=PASSWORD, roles=list(roles)
        )
    )
    login = client.post("/v1/console/sessions", json={"username": username, "password": PASSWORD})
    assert login.status_code == 201, login.text
    return Staff(view.id, username, {"Authorization": f"Bearer {login.json()['access_token']}"})


def idem(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Idempotency-Key": uuid.uuid4().hex}


def banner(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "banner",
        "title_zh": "养老金账户开户有礼",
        "title_en": "Open a pension account",
        "image_url": "/static/banners/pension.png",
        "link": "/wealth/pension",
        "priority": 10,
    }
    body.update(overrides)
    return body


def audit_actions(db: Database) -> list[str]:
    from zhangyin.identity import service

    return [e.action for e in db.run(lambda s: service.audit_log(s, limit=500))]
