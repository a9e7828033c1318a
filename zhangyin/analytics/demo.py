"""A realistic demo bank's channel history: customers who join, form habits and leave.

`generate` builds 12 months of events for N customers (seeded, so a run is
reproducible): registrations that grow through the year, four segments with their
own habits (elders log in less and still use the counter), logins that peak on salary
days (the 10th and the 25th), monthly bill cycles per customer, a lifetime after which
a customer churns, and a small share of fraud that risk control blocks or holds.

`load_demo_events` writes it into the application's database and aggregates it, so
every dashboard shows something true on the first `make run` (400 customers by
default; `zhangyin analytics demo-data --full` for 100,000).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from zhangyin.analytics import metrics
from zhangyin.analytics.models import AnalyticsEvent
from zhangyin.clock import SHANGHAI, business_date, utcnow
from zhangyin.db import Database

log = logging.getLogger(__name__)

DEFAULT_CUSTOMERS = 400
FULL_CUSTOMERS = 100_000
SEGMENTS = np.array(["youth", "adult", "elder", "enterprise"])
SEGMENT_SHARE = [0.26, 0.48, 0.19, 0.07]
#: Mean daily login probability of an engaged customer, per segment.
SEGMENT_LOGIN = np.array([0.42, 0.36, 0.2, 0.5])
#: Share of a segment's financial transactions done at the counter.
SEGMENT_COUNTER = np.array([0.02, 0.06, 0.3, 0.1])
BILLERS = np.array(["bj-water", "sgcc-bj", "bj-gas", "bj-heating", "china-mobile", "property"])
BILLER_SCENARIO = {
    "bj-water": "utilities",
    "sgcc-bj": "utilities",
    "bj-gas": "utilities",
    "bj-heating": "utilities",
    "china-mobile": "telecom",
    "property": "housing",
}
SCREENS = np.array(["home", "accounts", "transfer", "bills", "wealth", "messages", "me"])
FEATURES = np.array(["transfer", "bill_payment", "qr_pay", "wealth_buy", "statement", "elder_mode"])
TX_TYPES = np.array(["transfer", "bill_payment", "qr_payment", "wealth", "cardless"])
COLUMNS = (
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


@dataclass
class DemoEvents:
    """Columns of events (numpy arrays), in the event table's shape."""

    columns: dict[str, np.ndarray]
    start: date
    end: date
    customers: int

    def __len__(self) -> int:
        return len(self.columns["day"])

    def arrow(self) -> Any:
        import pyarrow as pa

        return pa.table({c: self.columns[c] for c in COLUMNS})


class _Buffer:
    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {c: [] for c in COLUMNS}

    def add(self, n: int, **cols: Any) -> None:
        if n == 0:
            return
        for c in COLUMNS:
            value = cols.get(c, "" if c not in ("day", "amount_minor", "fee_minor") else 0)
            arr = value if isinstance(value, np.ndarray) else np.full(n, value)
            self.parts[c].append(arr)

    def columns(self) -> dict[str, np.ndarray]:
        out = {}
        for c, parts in self.parts.items():
            joined = np.concatenate(parts) if parts else np.array([])
            if c in ("day", "amount_minor", "fee_minor"):
                out[c] = joined.astype(np.int64)
            else:
                out[c] = joined.astype(object).astype(str)
        return out


def history_span(end: date | None = None) -> tuple[date, date]:
    """The twelve months (365 days) ending on `end` (default yesterday, Beijing)."""
    end = end or business_date(utcnow()) - timedelta(days=1)
    return end - timedelta(days=364), end


def generate(
    customers: int = DEFAULT_CUSTOMERS, end: date | None = None, seed: int = 7
) -> DemoEvents:
    """Twelve months of channel events ending on `end`, in memory (small banks only)."""
    start, last = history_span(end)
    chunks = list(generate_chunks(customers, last, seed))
    columns = {c: np.concatenate([chunk[c] for chunk in chunks]) for c in COLUMNS}
    return DemoEvents(columns, start, last, customers)


