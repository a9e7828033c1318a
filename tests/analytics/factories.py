"""A small hand-made bank whose metrics are worked out by hand in the tests.

Week of Monday 2026-03-02 (day B .. B+6), Beijing time:

- A (adult): registers and signs on B, logs in on B and B+1, transfers 100.00 in the app
  on B+1.
- E (elder): registers on B, signs on B+2, logs in on the web on B+2, pays a power bill of
  50.00 (fee 1.00) at the counter on B+3.
- Y (youth): registers on B+1, never logs in; a transfer attempt on B+1 is blocked.
- O (adult): an old customer (registered before the history starts) who logged in on
  B-100 and comes back on B+5: dormant (>= 90 days) from B-10 until B+4.
- C (adult): logged in on B-200 only: churned (>= 180 days) from B-20 on.
- one anonymous screen view on B (before login: no customer).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from zhangyin.analytics.metrics import epoch_day
from zhangyin.analytics.service import EventRecord, customer_hash
from zhangyin.clock import SHANGHAI

MONDAY = date(2026, 3, 2)
B = epoch_day(MONDAY)
KEY = "test-analytics-key"


def at(offset: int, hour: int = 12) -> datetime:
    local = datetime.combine(MONDAY + timedelta(days=offset), time(hour), tzinfo=SHANGHAI)
    return local.astimezone(UTC)


def _event(who: str | None, offset: int, event_type: str, **fields: object) -> EventRecord:
    return EventRecord(
        event_uid=uuid.uuid4().hex,
        occurred_at=at(offset),
        event_type=event_type,
        source="server",
        customer_hash=customer_hash(who, KEY) if who else None,
        **fields,  # type: ignore[arg-type]
    )


def week_of_events() -> list[EventRecord]:
    adult, elder, youth = {"segment": "adult"}, {"segment": "elder"}, {"segment": "youth"}
    return [
        _event("A", 0, "register", **adult),
        _event("A", 0, "sign", **adult),
        _event("A", 0, "login", **adult),
        _event("A", 1, "login", **adult),
        _event(
            "A", 1, "transaction", name="posted", tx_type="transfer", amount_minor=10_000, **adult
        ),
        _event("E", 0, "register", **elder),
        _event("E", 2, "sign", **elder),
        _event("E", 2, "login", channel="web", **elder),
        _event(
            "E",
            3,
            "transaction",
            name="posted",
            channel="counter",
            tx_type="bill_payment",
            amount_minor=5_000,
            fee_minor=100,
            biller="power",
            scenario="utilities",
            **elder,
        ),
        _event("Y", 1, "register", **youth),
        _event(
            "Y", 1, "transaction", name="blocked", tx_type="transfer", amount_minor=900, **youth
        ),
        _event("O", -100, "login", **adult),
        _event("O", 5, "login", **adult),
        _event("C", -200, "login", **adult),
        _event(None, 0, "screen_view", name="login"),
    ]


def as_columns(records: list[EventRecord]) -> dict[str, list[object]]:
    """The events as columns (for DuckDB and Spark)."""
    columns = (
        "customer_hash",
        "day",
        "event_type",
        "name",
        "channel",
        "tx_type",
        "amount_minor",
        "fee_minor",
        "biller",
        "scenario",
        "segment",
    )
    rows = [r.row(datetime.now(UTC)) for r in records]
    return {c: [row[c] for row in rows] for c in columns}


#: The answers, worked out from the story above: metric -> {day offset: value} (totals).
EXPECTED_TOTALS: dict[str, dict[int, int]] = {
    "customers.registered": {0: 2, 1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3},
    "customers.signed": {0: 1, 1: 1, 2: 2, 6: 2},
    "customers.new": {0: 2, 1: 1},
    "dau": {0: 1, 1: 1, 2: 1, 5: 1},
    "mau": {0: 1, 1: 1, 2: 2, 4: 2, 5: 3, 6: 3},
    # A, E from B; Y from B+1; O again from B+5.
    "customers.active": {0: 2, 1: 3, 4: 3, 5: 4, 6: 4},
    "customers.dormant": {0: 1, 4: 1, 5: 0, 6: 0},
    "customers.churned": {0: 1, 6: 1},
    "tx.count": {1: 1, 3: 1},
    "tx.amount": {1: 10_000, 3: 5_000},
    "tx.electronic_count": {1: 1},
    "tx.blocked": {1: 1},
    "bills.count": {3: 1},
    "bills.amount": {3: 5_000},
    "bills.fee": {3: 100},
    "funnel.registered": {0: 2, 1: 1},
    "funnel.first_login": {0: 2},
    "funnel.first_transfer": {0: 1},
    "app.screen_view": {0: 1},
}
#: Totals that must be absent or zero on these days.
EXPECTED_ZERO: dict[str, list[int]] = {
    "tx.electronic_count": [3],
    "funnel.first_login": [1],
    "dau": [3, 4, 6],
}
