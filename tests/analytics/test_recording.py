"""Server-side events reach analytics through the outbox; the demo history looks like a bank."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.analytics.factories import at
from tests.identity.factories import register
from tests.statements import counted
from zhangyin.analytics import service
from zhangyin.analytics.demo import generate
from zhangyin.analytics.metrics import from_epoch_day
from zhangyin.analytics.models import AnalyticsEvent
from zhangyin.db import Database
from zhangyin.events import OutboxDispatcher


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_registration_and_login_are_recorded_once_under_a_hashed_id(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    dispatcher = OutboxDispatcher(db, client.app.state.publisher)  # type: ignore[attr-defined]
    asyncio.run(dispatcher.drain())
    key = client.app.state.settings.resolved_secret_key()  # type: ignore[attr-defined]
    hashed = service.customer_hash(customer.customer_id, key)
    kinds = sorted(a["event_type"] for a in db.run(lambda s: service.customer_activity(s, hashed)))
    assert kinds == ["login", "register", "sign"]
    # The raw customer id is nowhere in the event table.
    ids = db.run(lambda s: list(s.scalars(select(AnalyticsEvent.customer_hash).distinct())))
    assert customer.customer_id not in ids and hashed in ids
    # A redelivered outbox event (same message id) is not recorded twice.
    before = db.run(service.count_events)
    asyncio.run(dispatcher.drain())
    assert db.run(service.count_events) == before


def test_demo_history_has_salary_days_churn_counter_and_a_little_fraud() -> None:
    events = generate(300, end=date(2026, 10, 31), seed=1)
    cols = events.columns
    logins = cols["event_type"] == "login"
    days = np.array([from_epoch_day(int(d)).day for d in cols["day"][logins]])
    per_day = {d: int((days == d).sum()) for d in range(1, 29)}
    ordinary = np.median([per_day[d] for d in per_day if d not in (10, 25)])
    assert per_day[10] > 1.3 * ordinary and per_day[25] > 1.3 * ordinary
    tx = cols["event_type"] == "transaction"
    channels = set(cols["channel"][tx])
    assert {"app", "counter"} <= channels
    outcomes = cols["name"][tx]
    fraud = float(np.isin(outcomes, ["blocked", "held"]).mean())
    assert 0 < fraud < 0.02
    assert set(cols["segment"]) == {"youth", "adult", "elder", "enterprise"}
    # Customers who stop logging in: fewer distinct customers log in in the last month
    # than have registered by then.
    last_month = logins & (cols["day"] > cols["day"].max() - 30)
    registered = cols["event_type"] == "register"
    assert len(set(cols["customer_hash"][last_month])) < len(set(cols["customer_hash"][registered]))


def test_a_batch_is_stored_in_one_statement_skipping_ids_already_stored(db: Database) -> None:
    def record(uid: str) -> service.EventRecord:
        return service.EventRecord(
            event_uid=uid, occurred_at=at(0), event_type="login", source="server"
        )

    tag = uuid.uuid4().hex
    stored, new = f"{tag}-stored", f"{tag}-new"
    assert db.run(lambda s: service.record_events(s, [record(stored)])) == service.Recorded(1, 0)
    with counted(db) as statements:
        recorded = db.run(
            lambda s: service.record_events(s, [record(stored), record(new), record(new)])
        )
    assert recorded == service.Recorded(accepted=1, duplicates=2)
    assert len([s for s in statements if "analytics_events" in s]) == 1, statements
    uids = db.run(
        lambda s: sorted(
            s.scalars(
                select(AnalyticsEvent.event_uid).where(AnalyticsEvent.event_uid.in_([stored, new]))
            )
        )
    )
    assert uids == sorted([stored, new])
