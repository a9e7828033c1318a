"""The edge every domain shares: health, metrics, problem+json, headers, limits, logs."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from fastapi.testclient import TestClient

from tests.ledger.factories import customer_account
from zhangyin.app import create_app
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.logs import JsonFormatter


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert ready.json()["migration"] == ready.json()["head"]


def test_readyz_is_503_before_migrations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(Settings(DATABASE_URL=url, ZHANGYIN_SECRET_KEY="x"), background_jobs=False)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.json()["migration"] is None


def test_readyz_is_503_and_writes_are_503_when_the_database_is_unreachable() -> None:
    url = "postgresql://postgres@127.0.0.1:1/nowhere"
    settings = Settings(DATABASE_URL=url, ZHANGYIN_SECRET_KEY="x")
    app = create_app(settings, background_jobs=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/readyz").status_code == 503
        from zhangyin.security import service_token

        response = client.get(
            "/v1/ledger/accounts/1", headers={"Authorization": f"Bearer {service_token(settings)}"}
        )
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response.headers["retry-after"] == "1"


def test_metrics_count_requests_per_route_and_ledger_postings(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    client.post(
        "/v1/ledger/transfers",
        json={"debit_account_id": a.id, "credit_account_id": b.id, "amount": "1.00"},
        headers={**service_headers, "Idempotency-Key": uuid.uuid4().hex},
    )
    text = client.get("/metrics").text
    assert (
        'zhangyin_http_requests_total{method="POST",route="/v1/ledger/transfers",status="201"}'
        in text
    )
    assert (
        'zhangyin_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/v1/ledger/transfers"}'
        in text
    )
    assert 'zhangyin_ledger_postings_total{currency="CNY"}' in text


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/v1/ledger/transfers" in spec["paths"]
    assert client.get("/docs").status_code == 200


def test_every_response_carries_a_request_id_and_security_headers(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "strict-transport-security" not in response.headers
    behind_tls = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["strict-transport-security"].startswith("max-age=")
    assert (
        "access-control-allow-origin"
        not in client.get("/healthz", headers={"Origin": "https://evil.example"}).headers
    )


def test_unknown_route_and_wrong_method_are_problems(client: TestClient) -> None:
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


def test_oversized_body_is_413_and_stores_nothing(
    client: TestClient, service_headers: dict[str, str]
) -> None:
    big = b'{"name": "' + b"x" * 2_000_000 + b'"}'
    response = client.post(
        "/v1/ledger/accounts",
        content=big,
        headers={**service_headers, "Idempotency-Key": "big", "Content-Type": "application/json"},
    )
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


def test_problem_language_follows_accept_language(client: TestClient) -> None:
    assert client.get("/nope").json()["detail"] == "未找到所请求的内容"
    assert (
        client.get("/nope", headers={"Accept-Language": "en"})
        .json()["detail"]
        .startswith("The requested")
    )
    assert (
        client.get("/nope", headers={"Accept-Language": "fr, en;q=0.5"}).headers["content-language"]
        == "en-US"
    )


def test_log_lines_are_json_with_the_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="zhangyin.http"):
        client.get("/healthz", headers={"X-Request-ID": "log-me"})
    record = next(r for r in caplog.records if r.name == "zhangyin.http")
    line = json.loads(JsonFormatter().format(record))
    assert line["msg"] == "request" and line["route"] == "/healthz" and line["status"] == 200
    assert line["request_id"] == "log-me"