def generate_chunks(
    customers: int = DEFAULT_CUSTOMERS, end: date | None = None, seed: int = 7, chunk_days: int = 7
) -> Iterator[dict[str, np.ndarray]]:
    """The same history, `chunk_days` at a time, so a full-size bank never sits in memory."""
    rng = np.random.default_rng(seed)
    start, end = history_span(end)
    d0, d1 = metrics.epoch_day(start), metrics.epoch_day(end)
    hashes = np.array([f"{h:032x}" for h in rng.integers(0, 2**63, customers)])
    segment_ix = rng.choice(4, size=customers, p=SEGMENT_SHARE)
    segments = SEGMENTS[segment_ix]
    # A third were customers before the year began; the rest join, more of them later on.
    existing = rng.random(customers) < 0.33
    joined = np.where(
        existing,
        d0 - rng.integers(1, 720, customers),
        d0 + (np.sqrt(rng.random(customers)) * 364).astype(np.int64),
    )
    # Engagement varies by person; a lifetime (days) after which they stop logging in.
    engagement = np.clip(rng.gamma(2.0, 0.5, customers), 0.05, 2.5) * SEGMENT_LOGIN[segment_ix]
    lifetime = rng.exponential(420, customers).astype(np.int64) + 7
    churn_day = joined + lifetime
    never_active = rng.random(customers) < 0.08  # register, never come back
    bill_day = rng.integers(1, 29, customers)
    biller = BILLERS[rng.integers(0, len(BILLERS), customers)]
    pays_bills = rng.random(customers) < 0.55

    buf = _Buffer()
    # Registration and signing (the app agreement) on the day of joining.
    reg = joined <= d1
    buf.add(
        int(reg.sum()),
        customer_hash=hashes[reg],
        day=joined[reg],
        event_type="register",
        channel=np.where(rng.random(int(reg.sum())) < 0.8, "app", "counter"),
        segment=segments[reg],
    )
    signs = reg & (rng.random(customers) < 0.92)
    buf.add(
        int(signs.sum()),
        customer_hash=hashes[signs],
        day=joined[signs] + rng.integers(0, 3, int(signs.sum())),
        event_type="sign",
        segment=segments[signs],
    )
    for day in range(d0, d1 + 1):
        if day > d0 and (day - d0) % chunk_days == 0:
            yield buf.columns()
            buf = _Buffer()
        local = metrics.from_epoch_day(day)
        salary = local.day in (10, 25)
        weekend = local.weekday() >= 5
        alive = (joined <= day) & (day < churn_day) & ~never_active
        p = engagement * (1.8 if salary else 1.0) * (0.8 if weekend else 1.0)
        # A customer's first days are the most active (onboarding).
        p = np.where(day - joined < 7, np.maximum(p, 0.6), p)
        logs_in = alive & (rng.random(customers) < p)
        who = np.flatnonzero(logs_in)
        n = len(who)
        if n:
            channel = np.where(rng.random(n) < 0.88, "app", "web")
            buf.add(
                n,
                customer_hash=hashes[who],
                day=day,
                event_type="login",
                channel=channel,
                segment=segments[who],
            )
            views = rng.integers(1, 4, n)
            rep = np.repeat(who, views)
            buf.add(
                len(rep),
                customer_hash=hashes[rep],
                day=day,
                event_type="screen_view",
                name=SCREENS[rng.integers(0, len(SCREENS), len(rep))],
                channel="app",
                segment=segments[rep],
            )
            used = who[rng.random(n) < 0.35]
            buf.add(
                len(used),
                customer_hash=hashes[used],
                day=day,
                event_type="feature_use",
                name=FEATURES[rng.integers(0, len(FEATURES), len(used))],
                segment=segments[used],
            )
            # Transfers and payments from the app (more on salary days).
            pays = who[rng.random(n) < (0.45 if salary else 0.22)]
            m = len(pays)
            if m:
                kind = TX_TYPES[rng.choice(5, size=m, p=[0.55, 0.0, 0.3, 0.1, 0.05])]
                amount = (np.exp(rng.normal(7.5 if salary else 6.5, 1.2, m)) * 100).astype(np.int64)
                fraud = rng.random(m) < 0.003
                outcome = np.where(
                    fraud, np.where(rng.random(m) < 0.5, "blocked", "held"), "posted"
                )
                channel = np.where(
                    rng.random(m) < 0.9, "app", np.where(rng.random(m) < 0.5, "web", "open_api")
                )
                buf.add(
                    m,
                    customer_hash=hashes[pays],
                    day=day,
                    event_type="transaction",
                    name=outcome,
                    channel=channel,
                    tx_type=kind,
                    amount_minor=amount,
                    segment=segments[pays],
                )
        # Bill cycles: on their bill day, customers who pay bills pay (if still a customer).
        billed = np.flatnonzero(
            (bill_day == local.day) & pays_bills & (joined <= day) & (day < churn_day + 60)
        )
        if len(billed):
            k = len(billed)
            at_counter = rng.random(k) < SEGMENT_COUNTER[segment_ix[billed]] * 2
            names = biller[billed]
            buf.add(
                k,
                customer_hash=hashes[billed],
                day=day,
                event_type="transaction",
                name="posted",
                channel=np.where(at_counter, "counter", "app"),
                tx_type="bill_payment",
                amount_minor=(np.exp(rng.normal(5.0, 0.6, k)) * 100).astype(np.int64),
                fee_minor=np.where(at_counter, 200, 0),
                biller=names,
                scenario=np.array([BILLER_SCENARIO[b] for b in names]),
                segment=segments[billed],
            )
        # Counter and ATM transactions of customers who do not use the app that day.
        offline = np.flatnonzero(
            (joined <= day)
            & ~logs_in
            & (rng.random(customers) < SEGMENT_COUNTER[segment_ix] * 0.05)
        )
        if len(offline):
            k = len(offline)
            buf.add(
                k,
                customer_hash=hashes[offline],
                day=day,
                event_type="transaction",
                name="posted",
                channel=np.where(rng.random(k) < 0.6, "counter", "atm"),
                tx_type=np.where(rng.random(k) < 0.7, "transfer", "cardless"),
                amount_minor=(np.exp(rng.normal(8.0, 1.0, k)) * 100).astype(np.int64),
                segment=segments[offline],
            )
    yield buf.columns()


