"""Analytics API: the app's event ingestion endpoint, and the server-side event recorders.

`POST /v1/analytics/events` takes a bounded batch of schema-checked events. It is
public (the login screen is viewed before anyone logs in); when the request carries
a customer's token the events are attributed to the hashed customer id — never to an
id the app claims.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from zhangyin.analytics import service
from zhangyin.analytics.errors import EventTimeOutOfRange
from zhangyin.analytics.schemas import EventBatchIn, EventBatchOut
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.events import Event, InProcessPublisher
from zhangyin.http import DbDep
from zhangyin.identity.auth import (
    ACCESS_COOKIE,
    PUBLIC,
    CustomerPrincipal,
    LimiterDep,
    client_ip,
    require_customer,
)
from zhangyin.identity.ratelimit import Limit

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

MAX_AGE = timedelta(days=7)
MAX_AHEAD = timedelta(minutes=5)
#: Batches one client may send per minute: the app sends one every few seconds at most,
#: so this stops a script flooding the events table without touching real use.
INGEST_LIMIT = Limit("analytics-ingest", 60, 60)


def _secret(request: Request) -> str:
    key: str = request.app.state.settings.resolved_secret_key()
    return key


def _optional_customer(request: Request) -> CustomerPrincipal | None:
    """The logged-in customer when a token is sent (and valid); None when none is sent."""
    header = request.headers.get("authorization", "")
    bearer = None
    if header.lower().startswith("bearer ") and header[7:].strip():
        bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=header[7:].strip())
    cookie = request.cookies.get(ACCESS_COOKIE)
    if bearer is None and not cookie:
        return None
    return require_customer(request, bearer, cookie)


@router.post(
    "/events",
    status_code=202,
    response_model=EventBatchOut,
    summary="Record a batch of app events (screen views, feature use); rate-limited per client",
    openapi_extra=PUBLIC,
    responses={429: {"description": "Too many batches from this client; see Retry-After"}},
)
def ingest_events(
    body: EventBatchIn, request: Request, db: DbDep, limiter: LimiterDep
) -> EventBatchOut:
    customer = _optional_customer(request)
    # Per client: the customer when logged in (one customer, many IPs on mobile networks),
    # else the IP. Over the limit → 429 with Retry-After; the counters are identity's
    # (Redis when configured, in-process otherwise).
    client = f"customer:{customer.customer_id}" if customer else f"ip:{client_ip(request)}"
    limiter.check(INGEST_LIMIT, client)
    now = utcnow()
    for event in body.events:
        if not now - MAX_AGE <= event.occurred_at <= now + MAX_AHEAD:
            raise EventTimeOutOfRange()
    key = _secret(request)

    def work(session: Session) -> service.Recorded:
        hashed, segment = None, ""
        if customer is not None:
            hashed = service.customer_hash(customer.customer_id, key)
            segment = service.customer_segment(session, customer.customer_id)
        records = [
            service.EventRecord(
                event_uid=f"app-{e.id}",
                occurred_at=e.occurred_at,
                event_type=e.type,
                source="app",
                customer_hash=hashed,
                segment=segment,
                name=e.name,
                channel=e.channel,
                elder_mode=e.elder_mode,
            )
            for e in body.events
        ]
        return service.record_events(session, records)

    recorded = db.run(work)
    return EventBatchOut(
        accepted=recorded.accepted, duplicates=recorded.duplicates, attributed=customer is not None
    )


# --------------------------------------------------------------------------- server events


SUBSCRIBED = (
    "identity.customer_registered",
    "identity.logged_in",
    "payments.transfer.completed",
    "payments.transfer.held_for_review",
    "payments.transfer.rejected",
)


def server_events(event: Event, key: str, session: Session) -> list[service.EventRecord]:
    """The analytics events an outbox event stands for (none for most)."""
    payload: dict[str, Any] = event.payload
    customer_id = payload.get("customer_id") or (
        event.aggregate_id if event.aggregate_type == "customer" else None
    )
    if not customer_id or event.event_type not in SUBSCRIBED:
        return []
    base: dict[str, Any] = {
        "event_uid": event.message_id,
        "occurred_at": event.created_at,
        "source": "server",
        "customer_hash": service.customer_hash(str(customer_id), key),
        "segment": service.customer_segment(session, str(customer_id)),
    }
    if event.event_type == "identity.customer_registered":
        # Registering in the app accepts the mobile-banking agreement: registered and signed.
        signed = {**base, "event_uid": base["event_uid"] + "-sign"}
        return [
            service.EventRecord(event_type="register", **base),
            service.EventRecord(event_type="sign", **signed),
        ]
    if event.event_type == "identity.logged_in":
        return [service.EventRecord(event_type="login", **base)]
    outcomes = {
        "payments.transfer.completed": "posted",
        "payments.transfer.held_for_review": "held",
        "payments.transfer.rejected": "blocked",
    }
    return [
        service.EventRecord(
            event_type="transaction",
            name=outcomes[event.event_type],
            tx_type="transfer",
            amount_minor=int(payload.get("amount_minor") or 0),
            **base,
        )
    ]


def _recorder(db: Database, key: str) -> Any:
    def handle(event: Event) -> None:
        def work(session: Session) -> None:
            service.record_events(session, server_events(event, key, session))

        db.run(work)

    return handle


def install(app: FastAPI) -> None:
    """Mount the ingestion route; record server-side events from the outbox."""
    app.include_router(router)
    publisher = app.state.publisher
    if isinstance(publisher, InProcessPublisher):
        handle = _recorder(app.state.db, app.state.settings.resolved_secret_key())
        for event_type in SUBSCRIBED:
            publisher.subscribe(event_type, handle)
