"""The outbox: events exist only for committed work and are delivered once, in order."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy
from sqlalchemy import func, select

from tests.ledger.factories import customer_account, move
from zhangyin.db import Database
from zhangyin.events import Event, InProcessPublisher, NatsPublisher, OutboxDispatcher, OutboxEvent

NATS_URL = os.environ.get("ZHANGYIN_TEST_NATS_URL", "nats://127.0.0.1:4222")


def unpublished(db: Database) -> int:
    return db.run(
        lambda s: s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
        )
    )


def test_in_process_subscribers_get_each_event_once_in_order(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    transfers = [move(db, a.id, b.id, n) for n in (1, 2, 3)]
    seen: list[Event] = []
    publisher = InProcessPublisher()
    publisher.subscribe("ledger.transfer.posted", seen.append)
    dispatcher = OutboxDispatcher(db, publisher)
    asyncio.run(dispatcher.drain())
    asyncio.run(dispatcher.drain())
    mine = [e.payload["transfer_id"] for e in seen if e.payload["credit_account_id"] == b.id]
    assert mine == [t.id for t in transfers]
    assert [e.id for e in seen] == sorted(e.id for e in seen)
    assert unpublished(db) == 0


def test_a_failing_subscriber_leaves_its_event_and_those_after_it_waiting(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    asyncio.run(OutboxDispatcher(db, InProcessPublisher()).drain())
    move(db, a.id, b.id, 1)
    move(db, a.id, b.id, 2)
    calls: list[int] = []

    def flaky(event: Event) -> None:
        calls.append(event.payload["amount_minor"])
        if event.payload["amount_minor"] == 1 and calls.count(1) == 1:
            raise RuntimeError("subscriber down")

    publisher = InProcessPublisher()
    publisher.subscribe("ledger.transfer.posted", flaky)
    dispatcher = OutboxDispatcher(db, publisher)
    assert asyncio.run(dispatcher.drain()) == 0
    assert unpublished(db) == 2
    assert asyncio.run(dispatcher.drain()) == 2
    assert calls == [1, 1, 2]


def _nats_reachable() -> bool:
    async def probe() -> bool:
        import nats

        try:
            nc = await nats.connect(
                NATS_URL, connect_timeout=1, max_reconnect_attempts=0, allow_reconnect=False
            )
        except Exception:
            return False
        await nc.close()
        return True

    return asyncio.run(probe())


@pytest.mark.skipif(
    not _nats_reachable() and os.environ.get("CI") != "true", reason="NATS not reachable"
)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_events_reach_nats_jetstream_once_even_when_published_twice(db: Database) -> None:
    import nats

    a = customer_account(db, 10_000)
    b = customer_account(db)
    transfer = move(db, a.id, b.id, 42)
    subject_filter = "zhangyin.ledger.transfer.posted"

    async def scenario() -> list[dict[str, object]]:
        # The shared stream holds every run's events: read only those stored since shortly
        # before this test published (the margin covers the server's clock resolution).
        since = datetime.now(UTC) - timedelta(seconds=5)
        publisher = NatsPublisher(NATS_URL)
        dispatcher = OutboxDispatcher(db, publisher)
        pending = await asyncio.to_thread(dispatcher._pending)
        await publisher.publish(pending)  # a crash before mark-published: delivered again below
        await dispatcher.drain()
        await publisher.close()
        nc = await nats.connect(NATS_URL)
        js = nc.jetstream()
        durable = f"test-{uuid.uuid4().hex}"
        sub = await js.pull_subscribe(
            subject_filter,
            durable=durable,
            stream="ZHANGYIN",
            config=ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=since),
        )
        received: list[dict[str, object]] = []
        try:
            # Read until the consumer has nothing left, not until a fetch times out: a
            # one-second fetch on a loaded machine ended the loop before our message.
            while (await sub.consumer_info()).num_pending:
                for msg in await sub.fetch(100, timeout=30):
                    received.append(json.loads(msg.data))
                    await msg.ack()
        finally:
            await js.delete_consumer("ZHANGYIN", durable)
            await nc.close()
        return received

    received = asyncio.run(scenario())
    mine = [m for m in received if m["payload"]["transfer_id"] == transfer.id]  # type: ignore[index]
    assert len(mine) == 1
    assert unpublished(db) == 0


def test_with_nats_down_events_wait_in_the_outbox(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    move(db, a.id, b.id, 7)
    waiting = unpublished(db)
    dispatcher = OutboxDispatcher(db, NatsPublisher("nats://127.0.0.1:1", timeout=0.5))
    assert asyncio.run(dispatcher.drain()) == 0
    assert unpublished(db) == waiting > 0


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_one_worker_dispatches_and_another_takes_over_when_it_goes(db: Database) -> None:
    first = OutboxDispatcher(db, InProcessPublisher())
    second = OutboxDispatcher(db, InProcessPublisher())
    assert first.lead() is True
    assert first.lead() is True  # still the leader on the next pass
    assert second.lead() is False
    first.resign()  # the worker stops (or dies: its connection closes the same way)
    assert second.lead() is True
    assert first.lead() is False
    second.resign()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_on_sqlite_every_dispatcher_leads(db: Database) -> None:
    # SQLite serves from one process: there is nobody to share the outbox with.
    assert OutboxDispatcher(db, InProcessPublisher()).lead() is True
    assert OutboxDispatcher(db, InProcessPublisher()).lead() is True
