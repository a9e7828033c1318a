"""Channel analytics: recording events, the daily aggregation, and reading the aggregates.

Events come from the server (logins, registrations, transactions: subscribed from the
outbox) and from the app (screen views, feature use: the ingestion endpoint). Each is
attributed to a keyed hash of the customer id. The aggregation runs the metric code
(`metrics.py`, over Ibis) inside the database and stores one row per day, metric and
dimension value, so dashboards read a few hundred rows, never the events.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from zhangyin.analytics import metrics
from zhangyin.analytics.errors import DateRangeInvalid, DefinitionInvalid, UnknownMetric
from zhangyin.analytics.models import AggregationRun, AnalyticsEvent, DailyMetric, MetricDefinition
from zhangyin.clock import business_date, utcnow
from zhangyin.db import Database

log = logging.getLogger(__name__)

EVENT_TYPES = ("register", "sign", "login", "screen_view", "feature_use", "transaction")
CHANNELS = ("app", "web", "open_api", "atm", "counter")
SEGMENTS = ("youth", "adult", "elder", "enterprise")
MAX_RANGE_DAYS = 400
#: Cohorts (funnels, retention) are recomputed for customers who registered this recently.
COHORT_DAYS = 12 * 7 + 6


# --------------------------------------------------------------------------- recording


def customer_hash(customer_id: str, key: str) -> str:
    """The keyed hash events carry instead of the customer id (HMAC-SHA256, 128 bits)."""
    digest = hmac.new(key.encode(), b"analytics:" + customer_id.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


def segment_for(kind: str, birth_date: str | None, today: date | None = None) -> str:
    """The customer segment used for drill-down: enterprise operators, then by age."""
    if kind != "personal":
        return "enterprise"
    if not birth_date:
        return "adult"
    born = date.fromisoformat(birth_date[:10])
    today = today or business_date(utcnow())
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age >= 60:
        return "elder"
    return "youth" if age < 30 else "adult"


def customer_segment(session: Session, customer_id: str) -> str:
    """Ask identity (never its tables) who the customer is, and place them in a segment."""
    from zhangyin.identity import service as identity

    try:
        view = identity.get_customer_any_status(session, customer_id)
    except Exception:
        return "adult"
    return segment_for(view.kind, view.birth_date)


@dataclass(frozen=True)
class EventRecord:
    event_uid: str
    occurred_at: datetime
    event_type: str
    source: str
    customer_hash: str | None = None
    segment: str = ""
    name: str = ""
    channel: str = "app"
    tx_type: str = ""
    amount_minor: int = 0
    fee_minor: int = 0
    biller: str = ""
    scenario: str = ""
    elder_mode: bool = False

    def row(self, received_at: datetime) -> dict[str, Any]:
        return {
            **self.__dict__,
            "received_at": received_at,
            "day": metrics.epoch_day(business_date(self.occurred_at)),
        }


@dataclass(frozen=True)
class Recorded:
    accepted: int
    duplicates: int


def record_events(session: Session, records: list[EventRecord]) -> Recorded:
    """Store events once each: a retried batch (same event ids) stores nothing twice.

    One statement: the unique event id skips what is already stored (also a concurrent
    delivery of the same events), instead of a read of the ids and then an insert.
    """
    if not records:
        return Recorded(0, 0)
    fresh: dict[str, EventRecord] = {}
    for r in records:
        fresh.setdefault(r.event_uid, r)
    now = utcnow()
    postgres = session.get_bind().dialect.name == "postgresql"
    stored = session.scalars(
        (pg_insert if postgres else sqlite_insert)(AnalyticsEvent)
        .on_conflict_do_nothing()
        .returning(AnalyticsEvent.event_uid),
        [r.row(now) for r in fresh.values()],
    ).all()
    return Recorded(len(stored), len(records) - len(stored))


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AnalyticsEvent)) or 0)


def customer_activity(session: Session, hashed: str, limit: int = 50) -> list[dict[str, Any]]:
    """The newest channel events of one (hashed) customer, for the customer 360 view."""
    rows = session.scalars(
        select(AnalyticsEvent)
        .where(AnalyticsEvent.customer_hash == hashed)
        .order_by(AnalyticsEvent.occurred_at.desc(), AnalyticsEvent.id.desc())
        .limit(limit)
    )
    return [
        {
            "occurred_at": r.occurred_at,
            "event_type": r.event_type,
            "name": r.name,
            "channel": r.channel,
            "tx_type": r.tx_type,
            "amount_minor": r.amount_minor,
        }
        for r in rows
    ]


# --------------------------------------------------------------------------- definitions

DEFAULT_DEFINITIONS = {
    "active_days": (
        "30",
        "活跃：距最近一次登录（或注册）不足 N 天 / active: last login < N days ago",
    ),
    "dormant_days": ("90", "睡眠：N 天未登录 / dormant: no login for N days"),
    "churned_days": ("180", "流失：N 天未登录 / churned: no login for N days"),
    "electronic_channels": (
        "app,web,open_api,atm",
        "电子渠道 / electronic channels (替代率分子 / substitution rate numerator)",
    ),
    "cohort_weeks": ("12", "留存观察周数 / weeks followed in retention cohorts"),
}


def definitions(session: Session) -> metrics.Definitions:
    rows = {r.key: r.value for r in session.scalars(select(MetricDefinition))}
    return metrics.Definitions.from_rows(rows)


def list_definitions(session: Session) -> list[MetricDefinition]:
    return list(session.scalars(select(MetricDefinition).order_by(MetricDefinition.key)))


def set_definition(session: Session, key: str, value: str) -> MetricDefinition:
    if key not in DEFAULT_DEFINITIONS:
        raise DefinitionInvalid()
    if key == "electronic_channels":
        channels = [c.strip() for c in value.split(",") if c.strip()]
        if not channels or any(c not in CHANNELS for c in channels):
            raise DefinitionInvalid()
        value = ",".join(channels)
    elif not value.isdigit() or not 1 <= int(value) <= 3650:
        raise DefinitionInvalid()
    row = session.get(MetricDefinition, key)
    if row is None:
        row = MetricDefinition(key=key, value=value, description=DEFAULT_DEFINITIONS[key][1])
        session.add(row)
    row.value = value
    d = definitions(session)
    if not d.active_days <= d.dormant_days < d.churned_days:
        raise DefinitionInvalid()
    return row


# --------------------------------------------------------------------------- aggregation


@dataclass(frozen=True)
class AggregationResult:
    start: date
    end: date
    rows: int
    seconds: float


def store_metric_rows(
    session: Session, rows: list[metrics.MetricRow], window: metrics.Window
) -> None:
    """Replace the aggregates of the window with `rows`."""
    daily = [m for m in metrics.REGISTRY if m not in metrics.COHORT_METRICS]
    session.execute(
        delete(DailyMetric).where(
            DailyMetric.metric.in_(daily),
            DailyMetric.day >= window.start,
            DailyMetric.day <= window.end,
        )
    )
    session.execute(
        delete(DailyMetric).where(
            DailyMetric.metric.in_(sorted(metrics.COHORT_METRICS)),
            DailyMetric.day >= metrics.week_start(window.cohort_from),
            DailyMetric.day <= window.end,
        )
    )
    merged: dict[tuple[int, str, str, str], int] = {}
    for r in rows:
        if r.value == 0 and r.dimension:
            continue
        merged[(r.day, r.metric, r.dimension, r.dimension_value[:60])] = r.value
    payload = [
        {"day": k[0], "metric": k[1], "dimension": k[2], "dimension_value": k[3], "value": v}
        for k, v in merged.items()
    ]
    for i in range(0, len(payload), 5000):
        session.execute(insert(DailyMetric), payload[i : i + 5000])
    counts = dict(
        session.execute(
            select(AnalyticsEvent.day, func.count())
            .where(AnalyticsEvent.day >= window.start, AnalyticsEvent.day <= window.end)
            .group_by(AnalyticsEvent.day)
        ).all()
    )
    session.execute(
        delete(AggregationRun).where(
            AggregationRun.day >= window.start, AggregationRun.day <= window.end
        )
    )
    now = utcnow()
    session.execute(
        insert(AggregationRun),
        [
            {"day": day, "events": int(counts.get(day, 0)), "finished_at": now}
            for day in range(window.start, window.end + 1)
        ],
    )


def aggregate(db: Database, start: date, end: date) -> AggregationResult:
    """Compute and store the aggregates of [start, end] (Beijing business days)."""
    from zhangyin.analytics.engine import events_of

    if start > end:
        raise DateRangeInvalid()
    began = time.perf_counter()
    window = metrics.Window(
        metrics.epoch_day(start),
        metrics.epoch_day(end),
        cohort_start=min(metrics.epoch_day(start), metrics.epoch_day(end) - COHORT_DAYS),
    )
    d = db.run(definitions)
    with events_of(db) as (_con, events):
        rows = metrics.compute(events, window, d)
    db.run(lambda s: store_metric_rows(s, rows, window))
    return AggregationResult(start, end, len(rows), time.perf_counter() - began)


def first_event_day(session: Session) -> date | None:
    day = session.scalar(select(func.min(AnalyticsEvent.day)))
    return None if day is None else metrics.from_epoch_day(int(day))


def days_to_aggregate(session: Session, yesterday: date, lookback_days: int = 7) -> list[date]:
    """Days up to yesterday (looking back at most `lookback_days`) with no finished run."""
    first = metrics.epoch_day(yesterday) - lookback_days + 1
    done = set(
        session.scalars(
            select(AggregationRun.day).where(
                AggregationRun.day >= first, AggregationRun.day <= metrics.epoch_day(yesterday)
            )
        )
    )
    return [
        metrics.from_epoch_day(day)
        for day in range(first, metrics.epoch_day(yesterday) + 1)
        if day not in done
    ]


def run_nightly(db: Database, today: date | None = None) -> AggregationResult | None:
    """The nightly job: aggregate every recent day not yet done (normally just yesterday)."""
    today = today or business_date(utcnow())
    yesterday = today - timedelta(days=1)
    missing = db.run(lambda s: days_to_aggregate(s, yesterday))
    if not missing:
        return None
    result = aggregate(db, missing[0], yesterday)
    log.info(
        "analytics aggregated",
        extra={"start": str(result.start), "end": str(result.end), "rows": result.rows},
    )
    return result


# --------------------------------------------------------------------------- reading


def check_range(start: date, end: date) -> None:
    if start > end or (end - start).days >= MAX_RANGE_DAYS:
        raise DateRangeInvalid()


def _sum_by(
    session: Session,
    names: list[str],
    start: int,
    end: int,
    dimension: str = "",
    value: str | None = None,
) -> dict[str, int]:
    query = (
        select(DailyMetric.metric, func.sum(DailyMetric.value))
        .where(
            DailyMetric.metric.in_(names),
            DailyMetric.day >= start,
            DailyMetric.day <= end,
            DailyMetric.dimension == dimension,
        )
        .group_by(DailyMetric.metric)
    )
    if value is not None:
        query = query.where(DailyMetric.dimension_value == value)
    return {m: int(v or 0) for m, v in session.execute(query).all()}


@dataclass
class PeriodFigures:
    start: date
    end: date
    figures: dict[str, float | int | None] = field(default_factory=dict)


STOCK_METRICS = [
    "customers.registered",
    "customers.signed",
    "mau",
    "customers.active",
    "customers.dormant",
    "customers.churned",
]
FLOW_METRICS = [
    "customers.new",
    "dau",
    "tx.count",
    "tx.amount",
    "tx.electronic_count",
    "tx.blocked",
    "bills.count",
    "bills.amount",
    "bills.fee",
]
SEGMENTED = {
    "customers.registered",
    "customers.signed",
    "mau",
    "customers.active",
    "customers.dormant",
    "customers.churned",
    "customers.new",
    "dau",
    "tx.count",
    "tx.amount",
}


def period_figures(session: Session, start: date, end: date, segment: str | None) -> PeriodFigures:
    """The overview's figures for one period: stocks at its last day, flows summed."""
    s, e = metrics.epoch_day(start), metrics.epoch_day(end)
    days = e - s + 1
    dim, val = ("segment", segment) if segment else ("", None)
    seg_stock = [m for m in STOCK_METRICS if not segment or m in SEGMENTED]
    seg_flow = [m for m in FLOW_METRICS if not segment or m in SEGMENTED]
    stocks = _sum_by(session, seg_stock, e, e, dim, val)
    flows = _sum_by(session, seg_flow, s, e, dim, val)
    out: dict[str, float | int | None] = {}
    for m in seg_stock:
        out[m] = stocks.get(m, 0)
    for m in seg_flow:
        out[m] = flows.get(m, 0)
    out["dau.average"] = round(flows.get("dau", 0) / days, 1)
    mau = stocks.get("mau", 0)
    out["dau_mau"] = round(flows.get("dau", 0) / days / mau, 4) if mau else None
    if not segment:
        total = flows.get("tx.count", 0)
        out["substitution_rate"] = (
            round(flows.get("tx.electronic_count", 0) / total, 4) if total else None
        )
    return PeriodFigures(start, end, out)


