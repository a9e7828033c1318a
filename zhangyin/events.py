"""The outbox: state changes and the events other domains react to, in one transaction.

`emit` writes an event row in the caller's transaction, so an event exists if
and only if the change that caused it was committed. `OutboxDispatcher`
delivers committed events in id order (hence in order per aggregate) to a
publisher: in-process subscribers by default, NATS JetStream when `NATS_URL` is
set. A delivery that fails stops the pass, so nothing overtakes it; JetStream
de-duplicates by message id, so a redelivery after a crash is harmless.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    Index,
    Integer,
    String,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhangyin.clock import utcnow
from zhangyin.db import Base, Database, UTCDateTime

log = logging.getLogger(__name__)

#: SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets a bigint identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_type: Mapped[str] = mapped_column(String(80))
    aggregate_type: Mapped[str] = mapped_column(String(40))
    aggregate_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_outbox_events_unpublished", "published_at", "id"),)


@dataclass(frozen=True)
class Event:
    id: int
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    created_at: datetime

    @property
    def message_id(self) -> str:
        """Stable for one outbox row, distinct across databases whose ids restart at 1."""
        return f"outbox-{self.id}-{int(self.created_at.timestamp() * 1_000_000)}"

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "id": self.id,
                "type": self.event_type,
                "aggregate_type": self.aggregate_type,
                "aggregate_id": self.aggregate_id,
                "payload": self.payload,
                "created_at": self.created_at.isoformat(),
            },
            ensure_ascii=False,
        ).encode()


def emit(
    session: Session,
    event_type: str,
    aggregate_type: str,
    aggregate_id: str,
    payload: dict[str, Any],
) -> None:
    """Record an event in the caller's transaction (delivered after commit)."""
    session.add(
        OutboxEvent(
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            payload=payload,
            created_at=utcnow(),
        )
    )


def emit_many(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Bulk `emit` for batches; each row has event_type, aggregate_type, aggregate_id, payload."""
    if not rows:
        return
    now = utcnow()
    session.execute(
        insert(OutboxEvent),
        [{**row, "created_at": now, "attempts": 0} for row in rows],
    )


class Publisher(Protocol):
    async def publish(self, events: Sequence[Event]) -> int:
        """Deliver events in order; return how many were delivered before any failure."""
        ...


Handler = Callable[[Event], None]


class InProcessPublisher:
    """Calls subscribed handlers in this process. A handler that raises stops delivery.

    Handlers are blocking (they run database work), so a batch is delivered in a
    worker thread: the event loop keeps serving requests meanwhile.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, event_type: str, handler: Handler) -> None:
        self._handlers[event_type].append(handler)

    async def publish(self, events: Sequence[Event]) -> int:
        return await asyncio.to_thread(self._deliver, events)

    def _deliver(self, events: Sequence[Event]) -> int:
        for delivered, event in enumerate(events):
            try:
                for handler in self._handlers.get(event.event_type, ()):
                    handler(event)
                for handler in self._handlers.get("*", ()):
                    handler(event)
            except Exception:
                log.exception("event handler failed", extra={"event_id": event.id})
                return delivered
        return len(events)


