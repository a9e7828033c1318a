"""Generated requests against every wealth route (Schemathesis from the OpenAPI document):
whatever arrives, the answer is never a 5xx, and money is conserved."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from tests.identity import factories as identity_factories
from tests.identity.authz import World
from tests.wealth.authz import buyer
from tests.wealth.factories import conserved
from zhangyin.config import Settings
from zhangyin.db import Database

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@SQLITE
def test_no_wealth_route_answers_5xx(client: TestClient, db: Database) -> None:
    owner = identity_factories.register(client, db)
    buyer(World(client, db, Settings()), owner, ["F-BOND", "DD-SAVE"])
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/v1/wealth")
    ]
    assert len(operations) >= 20
    failures: list[str] = []
    seen: list[int] = []
    for operation in operations:

        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            headers = {
                **kwargs.get("headers", {}),
                **owner.headers,
                "Idempotency-Key": uuid.uuid4().hex,
            }
            kwargs["headers"] = headers
            response = client.request(**kwargs)
            seen.append(response.status_code)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {kwargs['url']} -> {response.status_code}: "
                    f"{response.text[:200]}"
                )

        check()
    assert not failures, failures
    # the generated requests reach the handlers: some succeed, some are refused
    assert any(code < 300 for code in seen) and any(400 <= code < 500 for code in seen)
    conserved(db)
