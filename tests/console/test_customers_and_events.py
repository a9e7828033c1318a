"""Customer 360 (masked), the audited reveal, permissions; event ingestion; dashboards + export."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.console.factories import audit_actions, staff
from tests.identity.factories import register
from zhangyin.analytics import service as analytics
from zhangyin.db import Database

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@SQLITE
def test_360_is_masked_and_reveal_is_permission_checked_and_audited(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    viewer = staff(client, db, "viewer")
    analyst = staff(client, db, "risk_analyst")

    hits = client.get(
        "/v1/console/customer-search", params={"q": customer.phone}, headers=viewer.headers
    )
    assert hits.status_code == 200, hits.text
    assert hits.json()[0]["phone_masked"] == customer.phone[:3] + "****" + customer.phone[-4:]
    by_account = client.get(
        "/v1/console/customer-search",
        params={"q": customer.account["number"]},
        headers=viewer.headers,
    )
    assert [h["id"] for h in by_account.json()] == [customer.customer_id]

    detail = client.get(f"/v1/console/customers/{customer.customer_id}/360", headers=viewer.headers)
    assert detail.status_code == 200, detail.text
    assert customer.phone not in detail.text and customer.id_number not in detail.text

    refused = client.post(
        f"/v1/console/customers/{customer.customer_id}/reveal",
        json={"reason": "客户来电核实身份"},
        headers=viewer.headers,
    )
    assert refused.status_code == 403
    assert "customer.reveal" not in audit_actions(db)

    revealed = client.post(
        f"/v1/console/customers/{customer.customer_id}/reveal",
        json={"reason": "客户来电核实身份"},
        headers=analyst.headers,
    )
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["id_number"] == customer.id_number
    assert revealed.json()["phone"] == customer.phone
    assert "customer.reveal" in audit_actions(db)

    bad = client.get("/v1/console/customer-search", params={"q": "abc"}, headers=viewer.headers)
    assert bad.status_code == 422


def _event(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "id": uuid.uuid4().hex,
        "type": "screen_view",
        "name": "home",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    body.update(overrides)
    return body


def test_ingestion_is_batched_deduplicated_and_attributed(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    before = db.run(analytics.count_events)
    batch = {"events": [_event(), _event(type="feature_use", name="transfer")]}
    first = client.post("/v1/analytics/events", json=batch, headers=customer.headers)
    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": 2, "duplicates": 0, "attributed": True}
    again = client.post("/v1/analytics/events", json=batch, headers=customer.headers)
    assert again.json()["duplicates"] == 2
    anonymous = client.post("/v1/analytics/events", json={"events": [_event(name="login")]})
    assert anonymous.json()["attributed"] is False
    assert db.run(analytics.count_events) == before + 3
    hashed = analytics.customer_hash(
        customer.customer_id, client.app.state.settings.resolved_secret_key()
    )  # type: ignore[attr-defined]
    activity = db.run(lambda s: analytics.customer_activity(s, hashed))
    assert {a["name"] for a in activity} >= {"home", "transfer"}


BAD_BATCHES = [
    {"events": []},
    {"events": [_event() for _ in range(101)]},
    {"events": [_event(type="transaction")]},  # the app cannot claim transactions
    {"events": [_event(name="Bad Name!")]},
    {"events": [_event(occurred_at="2026-01-01T00:00:00")]},  # naive
    {"events": [_event(occurred_at=(datetime.now(UTC) - timedelta(days=30)).isoformat())]},
    {"events": [_event(customer_id="someone-else")]},
    {"events": "nope"},
]


@SQLITE
def test_bad_event_batches_store_nothing(client: TestClient, db: Database) -> None:
    before = db.run(analytics.count_events)
    for batch in BAD_BATCHES:
        response = client.post("/v1/analytics/events", json=batch)
        assert 400 <= response.status_code < 500, (batch, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    garbage = client.post(
        "/v1/analytics/events", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert garbage.status_code == 400
    assert db.run(analytics.count_events) == before


@SQLITE
def test_dashboard_overview_breakdown_and_export(client: TestClient, db: Database) -> None:
    from openpyxl import load_workbook

    from tests.analytics.factories import MONDAY, week_of_events

    db.run(lambda s: analytics.record_events(s, week_of_events()))
    analytics.aggregate(db, MONDAY - timedelta(days=7), MONDAY + timedelta(days=6))
    viewer = staff(client, db, "viewer")
    span = {"start": str(MONDAY), "end": str(MONDAY + timedelta(days=6))}
    overview = client.get("/v1/console/analytics/overview", params=span, headers=viewer.headers)
    assert overview.status_code == 200, overview.text
    body = overview.json()
    assert body["current"]["figures"]["customers.registered"] == 3
    assert body["previous"]["figures"]["customers.registered"] == 0
    assert body["current"]["figures"]["substitution_rate"] == 0.5
    elder = client.get(
        "/v1/console/analytics/overview",
        params={**span, "segment": "elder"},
        headers=viewer.headers,
    ).json()
    assert elder["current"]["figures"]["customers.registered"] == 1
    by_channel = client.get(
        "/v1/console/analytics/breakdown",
        params={**span, "metric": "tx.count", "dimension": "channel"},
        headers=viewer.headers,
    )
    assert {r["key"]: r["value"] for r in by_channel.json()} == {"app": 1, "counter": 1}
    csv_file = client.get(
        "/v1/console/analytics/export",
        params={**span, "report": "breakdown", "metric": "tx.count", "dimension": "channel"},
        headers=viewer.headers,
    )
    assert csv_file.status_code == 200
    assert csv_file.text.lstrip("\ufeff").splitlines()[0] == "channel,tx.count"
    xlsx = client.get(
        "/v1/console/analytics/export",
        params={**span, "report": "funnel", "format": "xlsx"},
        headers=viewer.headers,
    )
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    assert [c.value for c in sheet[2]] == ["registered", 3]
    assert "analytics.export" in audit_actions(db)
    bad = client.get(
        "/v1/console/analytics/overview",
        params={"start": span["end"], "end": span["start"]},
        headers=viewer.headers,
    )
    assert bad.status_code == 422