def _occurred_at(day: int, rng: np.random.Generator) -> datetime:
    local = datetime.combine(metrics.from_epoch_day(int(day)), datetime.min.time(), tzinfo=SHANGHAI)
    return (local + timedelta(seconds=int(rng.integers(7 * 3600, 23 * 3600)))).astimezone(UTC)


def load_demo_events(
    db: Database, customers: int = DEFAULT_CUSTOMERS, *, aggregate: bool = True
) -> int:
    """Write the demo history into the database (once) and aggregate it. Returns events written."""
    from zhangyin.analytics import service

    if db.run(
        lambda s: s.scalar(
            select(AnalyticsEvent.id).where(AnalyticsEvent.source == "demo").limit(1)
        )
    ):
        return 0
    began = time.perf_counter()
    start, end = history_span()
    rng = np.random.default_rng(11)
    now = utcnow()
    total = 0
    for cols in generate_chunks(customers, end):
        # One timestamp per day keeps generation fast; the day column is what metrics use.
        stamps = {d: _occurred_at(d, rng) for d in np.unique(cols["day"])}
        write_events(db, cols, stamps, now)
        total += len(cols["day"])
    log.info(
        "demo events written", extra={"events": total, "s": round(time.perf_counter() - began, 1)}
    )
    if aggregate:
        service.aggregate(db, start, end)
    return total


FIELDS = (
    "event_uid",
    "occurred_at",
    "received_at",
    "day",
    "source",
    "customer_hash",
    "segment",
    "event_type",
    "name",
    "channel",
    "tx_type",
    "amount_minor",
    "fee_minor",
    "biller",
    "scenario",
    "elder_mode",
)


def write_events(
    db: Database, cols: dict[str, np.ndarray], stamps: dict[Any, datetime], now: datetime
) -> None:
    """Bulk-insert demo events through the driver (the ORM would take minutes for a year)."""
    sqlite = db.backend == "sqlite"

    def stamp(moment: datetime) -> Any:
        # SQLAlchemy's own SQLite storage format for a UTC timestamp.
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else moment

    received = stamp(now)
    day_stamps = {d: stamp(v) for d, v in stamps.items()}
    marker = "?" if sqlite else "%s"
    sql = (
        f"INSERT INTO analytics_events ({', '.join(FIELDS)}) "  # noqa: S608 - fixed names
        f"VALUES ({', '.join([marker] * len(FIELDS))})"
    )
    total = len(cols["day"])
    base = uuid.uuid4().hex[:12]
    chunk = 50_000
    for i in range(0, total, chunk):
        rows = [
            (
                f"demo-{base}-{j}",
                day_stamps[cols["day"][j]],
                received,
                int(cols["day"][j]),
                "demo",
                str(cols["customer_hash"][j]),
                str(cols["segment"][j]),
                str(cols["event_type"][j]),
                str(cols["name"][j]),
                str(cols["channel"][j]),
                str(cols["tx_type"][j]),
                int(cols["amount_minor"][j]),
                int(cols["fee_minor"][j]),
                str(cols["biller"][j]),
                str(cols["scenario"][j]),
                bool(cols["segment"][j] == "elder"),
            )
            for j in range(i, min(i + chunk, total))
        ]
        with db.engine.begin() as conn:
            conn.connection.cursor().executemany(sql, rows)
