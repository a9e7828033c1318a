"""App home configuration: draft → approval → live in GET /v1/app/home-config, with
targeting and schedule; four-eyes approval; a viewer can change nothing; all audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.console.factories import audit_actions, banner, idem, staff
from zhangyin.console.models import HomeItem
from zhangyin.db import Database


def _count(db: Database) -> int:
    return int(db.run(lambda s: s.scalar(select(func.count()).select_from(HomeItem))))


def _draft_and_submit(client: TestClient, headers: dict[str, str], body: dict) -> dict:
    created = client.post("/v1/console/home-items", json=body, headers=idem(headers))
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["status"] == "draft"
    submitted = client.post(
        f"/v1/console/home-items/{item['id']}/submit",
        json={"version": item["version"]},
        headers=headers,
    )
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "pending_approval"
    return dict(submitted.json())


def test_published_banner_reaches_the_app_only_after_approval(
    client: TestClient, db: Database
) -> None:
    operator = staff(client, db, "operator")
    admin = staff(client, db, "admin")
    item = _draft_and_submit(client, operator.headers, banner())

    before = client.get("/v1/app/home-config")
    assert before.status_code == 200
    assert before.json()["banners"] == []  # pending is not live

    # The operator may edit but not publish.
    refused = client.post(
        f"/v1/console/home-items/{item['id']}/approve",
        json={"version": item["version"]},
        headers=operator.headers,
    )
    assert refused.status_code == 403

    approved = client.post(
        f"/v1/console/home-items/{item['id']}/approve",
        json={"version": item["version"], "note": "ok"},
        headers=admin.headers,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "live"

    home = client.get("/v1/app/home-config", headers={"Accept-Language": "en-US"})
    assert [b["title"] for b in home.json()["banners"]] == ["Open a pension account"]
    zh = client.get("/v1/app/home-config").json()
    assert zh["banners"][0]["title"] == "养老金账户开户有礼"

    withdrawn = client.post(
        f"/v1/console/home-items/{item['id']}/withdraw",
        json={"version": approved.json()["version"]},
        headers=operator.headers,
    )
    assert withdrawn.status_code == 200
    assert client.get("/v1/app/home-config").json()["banners"] == []

    actions = audit_actions(db)
    for action in ("home.create", "home.submit", "home.approve", "home.withdraw"):
        assert action in actions


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_targeting_by_elder_mode_segment_and_schedule(client: TestClient, db: Database) -> None:
    operator = staff(client, db, "operator")
    admin = staff(client, db, "admin")
    now = datetime.now(UTC)
    bodies = [
        banner(title_zh="关怀版大字", elder_mode="only"),
        banner(title_zh="青年专享", segments=["youth"]),
        banner(title_zh="下周活动", starts_at=(now + timedelta(days=7)).isoformat()),
        {"kind": "shortcuts", "title_zh": "快捷顺序", "shortcuts": ["transfer", "bills", "qr"]},
        {"kind": "notice", "title_zh": "系统维护通知", "body_zh": "周日凌晨维护"},
    ]
    for body in bodies:
        item = _draft_and_submit(client, operator.headers, body)
        ok = client.post(
            f"/v1/console/home-items/{item['id']}/approve",
            json={"version": item["version"]},
            headers=admin.headers,
        )
        assert ok.status_code == 200, ok.text

    plain = client.get("/v1/app/home-config").json()
    assert [b["title"] for b in plain["banners"]] == []
    assert plain["shortcuts"] == ["transfer", "bills", "qr"]
    assert [n["title"] for n in plain["notices"]] == ["系统维护通知"]
    elder = client.get("/v1/app/home-config", params={"elder_mode": "true"}).json()
    assert [b["title"] for b in elder["banners"]] == ["关怀版大字"]
    youth = client.get("/v1/app/home-config", params={"segment": "youth"}).json()
    assert [b["title"] for b in youth["banners"]] == ["青年专享"]

    # The console previews a draft as the app would show it, without publishing it.
    draft = client.post(
        "/v1/console/home-items", json=banner(title_zh="草稿"), headers=idem(operator.headers)
    ).json()
    preview = client.get(
        "/v1/console/home-preview", params={"item_id": draft["id"]}, headers=operator.headers
    )
    assert [b["title"] for b in preview.json()["banners"]] == ["草稿"]
    assert client.get("/v1/app/home-config").json()["banners"] == []


def test_submitter_cannot_approve_own_change(client: TestClient, db: Database) -> None:
    admin = staff(client, db, "admin")
    item = _draft_and_submit(client, admin.headers, banner())
    refused = client.post(
        f"/v1/console/home-items/{item['id']}/approve",
        json={"version": item["version"]},
        headers=admin.headers,
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "self_approval_refused"
    still = client.get(f"/v1/console/home-items/{item['id']}", headers=admin.headers).json()
    assert still["status"] == "pending_approval"
    assert "home.approve" not in audit_actions(db)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_viewer_can_read_but_not_draft_or_publish(client: TestClient, db: Database) -> None:
    operator = staff(client, db, "operator")
    viewer = staff(client, db, "viewer")
    item = _draft_and_submit(client, operator.headers, banner())
    rows = _count(db)
    assert client.get("/v1/console/home-items", headers=viewer.headers).status_code == 200
    assert (
        client.post(
            "/v1/console/home-items", json=banner(), headers=idem(viewer.headers)
        ).status_code
        == 403
    )
    approve = client.post(
        f"/v1/console/home-items/{item['id']}/approve",
        json={"version": item["version"]},
        headers=viewer.headers,
    )
    assert approve.status_code == 403
    assert _count(db) == rows
    got = client.get(f"/v1/console/home-items/{item['id']}", headers=viewer.headers).json()
    assert got["status"] == "pending_approval"


BAD_ITEMS = [
    banner(image_url=""),  # a banner needs a picture
    banner(link="javascript:alert(1)"),
    banner(segments=["martians"]),
    banner(unknown="x"),
    banner(priority="10"),
    banner(starts_at="2026-05-01T00:00:00+00:00", ends_at="2026-04-01T00:00:00+00:00"),
    banner(starts_at="2026-05-01T00:00:00"),  # naive time
    {"kind": "shortcuts", "title_zh": "x", "shortcuts": ["a", "a"]},
    banner(title_zh=""),
]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_bad_home_items_are_refused_and_nothing_is_stored(client: TestClient, db: Database) -> None:
    operator = staff(client, db, "operator")
    for body in BAD_ITEMS:
        response = client.post("/v1/console/home-items", json=body, headers=idem(operator.headers))
        assert 400 <= response.status_code < 500, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert _count(db) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_stale_version_is_a_conflict(client: TestClient, db: Database) -> None:
    operator = staff(client, db, "operator")
    created = client.post(
        "/v1/console/home-items", json=banner(), headers=idem(operator.headers)
    ).json()
    first = client.put(
        f"/v1/console/home-items/{created['id']}",
        json={**banner(title_zh="改一"), "version": 1},
        headers=operator.headers,
    )
    assert first.status_code == 200
    second = client.put(
        f"/v1/console/home-items/{created['id']}",
        json={**banner(title_zh="改二"), "version": 1},
        headers=operator.headers,
    )
    assert second.status_code == 409
    got = client.get(f"/v1/console/home-items/{created['id']}", headers=operator.headers)
    assert got.json()["title_zh"] == "改一"
