"""The edge under hostile or unlucky requests: timeouts, duplicate keys, CORS, headers, outages.

(tests/test_app.py covers the basics: request ids, security headers, the size limit.)
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from typing import cast

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from zhangyin.app import create_app
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.idempotency import IdempotencyRecord
from zhangyin.ledger.models import LedgerAccount

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


#: How long the slow routes work unless the test releases them: far beyond the 2-s
#: deadline, so an answer before it can only be the deadline's, however slow the machine.
SLOW_WORK_SECONDS = 60


def add_trouble_routes(app: FastAPI) -> None:
    # Set by the test once it has its answer, so the abandoned work ends at once.
    release = threading.Event()
    app.state.release_slow_work = release

    @app.get("/_test/slow")
    async def slow() -> dict[str, str]:
        deadline = time.monotonic() + SLOW_WORK_SECONDS
        while not release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return {"status": "late"}

    @app.get("/_test/slow-sync")
    def slow_sync() -> dict[str, str]:
        release.wait(SLOW_WORK_SECONDS)
        return {"status": "late"}

    @app.get("/_test/redis-down")
    def redis_down() -> None:
        from redis.exceptions import ConnectionError as RedisConnectionError

        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    @app.get("/_test/bug")
    def bug() -> None:
        raise RuntimeError("a bug")


def edge_client(settings: Settings, db: Database, deadline: str) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUEST_TIMEOUT_SECONDS", deadline)
        app = create_app(settings, database=db, background_jobs=False)
    add_trouble_routes(app)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def edge(settings: Settings, db: Database) -> Iterator[TestClient]:
    yield from edge_client(settings, db, "20")


@pytest.fixture
def impatient(settings: Settings, db: Database) -> Iterator[TestClient]:
    yield from edge_client(settings, db, "2")


@pytest.mark.parametrize("path", ["/_test/slow", "/_test/slow-sync"])
def test_a_slow_request_is_cut_off_with_a_504_problem(impatient: TestClient, path: str) -> None:
    edge = impatient
    started = time.monotonic()
    response = edge.get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "request_timeout"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert elapsed < SLOW_WORK_SECONDS / 2, "answered at the deadline, not when the work ended"
    cast(FastAPI, edge.app).state.release_slow_work.set()
    assert edge.get("/healthz").status_code == 200


def count(db: Database, model: type) -> int:
    return int(db.run(lambda s: s.scalar(select(func.count()).select_from(model))))


def test_duplicate_json_keys_are_refused_and_store_nothing(
    edge: TestClient, db: Database, service_headers: dict[str, str]
) -> None:
    before = count(db, LedgerAccount), count(db, IdempotencyRecord)
    response = edge.post(
        "/v1/ledger/accounts",
        content=b'{"kind": "customer", "name": "A", "currency": "CNY", "name": "B"}',
        headers={
            **service_headers,
            "Content-Type": "application/json",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    assert response.status_code == 400 and response.json()["code"] == "malformed_body"
    nested = edge.post(
        "/v1/ledger/accounts",
        content=b'{"kind": "customer", "meta": {"a": 1, "a": 2}}',
        headers={**service_headers, "Content-Type": "application/json", "Idempotency-Key": "n"},
    )
    assert nested.status_code == 400 and nested.json()["code"] == "malformed_body"
    assert (count(db, LedgerAccount), count(db, IdempotencyRecord)) == before


def test_a_streamed_body_over_the_limit_is_413(
    edge: TestClient, db: Database, service_headers: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(30):
            yield b"x" * 100_000
        yield b'"}'

    before = count(db, LedgerAccount)
    response = edge.post(
        "/v1/ledger/accounts",
        content=chunks(),
        headers={**service_headers, "Content-Type": "application/json", "Idempotency-Key": "s"},
    )
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"
    assert count(db, LedgerAccount) == before


def test_cors_is_closed_to_other_origins_including_preflight(edge: TestClient) -> None:
    preflight = edge.options(
        "/v1/transfers",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, idempotency-key",
        },
    )
    assert 400 <= preflight.status_code < 500
    assert not any(h.startswith("access-control-") for h in preflight.headers)
    credentialed = edge.get("/v1/accounts", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in credentialed.headers
    assert "access-control-allow-credentials" not in credentialed.headers


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/healthz", 200),
        ("GET", "/openapi.json", 200),
        ("GET", "/nope", 404),
        ("DELETE", "/healthz", 405),
        ("POST", "/v1/transfers", 401),
        ("GET", "/_test/redis-down", 503),
        ("GET", "/_test/bug", 500),
    ],
)
def test_every_kind_of_response_carries_the_security_headers(
    edge: TestClient, method: str, path: str, status: int
) -> None:
    response = edge.request(method, path)
    assert response.status_code == status
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-request-id"]
    assert "strict-transport-security" not in response.headers
    behind_tls = edge.request(method, path, headers={"X-Forwarded-Proto": "https"})
    assert "max-age=" in behind_tls.headers["strict-transport-security"]


def test_an_unreachable_redis_is_a_503_problem_and_a_bug_a_500_that_closes(
    edge: TestClient,
) -> None:
    down = edge.get("/_test/redis-down")
    assert down.status_code == 503 and down.json()["code"] == "service_unavailable"
    assert down.headers["retry-after"] == "1"
    assert down.headers["content-type"].startswith("application/problem+json")
    bug = edge.get("/_test/bug")
    assert bug.status_code == 500 and bug.json()["code"] == "internal_error"
    assert bug.headers["connection"] == "close"
    assert "a bug" not in bug.text, "internals are not shown to the client"
