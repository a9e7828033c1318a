"""Event ingestion is rate-limited per client: the customer when logged in, else the IP."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.identity.factories import register
from zhangyin.analytics import api as analytics_api
from zhangyin.analytics import service as analytics
from zhangyin.db import Database
from zhangyin.identity.ratelimit import Limit, RateLimiter, RedisCounters

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
REDIS_URL = os.environ.get("ZHANGYIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _batch() -> dict[str, Any]:
    event = {
        "id": uuid.uuid4().hex,
        "type": "screen_view",
        "name": "home",
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    return {"events": [event]}


@pytest.fixture
def three_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analytics_api, "INGEST_LIMIT", Limit("analytics-ingest", 3, 60))


def _send(client: TestClient, headers: dict[str, str] | None = None) -> Any:
    return client.post("/v1/analytics/events", json=_batch(), headers=headers or {})


def test_an_anonymous_client_over_the_limit_gets_429_with_retry_after_and_nothing_is_stored(
    client: TestClient, db: Database, three_per_minute: None
) -> None:
    for _ in range(3):
        assert _send(client).status_code == 202
    before = db.run(analytics.count_events)
    refused = _send(client)
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert db.run(analytics.count_events) == before


@SQLITE
def test_logged_in_customers_count_separately_from_the_ip_and_each_other(
    client: TestClient, db: Database, three_per_minute: None
) -> None:
    first = register(client, db)
    second = register(client, db)
    for _ in range(3):
        assert _send(client).status_code == 202
    assert _send(client).status_code == 429  # this IP, anonymous, is done for the minute
    for _ in range(3):
        assert _send(client, first.headers).status_code == 202
    assert _send(client, first.headers).status_code == 429
    assert _send(client, second.headers).status_code == 202


@SQLITE
def test_the_limit_holds_across_processes_when_counters_are_in_redis(
    client: TestClient, db: Database, three_per_minute: None
) -> None:
    prefix = f"zy:test:{uuid.uuid4().hex}:"
    # Two workers of one deployment: each its own counters object, one Redis between them.
    worker_a, worker_b = (
        RedisCounters(REDIS_URL, prefix=prefix),
        RedisCounters(REDIS_URL, prefix=prefix),
    )
    assert worker_a.client.ping()
    state = client.app.state  # type: ignore[attr-defined]
    try:
        state.identity_limiter = RateLimiter(worker_a)
        assert _send(client).status_code == 202
        assert _send(client).status_code == 202
        state.identity_limiter = RateLimiter(worker_b)
        assert _send(client).status_code == 202
        refused = _send(client)
        assert refused.status_code == 429 and refused.headers["retry-after"]
        assert worker_a.client.get(prefix + "analytics-ingest:ip:testclient") == b"4"
    finally:
        for key in worker_a.client.scan_iter(prefix + "*"):
            worker_a.client.delete(key)


def test_bad_batches_do_not_use_up_the_limit(
    client: TestClient, db: Database, three_per_minute: None
) -> None:
    for _ in range(5):
        assert client.post("/v1/analytics/events", json={"events": []}).status_code == 422
    assert _send(client).status_code == 202