class NatsPublisher:
    """Publishes to NATS JetStream subjects `zhangyin.<event_type>`.

    The message id header names the outbox row, so JetStream drops a duplicate that
    a crash between publish and mark-published would otherwise deliver twice.
    """

    STREAM = "ZHANGYIN"

    def __init__(self, url: str, *, timeout: float = 2.0) -> None:
        self.url = url
        self.timeout = timeout
        self._nc: Any = None
        self._js: Any = None

    async def _connect(self) -> Any:
        if self._js is None or self._nc is None or self._nc.is_closed:
            import nats

            self._nc = await nats.connect(
                self.url,
                connect_timeout=self.timeout,
                max_reconnect_attempts=1,
                allow_reconnect=False,
            )
            self._js = self._nc.jetstream(timeout=self.timeout)
            try:
                await self._js.add_stream(name=self.STREAM, subjects=["zhangyin.>"])
            except Exception:
                await self._js.stream_info(self.STREAM)
        return self._js

    async def publish(self, events: Sequence[Event]) -> int:
        try:
            js = await self._connect()
        except Exception as exc:
            log.warning("nats unavailable; events stay in the outbox", extra={"error": str(exc)})
            await self.close()
            return 0
        for delivered, event in enumerate(events):
            try:
                await js.publish(
                    f"zhangyin.{event.event_type}",
                    event.to_json(),
                    headers={"Nats-Msg-Id": event.message_id},
                )
            except Exception as exc:
                log.warning("nats publish failed", extra={"event_id": event.id, "error": str(exc)})
                await self.close()
                return delivered
        return len(events)

    async def close(self) -> None:
        if self._nc is not None and not self._nc.is_closed:
            try:
                await self._nc.close()
            except Exception:
                log.debug("nats close failed", exc_info=True)
        self._nc = None
        self._js = None


#: The PostgreSQL advisory lock whose holder is the one dispatching process.
OUTBOX_LEADER_LOCK = 0x7A79_6F62  # "zyob"


class OutboxDispatcher:
    """Moves committed events from the outbox to the publisher, oldest first.

    Every API worker starts one, but on PostgreSQL only the holder of an advisory
    lock dispatches: otherwise each worker would read and publish the same rows
    (harmless for NATS, which drops duplicates by id, but in-process subscribers
    would handle each event once per worker). The lock lives on a connection of
    its own, so a worker that dies hands it to the next one at once.
    """

    def __init__(self, db: Database, publisher: Publisher, *, batch_size: int = 200) -> None:
        self.db = db
        self.publisher = publisher
        self.batch_size = batch_size
        self._leader: Connection | None = None

    def lead(self) -> bool:
        """Whether this process dispatches now (take the lock if it is free)."""
        if self.db.backend != "postgresql":
            return True  # SQLite serves from one process
        try:
            if self._leader is not None:
                self._leader.execute(text("SELECT 1"))  # still ours: the connection is alive
                return True
            connection = self.db.engine.connect()
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": OUTBOX_LEADER_LOCK}
            ).scalar()
            connection.commit()
            if got:
                self._leader = connection
                return True
            connection.close()
        except DBAPIError:
            self.resign()
        return False

    def resign(self) -> None:
        """Give the lock up: its connection is closed for real, not returned to the pool."""
        if self._leader is not None:
            try:
                self._leader.invalidate()
                self._leader.close()
            except DBAPIError:
                log.debug("closing the outbox leader connection failed", exc_info=True)
            self._leader = None

    def _pending(self) -> list[Event]:
        with self.db.session() as session:
            rows = session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(self.batch_size)
            ).all()
            return [
                Event(r.id, r.event_type, r.aggregate_type, r.aggregate_id, r.payload, r.created_at)
                for r in rows
            ]

    def _mark_published(self, ids: list[int]) -> None:
        def work(session: Session) -> None:
            session.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(published_at=utcnow())
            )

        self.db.run(work)

    async def dispatch_once(self) -> int:
        """Deliver one batch; return how many events were delivered."""
        events = await asyncio.to_thread(self._pending)
        if not events:
            return 0
        delivered = await self.publisher.publish(events)
        if delivered:
            await asyncio.to_thread(self._mark_published, [e.id for e in events[:delivered]])
        return delivered

    async def drain(self) -> int:
        """Deliver until the outbox is empty or a delivery fails."""
        total = 0
        while True:
            delivered = await self.dispatch_once()
            total += delivered
            if delivered < self.batch_size:
                return total

    async def run_forever(self, interval: float = 0.5) -> None:
        try:
            while True:
                try:
                    if await asyncio.to_thread(self.lead):
                        await self.drain()
                except Exception:
                    log.exception("outbox dispatch failed")
                await asyncio.sleep(interval)
        finally:
            self.resign()