@dataclass(frozen=True)
class Overview:
    current: PeriodFigures
    previous: PeriodFigures
    changes: dict[str, float | None]


def overview(session: Session, start: date, end: date, segment: str | None = None) -> Overview:
    """The period's figures, the same-length period just before it, and the relative change."""
    check_range(start, end)
    length = (end - start).days + 1
    previous_end = start - timedelta(days=1)
    previous_start = previous_end - timedelta(days=length - 1)
    current = period_figures(session, start, end, segment)
    previous = period_figures(session, previous_start, previous_end, segment)
    changes: dict[str, float | None] = {}
    for key, value in current.figures.items():
        before = previous.figures.get(key)
        if value is None or before is None or before == 0:
            changes[key] = None
        else:
            changes[key] = round((float(value) - float(before)) / float(before), 4)
    return Overview(current, previous, changes)


def series(
    session: Session,
    metric_names: list[str],
    start: date,
    end: date,
    dimension: str = "",
    dimension_value: str | None = None,
) -> dict[str, list[int]]:
    """Daily values of metrics over [start, end] (0 where nothing was recorded)."""
    check_range(start, end)
    for name in metric_names:
        if name not in metrics.REGISTRY:
            raise UnknownMetric()
    s, e = metrics.epoch_day(start), metrics.epoch_day(end)
    query = select(DailyMetric.metric, DailyMetric.day, DailyMetric.value).where(
        DailyMetric.metric.in_(metric_names),
        DailyMetric.day >= s,
        DailyMetric.day <= e,
        DailyMetric.dimension == dimension,
        DailyMetric.dimension_value == (dimension_value or ""),
    )
    out = {name: [0] * (e - s + 1) for name in metric_names}
    for name, day, value in session.execute(query).all():
        out[name][day - s] = int(value)
    return out


