"""A corpus of bad bodies and headers against every write endpoint of the live OpenAPI document.

Huge bodies, deep JSON, wrong content types, invalid UTF-8, duplicate keys,
numbers as strings and strings as numbers: each is a 4xx problem+json, stores
nothing (row counts of every table unchanged), and the server stays up.
Malformed HTTP (header injection, invalid bytes in headers, bad Content-Length)
is refused by the HTTP parser or the app with a 4xx and never echoed back.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx

from tests.hostile.conftest import Live

WRITE_METHODS = ("post", "put", "patch", "delete")
UUID = "00000000-0000-4000-8000-000000000000"


def write_operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in WRITE_METHODS:
                yield method.upper(), path, operation


def concrete(path: str, operation: dict[str, Any]) -> str:
    """The path with plausible values for its parameters (the rows need not exist)."""
    kinds = {
        p["name"]: p.get("schema", {}).get("type", "string")
        for p in operation.get("parameters", [])
        if p.get("in") == "path"
    }

    def value(match: re.Match[str]) -> str:
        return "1" if kinds.get(match.group(1)) == "integer" else UUID

    return re.sub(r"\{([^}]+)\}", value, path)


def body_schema(spec: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    result: dict[str, Any] = schema
    return result


def _kind(prop: dict[str, Any]) -> str:
    if "type" in prop:
        return str(prop["type"])
    for option in prop.get("anyOf", []):
        if option.get("type") not in (None, "null"):
            return str(option["type"])
    return "string"


def swapped_types(schema: dict[str, Any]) -> dict[str, Any]:
    """Every field with the wrong JSON type: numbers as strings, strings as numbers."""
    wrong: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        kind = _kind(prop)
        wrong[name] = {
            "integer": "12345",
            "number": "1.5",
            "boolean": "true",
            "string": 12345,
            "array": {"not": "a list"},
            "object": ["not", "an", "object"],
        }.get(kind, 12345)
    return wrong


def bad_bodies(schema: dict[str, Any] | None) -> Iterator[tuple[str, bytes, str]]:
    """(case name, body, content type) for an operation that takes a JSON body."""
    yield "huge", b'{"x": "' + b"x" * 1_100_000 + b'"}', "application/json"
    if schema is None:
        return  # a body is ignored where none is read: only the size limit applies
    yield "deep", b"[" * 50_000 + b"]" * 50_000, "application/json"
    yield "deep-object", b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "application/json"
    yield "text-plain", b'{"amount": "1.00"}', "text/plain"
    yield "form", b"amount=1.00&to_name=x", "application/x-www-form-urlencoded"
    yield "xml", b"<transfer><amount>1.00</amount></transfer>", "application/xml"
    yield "invalid-utf8", b'{"name": "\xff\xfe\xc3\x28"}', "application/json"
    yield "not-json", b"{'single': 'quotes'}", "application/json"
    yield "truncated", b'{"amount": "1.0', "application/json"
    yield "empty", b"", "application/json"
    yield "array", b"[]", "application/json"
    yield "null", b"null", "application/json"
    yield "nan", b'{"amount": NaN}', "application/json"
    props = list(schema.get("properties", {}))
    first = props[0] if props else "amount"
    yield "duplicate-keys", f'{{"{first}": "1", "{first}": 2}}'.encode(), "application/json"
    yield "swapped-types", json.dumps(swapped_types(schema)).encode(), "application/json"
    yield "extra-field", json.dumps({"__proto__": {"admin": True}}).encode(), "application/json"
    yield "huge-number", b'{"amount": 1' + b"0" * 5000 + b"}", "application/json"


def assert_problem(response: httpx.Response, what: str) -> None:
    assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json"), what
    body = response.json()
    assert body["status"] == response.status_code and body["code"], (what, body)


def test_bad_bodies_on_every_write_endpoint_are_4xx_problems_and_store_nothing(
    live: Live,
) -> None:
    spec = live.http.get("/openapi.json").json()
    operations = list(write_operations(spec))
    assert len(operations) >= 20, "the OpenAPI document lists the write endpoints"
    before = live.row_counts()
    tried = 0
    cases: dict[str, str] = {}
    with httpx.Client(base_url=live.stack.api.url, timeout=60) as http:
        for method, path, operation in operations:
            url = concrete(path, operation)
            for case, body, content_type in bad_bodies(body_schema(spec, operation)):
                response = http.request(
                    method,
                    url,
                    content=body,
                    headers={
                        **live.customer.headers,
                        "Content-Type": content_type,
                        "Idempotency-Key": f"fuzz-{tried}",
                    },
                )
                cases[f"fuzz-{tried}"] = f"{method} {path} {case}"
                assert_problem(response, cases[f"fuzz-{tried}"])
                tried += 1
    assert tried > 200
    assert live.http.get("/healthz").status_code == 200
    stored = live.stack.sql(
        "SELECT scope, key, status_code FROM idempotency_keys WHERE key LIKE 'fuzz-%%'"
    )
    assert stored == [], [(row, cases[str(row[1])]) for row in stored]
    assert changed(before, live.row_counts()) == {}


#: Tables the server's periodic jobs write on their own (not in answer to a request).
JOB_TABLES = {
    "analytics_daily_metrics",
    "analytics_aggregation_runs",
    # The daily AML job records each business day it has done (and the reports it found).
    "risk_aml_runs",
    "risk_aml_reports",
    # Channel analytics records activity (sessions, screens) beside requests, not their bodies.
    "analytics_events",
}


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {
        table: (before.get(table, 0), count)
        for table, count in after.items()
        if table not in JOB_TABLES and before.get(table, 0) != count
    }


def raw_request(port: int, request: bytes) -> bytes:
    """Send bytes as they are (httpx refuses to send malformed headers) and read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and len(b"".join(chunks)) > 2000:
                break
        return b"".join(chunks)


