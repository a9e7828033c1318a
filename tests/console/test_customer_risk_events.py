"""Risk events in the customer 360: the customer's decisions and cases, newest first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.console.factories import audit_actions, staff
from tests.identity.factories import register
from tests.risk.factories import NOON, assess, complete, ctx
from zhangyin.db import Database
from zhangyin.risk import cases, watchlist
from zhangyin.risk import service as risk

NIGHT = datetime(2026, 11, 16, 17, 30, tzinfo=UTC)  # 01:30 Beijing time, two days before NOON


@pytest.fixture(autouse=True)
def risk_engine() -> Iterator[None]:
    # Its own engine per test (no cached rules across databases) with a generous time
    # budget, so a stall on the shared machine does not turn a decision into a fail-safe.
    risk.configure(risk.RiskEngine(risk.EngineConfig(version_check_seconds=0, budget_ms=30_000)))
    yield
    risk.configure(None)


def _decisions(db: Database, customer_id: str) -> dict[str, risk.RiskDecision]:
    """An allowed payment, a challenged one at night, a held account takeover (with a case)."""
    allowed = assess(db, ctx(customer_id=customer_id, occurred_at=NOON - timedelta(days=3)))
    complete(db, allowed, reference="tr-allowed")
    challenged = assess(
        db,
        ctx(
            customer_id=customer_id,
            amount_minor=800_000,
            payee_account_number="6222020200098765432",
            occurred_at=NIGHT,
        ),
    )
    held = assess(
        db,
        ctx(
            customer_id=customer_id,
            amount_minor=300_000,
            device_id="dev-new",
            device_first_seen_at=NOON - timedelta(hours=1),
            last_password_change_at=NOON - timedelta(hours=10),
        ),
    )
    found = {"allow": allowed, "challenge": challenged, "hold": held}
    assert {k: d.outcome for k, d in found.items()} == {k: k for k in found}
    return found


def test_360_lists_the_customers_risk_events_newest_first(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    other = register(client, db)
    mine = _decisions(db, customer.customer_id)
    theirs = assess(db, ctx(customer_id=other.customer_id, occurred_at=NOON + timedelta(hours=1)))
    viewer = staff(client, db, "viewer")

    response = client.get(
        f"/v1/console/customers/{customer.customer_id}/360", headers=viewer.headers
    )

    assert response.status_code == 200, response.text
    events = response.json()["risk_events"]
    assert [e["decision_id"] for e in events] == [
        mine["hold"].decision_id,
        mine["challenge"].decision_id,
        mine["allow"].decision_id,
    ]
    held, challenged, allowed = events
    assert (held["outcome"], held["operation"], held["amount"], held["currency"]) == (
        "hold",
        "transfer",
        "3000.00",
        "CNY",
    )
    assert [c["kind"] for c in held["cases"]] == ["hold"]
    assert held["cases"][0]["status"] == "open"
    assert held["failsafe"] is False
    assert challenged["reasons"][0]["code"] == "new_payee_night_large"
    assert "夜间" in challenged["reasons"][0]["message_zh"]
    assert challenged["reasons"][0]["message_en"]
    assert challenged["cases"] == []
    assert (allowed["outcome"], allowed["reasons"], allowed["cases"]) == ("allow", [], [])
    assert (allowed["reference"], allowed["status"]) == ("tr-allowed", "completed")
    assert allowed["amount"] == "200.00"
    # No payee, device or IP in the risk events.
    assert "6222020200098765432" not in response.text and "dev-new" not in response.text
    assert "customer.view_360" in audit_actions(db)

    other_view = client.get(
        f"/v1/console/customers/{other.customer_id}/360", headers=viewer.headers
    ).json()
    assert [e["decision_id"] for e in other_view["risk_events"]] == [theirs.decision_id]


def test_a_case_opened_without_a_decision_is_listed_as_its_own_event(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    payer_account = "6222020200011112222"

    db.run(
        lambda s: watchlist.add_entry(
            s,
            list_name="fraud_accounts",
            name="王五",
            account_number=payer_account,
            reason="涉诈账户",
            added_by="test",
        )
    )
    matches = db.run(
        lambda s: cases.screen_incoming_credit(
            s,
            customer_id=customer.customer_id,
            payer_name="王五",
            payer_account_number=payer_account,
            amount_minor=150_000,
            currency="CNY",
            reference="tr-incoming",
        )
    )
    assert matches
    viewer = staff(client, db, "viewer")

    events = client.get(
        f"/v1/console/customers/{customer.customer_id}/360", headers=viewer.headers
    ).json()["risk_events"]

    assert len(events) == 1
    event = events[0]
    assert (event["decision_id"], event["operation"], event["outcome"]) == (None, None, None)
    assert (event["amount"], event["reference"]) == ("1500.00", "tr-incoming")
    assert [(c["kind"], c["status"]) for c in event["cases"]] == [("incoming_watchlist", "open")]
    assert payer_account not in str(event)


def test_customer_tokens_and_strangers_cannot_read_the_360(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    _decisions(db, customer.customer_id)
    url = f"/v1/console/customers/{customer.customer_id}/360"

    as_customer = client.get(url, headers=customer.headers)
    assert as_customer.status_code in (401, 403)
    assert "risk_events" not in as_customer.text
    assert client.get(url).status_code == 401
    unknown = client.get(
        "/v1/console/customers/no-such-customer/360", headers=staff(client, db, "viewer").headers
    )
    assert unknown.status_code == 404
    assert "customer.view_360" not in audit_actions(db)


def test_limit_keeps_the_newest(db: Database) -> None:
    for days in range(4):
        assess(db, ctx(customer_id="cust-limit", occurred_at=NOON - timedelta(days=days)))
    events = db.run(lambda s: risk.customer_risk_events(s, "cust-limit", limit=2))
    assert [e.occurred_at for e in events] == [NOON, NOON - timedelta(days=1)]
