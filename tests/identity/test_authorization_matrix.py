"""The authorisation matrix, walked from the OpenAPI document so that new routes are covered.

- every route that is not marked public refuses a request without a token (401);
- every /v1/console route refuses a customer's token, and so does every internal
  (service-token) route;
- every customer route with a path parameter gives customer B a 404 for customer A's
  object (and the owner not a 404) — objects come from the registry in
  tests/identity/authz.py, and an unregistered route fails the suite by name.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.identity import factories
from tests.identity.authz import World, maker_for, not_owned_reason
from zhangyin.app import create_app
from zhangyin.config import Settings
from zhangyin.db import Database

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
#: Probes of the process itself, public by design (zhangyin/app.py).
OPERATIONAL = {"/healthz", "/readyz", "/metrics"}
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    settings = Settings(
        DATABASE_URL="sqlite://", ZHANGYIN_SECRET_KEY="openapi-walk", ZHANGYIN_DEMO=True
    )
    app = create_app(settings, database=Database("sqlite://"), background_jobs=False)
    spec = app.openapi()
    found = []
    for path, item in sorted(spec["paths"].items()):
        for method in HTTP_METHODS:
            if method in item:
                found.append((method.upper(), path, item[method]))
    return found


OPERATIONS = _operations()


def _is_public(operation: dict[str, Any]) -> bool:
    return operation.get("x-zhangyin-public") is True


def _is_customer(operation: dict[str, Any]) -> bool:
    return any("CustomerBearer" in requirement for requirement in operation.get("security", []))


def _path_params(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p.get("in") == "path"]


def _dummy_path(path: str, operation: dict[str, Any]) -> str:
    for param in _path_params(operation):
        schema = param.get("schema", {})
        value = "1" if schema.get("type") == "integer" else str(uuid.uuid4())
        path = path.replace("{" + param["name"] + "}", value)
    return path


def _call(
    client: TestClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: dict[str, Any] | None = None,
    query: dict[str, Any] | None = None,
) -> Any:
    headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
    if method in ("POST", "PUT", "PATCH") or body is not None:
        return client.request(method, path, json=body or {}, headers=headers, params=query)
    return client.request(method, path, headers=headers, params=query)


def _ids(ops: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [f"{method} {path}" for method, path, _ in ops]


PROTECTED = [op for op in OPERATIONS if not _is_public(op[2]) and op[1] not in OPERATIONAL]
CONSOLE = [op for op in PROTECTED if op[1].startswith("/v1/console/")]
#: Routes for internal services and staff (neither customer nor console): a customer token
#: must not open them either.
INTERNAL = [
    op
    for op in PROTECTED
    if not _is_customer(op[2])
    and not op[1].startswith("/v1/console/")
    and not any("StaffBearer" in r for r in op[2].get("security", []))
]
CUSTOMER_WITH_PARAMS = [
    op
    for op in PROTECTED
    if _is_customer(op[2]) and _path_params(op[2]) and not_owned_reason(op[1]) is None
]


def test_the_walk_sees_the_routes_it_must() -> None:
    seen = {f"{m} {p}" for m, p, _ in OPERATIONS}
    assert {"GET /v1/me", "POST /v1/sessions", "GET /v1/console/customers"} <= seen
    assert CUSTOMER_WITH_PARAMS and CONSOLE


def test_every_customer_route_with_a_path_parameter_has_an_object_maker() -> None:
    missing = [f"{m} {p}" for m, p, _ in CUSTOMER_WITH_PARAMS if maker_for(m, p) is None]
    assert not missing, (
        "register how to make an object of a customer for these routes "
        f"(tests/<domain>/authz.py, see tests/identity/authz.py): {missing}"
    )


@SQLITE_ONLY
@pytest.mark.parametrize(("method", "path", "operation"), PROTECTED, ids=_ids(PROTECTED))
def test_route_refuses_a_request_without_a_token(
    client: TestClient, method: str, path: str, operation: dict[str, Any]
) -> None:
    response = _call(client, method, _dummy_path(path, operation), {})
    assert response.status_code == 401, f"{method} {path}: {response.status_code} {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")


@SQLITE_ONLY
@pytest.mark.parametrize(("method", "path", "operation"), CONSOLE, ids=_ids(CONSOLE))
def test_console_route_refuses_a_customer_token(
    client: TestClient, db: Database, method: str, path: str, operation: dict[str, Any]
) -> None:
    customer = factories.register(client, db)
    response = _call(client, method, _dummy_path(path, operation), customer.headers)
    assert response.status_code == 403, f"{method} {path}: {response.status_code} {response.text}"
    assert response.json()["code"] == "forbidden"


@SQLITE_ONLY
@pytest.mark.parametrize(("method", "path", "operation"), INTERNAL, ids=_ids(INTERNAL))
def test_internal_route_refuses_a_customer_token(
    client: TestClient, db: Database, method: str, path: str, operation: dict[str, Any]
) -> None:
    customer = factories.register(client, db)
    response = _call(client, method, _dummy_path(path, operation), customer.headers)
    assert response.status_code in (401, 403), (
        f"{method} {path}: {response.status_code} {response.text}"
    )


@pytest.mark.parametrize(
    ("method", "path", "operation"), CUSTOMER_WITH_PARAMS, ids=_ids(CUSTOMER_WITH_PARAMS)
)
def test_customer_b_cannot_reach_customer_a_object(
    client: TestClient,
    db: Database,
    settings: Settings,
    method: str,
    path: str,
    operation: dict[str, Any],
) -> None:
    maker = maker_for(method, path)
    if maker is None:
        pytest.fail(f"no object maker registered for {method} {path}")
    world = World(client, db, settings)
    owner = world.new_customer()
    intruder = world.new_customer()
    target = maker(world, owner)
    concrete = path
    for name, value in target.path_params.items():
        concrete = concrete.replace("{" + name + "}", str(value))
    assert "{" not in concrete, f"maker left a path parameter unfilled: {concrete}"

    refused = _call(client, method, concrete, intruder.headers, target.body, target.query)
    assert refused.status_code == 404, (
        f"{method} {path}: customer B got {refused.status_code} for A's object: {refused.text}"
    )
    # The object is still there and the route works for its owner: the 404 was about ownership.
    allowed = _call(client, method, concrete, owner.headers, target.body, target.query)
    assert allowed.status_code < 400, f"owner got {allowed.status_code}: {allowed.text}"