def test_malformed_headers_are_refused_and_never_echoed(live: Live) -> None:
    port = live.stack.api.port
    token = live.customer.token.encode()
    body = b'{"from_account_id": 1}'
    cases = {
        "crlf-in-request-id": b"X-Request-ID: abc\r\nSet-Cookie: injected=1\r\n",
        "bare-lf-injection": b"X-Request-ID: abc\nSet-Cookie: injected=1\r\n",
        "invalid-utf8-key": b"Idempotency-Key: \xff\xfe\xfd\r\n",
        "control-chars-key": b"Idempotency-Key: a\x01b\x7f\r\n",
        "huge-language": b"Accept-Language: " + b"zh-CN;q=0.5," * 2000 + b"\r\n",
        "bad-auth-scheme": b"Authorization: Basic \xff\xff\r\n",
    }
    before = live.row_counts()
    for name, extra in cases.items():
        request = (
            b"POST /v1/transfers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + token + b"\r\n"
            b"Content-Type: application/json\r\n" + extra + b"Content-Length: "
            + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
        )  # fmt: skip
        answer = raw_request(port, request)
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        status = int(head.split(b" ", 2)[1])
        assert 400 <= status < 500, (name, answer[:300])
        assert b"set-cookie: injected" not in head, name
        assert b"injected" not in head, name
    for name, length in {"negative": b"-1", "letters": b"abc", "huge": b"99999999999"}.items():
        answer = raw_request(
            port,
            b"POST /v1/transfers HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + length + b"\r\nConnection: close\r\n\r\n{}",
        )
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, (name, answer[:300])
    # A request id that is not printable is replaced, not reflected.
    echoed = live.http.get("/healthz", headers={"X-Request-ID": "a" * 65})
    assert echoed.headers["x-request-id"] != "a" * 65
    assert live.http.get("/healthz").status_code == 200
    assert changed(before, live.row_counts()) == {}
