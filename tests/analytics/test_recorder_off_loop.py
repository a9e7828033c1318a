"""The in-process subscribers (the analytics recorder among them) never block the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi.testclient import TestClient

from tests.identity.factories import register
from zhangyin.analytics import service
from zhangyin.db import Database
from zhangyin.events import Event, InProcessPublisher, OutboxDispatcher


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_subscribers_run_outside_the_event_loop_thread(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    publisher: InProcessPublisher = client.app.state.publisher  # type: ignore[attr-defined]
    threads: list[int] = []

    def spy(event: Event) -> None:
        threads.append(threading.get_ident())

    publisher.subscribe("*", spy)

    async def drain_and_report_loop_thread() -> int:
        await OutboxDispatcher(db, publisher).drain()
        return threading.get_ident()

    loop_thread = asyncio.run(drain_and_report_loop_thread())
    assert threads, "no event was delivered"
    assert loop_thread not in threads
    # The recorder ran in the same worker thread, and its work is done when the drain returns.
    key = client.app.state.settings.resolved_secret_key()  # type: ignore[attr-defined]
    hashed = service.customer_hash(customer.customer_id, key)
    kinds = sorted(a["event_type"] for a in db.run(lambda s: service.customer_activity(s, hashed)))
    assert kinds == ["login", "register", "sign"]