def breakdown(
    session: Session, metric_name: str, dimension: str, start: date, end: date
) -> list[tuple[str, int]]:
    """A flow metric summed over [start, end] per value of a dimension (largest first);
    a stock metric (customers.*, mau) at the last day."""
    check_range(start, end)
    known = metrics.REGISTRY.get(metric_name)
    if known is None or dimension not in known.dimensions:
        raise UnknownMetric()
    s, e = metrics.epoch_day(start), metrics.epoch_day(end)
    if metric_name in STOCK_METRICS:
        s = e
    rows = session.execute(
        select(DailyMetric.dimension_value, func.sum(DailyMetric.value))
        .where(
            DailyMetric.metric == metric_name,
            DailyMetric.dimension == dimension,
            DailyMetric.day >= s,
            DailyMetric.day <= e,
        )
        .group_by(DailyMetric.dimension_value)
    ).all()
    return sorted(((str(k), int(v or 0)) for k, v in rows), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class FunnelStep:
    step: str
    customers: int


def funnel(session: Session, start: date, end: date) -> list[FunnelStep]:
    """Register → first login → first transfer, for customers who registered in the range."""
    check_range(start, end)
    names = ["funnel.registered", "funnel.first_login", "funnel.first_transfer"]
    sums = _sum_by(session, names, metrics.epoch_day(start), metrics.epoch_day(end))
    return [FunnelStep(n.split(".", 1)[1], sums.get(n, 0)) for n in names]


@dataclass(frozen=True)
class Cohort:
    week_start: date
    size: int
    retained: list[int]


def cohorts(session: Session, start: date, end: date) -> list[Cohort]:
    """Weekly retention cohorts whose week starts in [start, end]: size and logins per week."""
    check_range(start, end)
    s = metrics.week_start(metrics.epoch_day(start))
    rows = session.execute(
        select(
            DailyMetric.day, DailyMetric.dimension, DailyMetric.dimension_value, DailyMetric.value
        ).where(
            DailyMetric.metric == "retention",
            DailyMetric.day >= s,
            DailyMetric.day <= metrics.epoch_day(end),
        )
    ).all()
    sizes: dict[int, int] = {}
    weeks: dict[int, dict[int, int]] = defaultdict(dict)
    for day, dimension, key, value in rows:
        if dimension == "":
            sizes[day] = int(value)
        else:
            weeks[day][int(key)] = int(value)
    out = []
    for day in sorted(sizes):
        span = max(weeks[day], default=-1) + 1
        out.append(
            Cohort(
                metrics.from_epoch_day(day),
                sizes[day],
                [weeks[day].get(k, 0) for k in range(span)],
            )
        )
    return out


def aggregated_range(session: Session) -> tuple[date, date] | None:
    """The first and last day that has aggregates."""
    low, high = session.execute(
        select(func.min(AggregationRun.day), func.max(AggregationRun.day))
    ).one()
    if low is None:
        return None
    return metrics.from_epoch_day(int(low)), metrics.from_epoch_day(int(high))


def metric_catalogue() -> list[dict[str, Any]]:
    return [
        {"name": m.name, "description": m.description, "dimensions": list(m.dimensions)}
        for m in metrics.REGISTRY.values()
    ]


def has_aggregates(session: Session) -> bool:
    return session.scalar(select(DailyMetric.day).limit(1)) is not None
