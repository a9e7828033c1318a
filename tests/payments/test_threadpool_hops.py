"""Dependencies that do no I/O run on the event loop: only the session check takes a thread."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.dependencies import utils as fastapi_dependencies
from fastapi.testclient import TestClient

from tests.payments.factories import customer
from zhangyin.db import Database


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_authenticated_read_resolves_its_dependencies_with_one_threadpool_hop(
    client: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    payer = customer(client, db)
    hops: list[str] = []
    original = fastapi_dependencies.run_in_threadpool

    async def counting(func: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(fastapi_dependencies, "run_in_threadpool", counting)
    response = client.get("/v1/accounts", headers=payer.headers)
    assert response.status_code == 200
    assert hops == ["require_customer"]
