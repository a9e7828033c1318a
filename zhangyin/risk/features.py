"""Real-time features: the catalogue, the event stores they are computed from, the computation.

Every window feature is computed by one pure function (`compute`) from the same
primitives — the recent events of the customer, account, payee, device and IP,
when this customer first completed a payment to the payee, and how many frauds
were confirmed against the payee — so a feature has the same value whichever
store holds the primitives: the database (default), Redis (when `REDIS_URL` is
set), or memory (replays and benchmarks).

Redis is written after the database transaction commits (never for work that
rolled back), so both stores describe the same committed history.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from prometheus_client import Counter
from sqlalchemy import BigInteger, bindparam, case, cast, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from zhangyin.clock import SHANGHAI
from zhangyin.db import UTCDateTime
from zhangyin.money import CURRENCY_EXPONENTS
from zhangyin.risk.context import OPERATIONS, RiskContext
from zhangyin.risk.models import RiskDecision

log = logging.getLogger(__name__)

WINDOWS: dict[str, int] = {
    "10m": 600,
    "1h": 3600,
    "24h": 86_400,
    "7d": 7 * 86_400,
    "30d": 30 * 86_400,
}
ENTITIES = ("customer", "account", "payee", "device", "ip")
#: At most this many past events per entity are read (newest first) for one decision, so a
#: hot payee (a large merchant) or a shared IP costs the same as anyone: counts and sums of
#: such an entity saturate at this many events. Velocity rules care about small numbers.
HISTORY_LIMIT = 200
HISTORY_SECONDS = WINDOWS["30d"]
SMALL_AMOUNT = 500.0  # yuan: "several small transfers" (testing the card) ...
LARGE_FACTOR = 10.0  # ... "then a large one" at least this many times the largest small one
FAST_OUTFLOW_SECONDS = 1800
CHANNELS = ("app", "open_api", "counter", "web", "atm", "enterprise")

_ENTITY_TEXT = {
    "customer": "the paying customer",
    "account": "the paying account",
    "payee": "the payee account (from all our customers)",
    "device": "the device",
    "ip": "the IP address",
}


def _catalogue() -> dict[str, str]:
    features = {
        "amount": "Amount in major units (yuan)",
        "amount_minor": "Amount in minor units (fen)",
        "currency": "ISO 4217 currency, e.g. 'CNY'",
        "operation": f"One of {', '.join(OPERATIONS)}",
        "channel": "app, open_api, counter, ...",
        "hour_local": "Hour of day in Beijing time, 0-23",
        "weekday_local": "Day of week in Beijing time, 1 (Monday) - 7",
        "night": "Between 00:00 and 05:59 Beijing time",
        "kyc_level": "KYC level of the customer (1 strongest)",
        "customer.age_days": "Days since the customer relationship began",
        "device.new": "The device was first seen less than 24 hours ago (or never)",
        "device.age_hours": "Hours since the device was first seen",
        "password_changed_hours": "Hours since the last password change",
        "phone_changed_hours": "Hours since the last phone-number change",
        "login_to_transfer_seconds": "Seconds from the last login to this operation",
        "customer.amount_mean_30d": "Mean amount of the customer's payments, 30 days (yuan)",
        "customer.amount_std_30d": "Standard deviation of those amounts (yuan)",
        "customer.amount_max_30d": "Largest of those amounts (yuan)",
        "customer.amount_zscore": "This amount against the customer's own 30-day history",
        "customer.amount_to_max": "This amount divided by the 30-day largest",
        "customer.amount_to_mean": "This amount divided by the 30-day mean",
        "customer.distinct_payees_24h": "Distinct payees paid in 24 hours",
        "customer.small_count_1h": f"Payments of at most {SMALL_AMOUNT:g} yuan in the last hour",
        "customer.small_then_large": "Three or more small payments in an hour, then a large one",
        "payee.first_time": "No completed payment from this customer to this payee before",
        "payee.known_days": "Days since the first completed payment to this payee",
        "payee.distinct_payers_24h": "Distinct customers paying this payee in 24 hours",
        "payee.distinct_payers_7d": "Distinct customers paying this payee in 7 days",
        "payee.fraud_reports_30d": "Frauds confirmed against this payee in 30 days",
        "payee.fraud_reports_7d": "Frauds confirmed against this payee in 7 days",
        "payee.fraud_share_30d": "Frauds confirmed in 30 days / payments to the payee in 30 days",
        "payee.in_bank": "The payee account is held at this bank",
        "payee.account_age_days": "Days since the payee account was opened (this bank)",
        "payee.ledger_inflow_count_24h": "Credits into the payee account in 24 hours",
        "payee.ledger_distinct_payers_24h": "Distinct accounts crediting the payee, 24 hours",
        "payee.ledger_outflow_ratio_24h": "Money out of the payee account / money in, 24 hours",
        "payee.fast_outflow_ratio": "Share of the payee's inflow that left within 30 minutes",
        "payee.watchlist": "The payee is on one of the bank's watch lists",
        "payee.watchlist_score": "Best watch-list match score, 0-100",
        "payee.watchlist_account": "The payee account number itself is on a watch list",
        "model.score": "Score of the live model, 0-1 (missing when no model is live)",
    }
    for entity in ENTITIES:
        for window in WINDOWS:
            features[f"{entity}.count_{window}"] = (
                f"Payments by {_ENTITY_TEXT[entity]} in {window}"
                if entity != "payee"
                else f"Payments to {_ENTITY_TEXT[entity]} in {window}"
            )
            features[f"{entity}.sum_{window}"] = f"Their total amount in {window} (yuan)"
    return features


FEATURES: dict[str, str] = _catalogue()
FEATURE_NAMES = frozenset(FEATURES)
#: Non-numeric features the model does not use directly.
_NON_MODEL = {"currency", "operation", "channel", "model.score", "amount_minor"}
MODEL_FEATURES: tuple[str, ...] = (
    *sorted(name for name in FEATURES if name not in _NON_MODEL),
    "operation_code",
    "channel_code",
)


@dataclass(frozen=True, slots=True)
class PastEvent:
    at_us: int  # microseconds since the epoch
    amount_minor: int
    customer_id: str
    decision_id: str
    payee: str  # "" when the operation had no payee


@dataclass(frozen=True)
class History:
    """The primitives features are computed from, as any store returns them."""

    events: dict[str, list[PastEvent]]  # entity -> events, newest first
    payee_known_since_us: int | None
    payee_fraud_reports_30d: int
    payee_fraud_reports_7d: int = 0
    #: entity -> window -> (count, sum in minor units), for an entity whose events the
    #: store summed itself instead of listing them (the same HISTORY_LIMIT newest events).
    totals: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)


@dataclass(frozen=True)
class PayeeLedgerFacts:
    """What the ledger (via its service) says about a payee account held at this bank."""

    account_age_days: float
    inflow_count_24h: int
    distinct_payers_24h: int
    outflow_ratio_24h: float
    fast_outflow_ratio: float


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Exact microseconds since the epoch (no float rounding)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def entity_keys(ctx: RiskContext) -> dict[str, str]:
    keys = {
        "customer": ctx.customer_id,
        "account": str(ctx.account_id),
        "payee": ctx.payee_account_number,
        "device": ctx.device_id,
        "ip": ctx.ip,
    }
    return {entity: key for entity, key in keys.items() if key}


def major(amount_minor: int, currency: str) -> float:
    return float(amount_minor / 10 ** CURRENCY_EXPONENTS.get(currency, 2))


def _hours(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else round((now - then).total_seconds() / 3600, 3)


def compute(
    ctx: RiskContext,
    history: History,
    *,
    payee_ledger: PayeeLedgerFacts | None = None,
    payee_in_bank: bool | None = None,
    watchlist_score: float = 0.0,
    watchlist_threshold: float = 90.0,
    watchlist_account: bool = False,
) -> dict[str, Any]:
    """All features of one operation (except `model.score`, which the model adds)."""
    now = ctx.occurred_at
    now_us = to_us(now)
    amount = major(ctx.amount_minor, ctx.currency)
    local = now.astimezone(SHANGHAI)
    f: dict[str, Any] = {
        "amount": amount,
        "amount_minor": ctx.amount_minor,
        "currency": ctx.currency,
        "operation": ctx.operation,
        "channel": ctx.channel,
        "hour_local": local.hour,
        "weekday_local": local.isoweekday(),
        "night": local.hour < 6,
        "kyc_level": ctx.kyc_level,
        "customer.age_days": None
        if ctx.customer_since is None
        else round((now - ctx.customer_since).total_seconds() / 86_400, 3),
        "device.age_hours": _hours(now, ctx.device_first_seen_at),
        "password_changed_hours": _hours(now, ctx.last_password_change_at),
        "phone_changed_hours": _hours(now, ctx.last_phone_change_at),
        "login_to_transfer_seconds": None
        if ctx.last_login_at is None
        else round((now - ctx.last_login_at).total_seconds(), 3),
        "model.score": None,
    }
    age = f["device.age_hours"]
    f["device.new"] = None if ctx.device_id is None else (age is None or age < 24)

    for entity in ENTITIES:
        totals = history.totals.get(entity)
        events = history.events.get(entity, [])
        for window, seconds in WINDOWS.items():
            if totals is not None:
                count, total = totals[window]
            else:
                since = now_us - seconds * 1_000_000
                inside = [e.amount_minor for e in events if e.at_us >= since]
                count, total = len(inside), sum(inside)
            f[f"{entity}.count_{window}"] = count
            f[f"{entity}.sum_{window}"] = major(total, ctx.currency)

    own = [major(e.amount_minor, ctx.currency) for e in history.events.get("customer", [])]
    if own:
        mean = math.fsum(own) / len(own)
        std = math.sqrt(math.fsum((a - mean) ** 2 for a in own) / len(own))
        top = max(own)
        f["customer.amount_mean_30d"] = round(mean, 6)
        f["customer.amount_std_30d"] = round(std, 6)
        f["customer.amount_max_30d"] = top
        f["customer.amount_zscore"] = round((amount - mean) / std, 6) if std > 0 else None
        f["customer.amount_to_max"] = round(amount / top, 6) if top > 0 else None
        f["customer.amount_to_mean"] = round(amount / mean, 6) if mean > 0 else None
    else:
        for name in ("mean_30d", "std_30d", "max_30d", "zscore", "to_max", "to_mean"):
            f[f"customer.amount_{name}"] = None

    day_ago = now_us - WINDOWS["24h"] * 1_000_000
    hour_ago = now_us - WINDOWS["1h"] * 1_000_000
    customer_events = history.events.get("customer", [])
    f["customer.distinct_payees_24h"] = len(
        {e.payee for e in customer_events if e.at_us >= day_ago and e.payee}
    )
    small = [
        major(e.amount_minor, ctx.currency)
        for e in customer_events
        if e.at_us >= hour_ago and major(e.amount_minor, ctx.currency) <= SMALL_AMOUNT
    ]
    f["customer.small_count_1h"] = len(small)
    f["customer.small_then_large"] = (
        len(small) >= 3 and amount >= 1000 and amount >= LARGE_FACTOR * max(small)
    )

    has_payee = ctx.payee_account_number is not None
    payee_events = history.events.get("payee", [])
    known = history.payee_known_since_us
    f["payee.first_time"] = (known is None) if has_payee else None
    f["payee.known_days"] = (
        round((now_us - known) / 86_400_000_000, 3) if has_payee and known is not None else None
    )
    f["payee.distinct_payers_24h"] = (
        len({e.customer_id for e in payee_events if e.at_us >= day_ago}) if has_payee else None
    )
    week_ago = now_us - WINDOWS["7d"] * 1_000_000
    f["payee.distinct_payers_7d"] = (
        len({e.customer_id for e in payee_events if e.at_us >= week_ago}) if has_payee else None
    )
    f["payee.fraud_reports_30d"] = history.payee_fraud_reports_30d if has_payee else None
    f["payee.fraud_reports_7d"] = history.payee_fraud_reports_7d if has_payee else None
    f["payee.fraud_share_30d"] = (
        round(history.payee_fraud_reports_30d / max(1, len(payee_events)), 6) if has_payee else None
    )
    f["payee.in_bank"] = payee_in_bank if has_payee else None
    ledger = payee_ledger
    f["payee.account_age_days"] = ledger.account_age_days if ledger else None
    f["payee.ledger_inflow_count_24h"] = ledger.inflow_count_24h if ledger else None
    f["payee.ledger_distinct_payers_24h"] = ledger.distinct_payers_24h if ledger else None
    f["payee.ledger_outflow_ratio_24h"] = ledger.outflow_ratio_24h if ledger else None
    f["payee.fast_outflow_ratio"] = ledger.fast_outflow_ratio if ledger else None
    f["payee.watchlist_score"] = round(watchlist_score, 2) if has_payee else None
    f["payee.watchlist"] = (watchlist_score >= watchlist_threshold) if has_payee else None
    f["payee.watchlist_account"] = watchlist_account if has_payee else None
    return f


def model_vector(features: Mapping[str, Any], names: Sequence[str] = MODEL_FEATURES) -> list[float]:
    """The model's numeric input: booleans as 0/1, missing as NaN, categories as codes.

    `names` is the feature list the model was trained on, so a model keeps working when
    later code adds features (and sees NaN for one that was removed).
    """
    row: list[float] = []
    for name in names:
        if name == "operation_code":
            op = features.get("operation")
            row.append(float(OPERATIONS.index(op)) if op in OPERATIONS else math.nan)
            continue
        if name == "channel_code":
            ch = features.get("channel")
            row.append(float(CHANNELS.index(ch)) if ch in CHANNELS else math.nan)
            continue
        value = features.get(name)
        if value is None:
            row.append(math.nan)
        elif isinstance(value, bool):
            row.append(1.0 if value else 0.0)
        elif isinstance(value, int | float):
            row.append(float(value))
        else:
            row.append(math.nan)
    return row


def ledger_facts(lines: list[Any], now: datetime, created_at: datetime) -> PayeeLedgerFacts:
    """Mule pattern from the payee account's recent statement lines (newest first)."""
    day_ago = now - timedelta(days=1)
    recent = [line for line in lines if day_ago <= line.created_at <= now]
    inflows = [line for line in recent if line.amount_minor > 0]
    outflows = [line for line in recent if line.amount_minor < 0]
    inflow_sum = sum(line.amount_minor for line in inflows)
    outflow_sum = -sum(line.amount_minor for line in outflows)
    fast = 0
    for out in outflows:
        window_start = out.created_at - timedelta(seconds=FAST_OUTFLOW_SECONDS)
        if any(window_start <= i.created_at <= out.created_at for i in inflows):
            fast += -out.amount_minor
    return PayeeLedgerFacts(
        account_age_days=round((now - created_at).total_seconds() / 86_400, 3),
        inflow_count_24h=len(inflows),
        distinct_payers_24h=len({i.counterparty_account_id for i in inflows}),
        outflow_ratio_24h=round(outflow_sum / inflow_sum, 6) if inflow_sum else 0.0,
        fast_outflow_ratio=round(min(1.0, fast / inflow_sum), 6) if inflow_sum else 0.0,
    )


# --------------------------------------------------------------------------- stores


class EventStore(Protocol):
    """Where the primitives live. `record`/`mark_*` are called inside the caller's transaction."""

    def history(self, session: Session, ctx: RiskContext) -> History: ...

    def record(self, session: Session, decision: RiskDecision) -> None: ...

    def mark_completed(self, session: Session, decision: RiskDecision) -> None: ...

    def mark_fraud(self, session: Session, decision: RiskDecision) -> None: ...


def _newest_first(event: PastEvent) -> tuple[int, str]:
    return event.at_us, event.decision_id


# Built once per combination of entities: the hot path only binds values.
_QUERIES: dict[tuple[str, ...], Any] = {}
_ENTITY_COLUMN = {
    "customer": RiskDecision.customer_id,
    "account": RiskDecision.account_id,
    "payee": RiskDecision.payee_account_number,
    "device": RiskDecision.device_id,
    "ip": RiskDecision.ip,
}


#: Entities whose features are only counts and sums per window: the database sums their
#: events itself, so a decision reads two lists of events (customer, payee), not five.
_SUMMED = frozenset({"account", "device", "ip"})


#: `union_all` of a list of selects, untyped: mypy 2.4 crashes inferring its overloads
#: for a star-argument of unknown length ("Invalid type replacement to expand").
_union_all: Any = union_all


def _events_query(entities: tuple[str, ...]) -> Any:
    """One statement for every entity's recent events (one round trip, not five).

    A row is an event of a listed entity (`n` NULL) or, for the summed entities, the
    count `n` and the sum of their newest events in one band of time: band 0 is the
    last 10 minutes, 1 the rest of the last hour, ... 4 the rest of the 30 days.
    """
    query = _QUERIES.get(entities)
    if query is None:
        d = RiskDecision

        def newest(index: int, entity: str, *columns: Any) -> Any:
            return (
                select(literal(index).label("entity"), *columns)
                .where(
                    _ENTITY_COLUMN[entity] == bindparam(f"key_{entity}"),
                    d.occurred_us >= bindparam("since"),
                    d.occurred_us <= bindparam("now"),
                )
                .order_by(d.occurred_us.desc())  # the index order: no sort
                .limit(HISTORY_LIMIT)
                .subquery()
                .select()
            )

        listed = [
            newest(
                index,
                entity,
                d.occurred_us,
                d.amount_minor,
                d.customer_id,
                d.id,
                d.payee_account_number,
            ).add_columns(cast(null(), BigInteger).label("n"))
            for index, entity in enumerate(entities)
            if entity not in _SUMMED
        ]
        summed = [
            newest(index, entity, d.occurred_us, d.amount_minor)
            for index, entity in enumerate(entities)
            if entity in _SUMMED
        ]
        parts = list(listed)
        if summed:
            events = (summed[0] if len(summed) == 1 else _union_all(*summed)).subquery()
            bands = [
                (events.c.occurred_us >= bindparam(f"since_{window}"), band)
                for band, window in enumerate(list(WINDOWS)[:-1])
            ]
            banded = select(
                events.c.entity,
                case(*bands, else_=len(WINDOWS) - 1).label("band"),
                events.c.amount_minor,
            ).subquery()
            parts.append(
                select(
                    banded.c.entity,
                    banded.c.band,
                    # BigInteger, as the listed amounts (PostgreSQL's sum is numeric).
                    cast(func.sum(banded.c.amount_minor), BigInteger),
                    null(),
                    null(),
                    null(),
                    func.count(),
                ).group_by(banded.c.entity, banded.c.band)
            )
        if "payee" in entities:
            parts.append(_payee_facts())
        query = parts[0] if len(parts) == 1 else _union_all(*parts)
        _QUERIES[entities] = query
    return query


#: The `entity` of the row carrying the payee facts (entity indexes stop below it).
_PAYEE_FACTS_ROW = len(ENTITIES)


def _payee_facts() -> Any:
    """The payee facts as one row of the events query (no round trip of their own).

    Columns as the other rows: when this customer first completed a payment to the
    payee (in `occurred_us`), frauds confirmed against the payee in 30 days (in
    `amount_minor`) and in 7 days (in `n`).
    """
    d = RiskDecision

    def frauds_since(name: str) -> Any:
        return (
            select(func.count())
            .where(
                d.payee_account_number == bindparam("key_payee"),
                d.fraud_label.is_(True),
                d.labeled_at > bindparam(name, type_=UTCDateTime()),
                d.labeled_at <= bindparam("now_at", type_=UTCDateTime()),
            )
            .scalar_subquery()
        )

    known = (
        select(func.min(d.occurred_us))
        .where(
            d.customer_id == bindparam("key_customer"),
            d.payee_account_number == bindparam("key_payee"),
            d.status == "completed",
            d.occurred_us <= bindparam("now"),
        )
        .scalar_subquery()
    )
    return select(
        literal(_PAYEE_FACTS_ROW),
        # BigInteger, as the other rows' columns (a count is an integer in PostgreSQL).
        cast(known, BigInteger),
        cast(frauds_since("month_ago"), BigInteger),
        null(),
        null(),
        null(),
        cast(frauds_since("week_ago"), BigInteger),
    )


class DatabaseEventStore:
    """Reads the primitives from `risk_decisions` (the decision row is the event)."""

    def history(self, session: Session, ctx: RiskContext) -> History:
        now_us = to_us(ctx.occurred_at)
        since_us = now_us - HISTORY_SECONDS * 1_000_000
        keys = entity_keys(ctx)
        entities = tuple(keys)
        params: dict[str, Any] = {"since": since_us, "now": now_us}
        for window, seconds in list(WINDOWS.items())[:-1]:
            params[f"since_{window}"] = now_us - seconds * 1_000_000
        for entity, key in keys.items():
            params[f"key_{entity}"] = int(key) if entity == "account" else key
        # Core on the connection, integer times: no ORM or timestamp parsing on the hot path.
        connection = session.connection()
        found: dict[str, list[PastEvent]] = {e: [] for e in entities if e not in _SUMMED}
        bands: dict[str, list[tuple[int, int]]] = {
            e: [(0, 0)] * len(WINDOWS) for e in entities if e in _SUMMED
        }
        known_us: int | None = None
        reports = recent = 0
        payee = ctx.payee_account_number
        if payee:
            now = ctx.occurred_at
            params.update(
                now_at=now, month_ago=now - timedelta(days=30), week_ago=now - timedelta(days=7)
            )
        for row in connection.execute(_events_query(entities), params).all():
            if row[0] == _PAYEE_FACTS_ROW:
                known_us, reports, recent = row[1], row[2], row[6]
                continue
            entity = entities[row[0]]
            if row[6] is None:
                found[entity].append(PastEvent(row[1], row[2], row[3], row[4], row[5] or ""))
            else:
                bands[entity][int(row[1])] = (int(row[6]), int(row[2]))
        for events in found.values():
            events.sort(key=_newest_first, reverse=True)
        totals: dict[str, dict[str, tuple[int, int]]] = {}
        for entity, counted in bands.items():
            count = total = 0
            totals[entity] = {}
            for window, (n, amount) in zip(WINDOWS, counted, strict=True):
                count, total = count + n, total + amount
                totals[entity][window] = (count, total)
        return History(found, known_us, int(reports or 0), int(recent or 0), totals)

    def record(self, session: Session, decision: RiskDecision) -> None:
        """The decision row itself is the event: nothing more to write."""

    def mark_completed(self, session: Session, decision: RiskDecision) -> None:
        """The row's status is the fact: nothing more to write."""

    def mark_fraud(self, session: Session, decision: RiskDecision) -> None:
        """The row's label is the fact: nothing more to write."""


REDIS_FALLBACKS = Counter(
    "zhangyin_risk_redis_fallbacks_total",
    "Risk feature reads that fell back from Redis to the database",
)


class RedisUnavailable(Exception):
    """Redis failed moments ago; the store does not wait on it again yet."""


class RedisEventStore:
    """Sorted sets per entity (score: microseconds), written after the transaction commits."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "zy:risk:",
        read_timeout: float = 0.25,
        write_timeout: float = 1.0,
        cool_off_seconds: float = 5.0,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.prefix = prefix
        # Reads are on the payment's critical path: a slow Redis fails safe quickly, once
        # (no client retries). Writes happen after the commit, off the decision's clock.
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=read_timeout,
            socket_connect_timeout=read_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        self.writer = redis.Redis.from_url(
            url,
            socket_timeout=write_timeout,
            socket_connect_timeout=write_timeout,
            retry=Retry(NoBackoff(), 0),
        )
        # Circuit breaker: after a failure, stop waiting on Redis for a few seconds
        # (decisions fail safe at once, writes are dropped and logged) instead of making
        # every payment pay the timeout.
        self.cool_off_seconds = cool_off_seconds
        self.down_until = 0.0
        # Keep a week beyond the longest window, so a decision dated a little in the past
        # (a late batch, clock skew) still sees its full 30 days.
        self.ttl_seconds = HISTORY_SECONDS + 7 * 86_400
        self.fallback = DatabaseEventStore()

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _trip(self) -> None:
        self.down_until = time.monotonic() + self.cool_off_seconds

    def history(self, session: Session, ctx: RiskContext) -> History:
        """Read from Redis; while it is down, from the database, which holds the same events.

        The decision rows are the events, so the fallback computes the same features
        (slower, and missing nothing): payments keep being judged on their merits
        instead of all being challenged while Redis is away.
        """
        if time.monotonic() >= self.down_until:
            try:
                return self._history(ctx)
            except Exception:
                self._trip()
                REDIS_FALLBACKS.inc()
                log.warning("risk feature read from redis failed; reading the database")
        return self.fallback.history(session, ctx)

    def _history(self, ctx: RiskContext) -> History:
        now_us = to_us(ctx.occurred_at)
        since_us = now_us - HISTORY_SECONDS * 1_000_000
        keys = entity_keys(ctx)
        pipe = self.client.pipeline(transaction=False)
        for entity, key in keys.items():
            pipe.zrevrangebyscore(
                self._key("ev", entity, key),
                now_us,
                since_us,
                start=0,
                num=HISTORY_LIMIT,
                withscores=True,
            )
        payee = ctx.payee_account_number
        if payee:
            pipe.zscore(self._key("known", ctx.customer_id), payee)
            pipe.zcount(self._key("fraud", payee), f"({now_us - 30 * 86_400_000_000}", now_us)
            pipe.zcount(self._key("fraud", payee), f"({now_us - 7 * 86_400_000_000}", now_us)
        results = pipe.execute()
        events: dict[str, list[PastEvent]] = {}
        for entity, rows in zip(keys, results, strict=False):
            parsed = []
            for member, score in rows:
                decision_id, amount, customer_id, payee = member.decode().split("|", 3)
                parsed.append(PastEvent(int(score), int(amount), customer_id, decision_id, payee))
            parsed.sort(key=_newest_first, reverse=True)
            events[entity] = parsed
        known_us: int | None = None
        reports = recent = 0
        if payee:
            known_score, reports = results[len(keys)], int(results[len(keys) + 1])
            recent = int(results[len(keys) + 2])
            known_us = (
                int(known_score) if known_score is not None and known_score <= now_us else None
            )
        return History(events, known_us, reports, recent)

    def _after_commit(self, session: Session, op: tuple[str, RiskDecision]) -> None:
        pending: list[tuple[str, dict[str, Any]]] = session.info.setdefault("risk_redis", [])
        kind, d = op
        pending.append(
            (
                kind,
                {
                    "store": self,
                    "id": d.id,
                    "at_us": to_us(d.occurred_at),
                    "amount": d.amount_minor,
                    "customer": d.customer_id,
                    "keys": {
                        "customer": d.customer_id,
                        "account": str(d.account_id),
                        "payee": d.payee_account_number,
                        "device": d.device_id,
                        "ip": d.ip,
                    },
                    "label_us": to_us(d.labeled_at) if d.labeled_at else None,
                },
            )
        )

    def record(self, session: Session, decision: RiskDecision) -> None:
        self._after_commit(session, ("record", decision))

    def mark_completed(self, session: Session, decision: RiskDecision) -> None:
        self._after_commit(session, ("completed", decision))

    def mark_fraud(self, session: Session, decision: RiskDecision) -> None:
        self._after_commit(session, ("fraud", decision))

    def apply(self, ops: list[tuple[str, dict[str, Any]]]) -> None:
        if time.monotonic() < self.down_until:
            raise RedisUnavailable(f"redis failed recently; {len(ops)} writes dropped")
        try:
            self._apply(ops)
        except Exception:
            self._trip()
            raise

    def _apply(self, ops: list[tuple[str, dict[str, Any]]]) -> None:
        pipe = self.writer.pipeline(transaction=False)
        for kind, op in ops:
            at_us = op["at_us"]
            if kind == "record":
                member = f"{op['id']}|{op['amount']}|{op['customer']}|{op['keys']['payee'] or ''}"
                for entity, key in op["keys"].items():
                    if not key:
                        continue
                    name = self._key("ev", entity, key)
                    pipe.zadd(name, {member: at_us})
                    pipe.zremrangebyscore(name, "-inf", at_us - self.ttl_seconds * 1_000_000)
                    pipe.expire(name, self.ttl_seconds)
            elif kind == "completed" and op["keys"]["payee"]:
                name = self._key("known", op["customer"])
                pipe.zadd(name, {op["keys"]["payee"]: at_us}, lt=True)
            elif kind == "fraud" and op["keys"]["payee"] and op["label_us"] is not None:
                name = self._key("fraud", op["keys"]["payee"])
                pipe.zadd(name, {op["id"]: op["label_us"]})
                pipe.expire(name, self.ttl_seconds)
        pipe.execute()


def flush_redis_after_commit(session: Session) -> None:
    """Apply the Redis writes of a committed transaction (called from an after_commit hook)."""
    ops: list[tuple[str, dict[str, Any]]] | None = session.info.pop("risk_redis", None)
    if not ops:
        return
    by_store: dict[int, tuple[RedisEventStore, list[tuple[str, dict[str, Any]]]]] = {}
    for kind, op in ops:
        store: RedisEventStore = op["store"]
        by_store.setdefault(id(store), (store, []))[1].append((kind, op))
    for store, store_ops in by_store.values():
        try:
            store.apply(store_ops)
        except Exception:
            # The database has the truth; a lost Redis write makes features lower
            # until the next rebuild, it does not lose money. Alert on it.
            log.exception("risk feature write to redis failed")


class MemoryEventStore:
    """In-process store for replays, backtests and benchmarks (same primitives, no I/O)."""

    def __init__(self) -> None:
        self.events: dict[tuple[str, str], list[PastEvent]] = defaultdict(list)
        self.known: dict[tuple[str, str], int] = {}
        self.frauds: dict[str, list[int]] = defaultdict(list)

    def history_of(self, ctx: RiskContext) -> History:
        now_us = to_us(ctx.occurred_at)
        since_us = now_us - HISTORY_SECONDS * 1_000_000
        events: dict[str, list[PastEvent]] = {}
        for entity, key in entity_keys(ctx).items():
            found: list[PastEvent] = []
            for event in reversed(self.events.get((entity, key), ())):
                if event.at_us > now_us:
                    continue
                if event.at_us < since_us or len(found) >= HISTORY_LIMIT:
                    break
                found.append(event)
            events[entity] = found
        known: int | None = None
        reports = recent = 0
        payee = ctx.payee_account_number
        if payee:
            value = self.known.get((ctx.customer_id, payee))
            known = value if value is not None and value <= now_us else None
            month_ago = now_us - 30 * 86_400_000_000
            week_ago = now_us - 7 * 86_400_000_000
            labels = [t for t in self.frauds.get(payee, ()) if month_ago < t <= now_us]
            reports = len(labels)
            recent = sum(1 for t in labels if t > week_ago)
        return History(events, known, reports, recent)

    def history(self, session: Session, ctx: RiskContext) -> History:
        return self.history_of(ctx)

    def add(self, ctx: RiskContext, decision_id: str) -> None:
        """Record an event; callers add events in time order."""
        event = PastEvent(
            to_us(ctx.occurred_at),
            ctx.amount_minor,
            ctx.customer_id,
            decision_id,
            ctx.payee_account_number or "",
        )
        for entity, key in entity_keys(ctx).items():
            self.events[(entity, key)].append(event)

    def add_event(self, keys: Mapping[str, str | None], event: PastEvent) -> None:
        """`add` for bulk replays that already have the keys and the event."""
        for entity, key in keys.items():
            if key:
                self.events[(entity, key)].append(event)

    def complete(self, customer_id: str, payee: str, at: datetime) -> None:
        self.complete_us(customer_id, payee, to_us(at))

    def complete_us(self, customer_id: str, payee: str, at_us: int) -> None:
        current = self.known.get((customer_id, payee))
        if current is None or at_us < current:
            self.known[(customer_id, payee)] = at_us

    def label_fraud(self, payee: str, labeled_at: datetime) -> None:
        self.frauds[payee].append(to_us(labeled_at))

    def record(self, session: Session, decision: RiskDecision) -> None:
        self.add(context_of(decision), decision.id)

    def mark_completed(self, session: Session, decision: RiskDecision) -> None:
        if decision.payee_account_number:
            self.complete(decision.customer_id, decision.payee_account_number, decision.occurred_at)

    def mark_fraud(self, session: Session, decision: RiskDecision) -> None:
        if decision.payee_account_number and decision.labeled_at:
            self.label_fraud(decision.payee_account_number, decision.labeled_at)


def context_of(d: RiskDecision) -> RiskContext:
    """The context of a recorded decision (identity facts are not kept)."""
    return RiskContext(
        operation=d.operation,
        customer_id=d.customer_id,
        account_id=d.account_id,
        amount_minor=d.amount_minor,
        currency=d.currency,
        payee_account_number=d.payee_account_number,
        payee_name=d.payee_name,
        payee_bank_code=d.payee_bank_code,
        device_id=d.device_id,
        ip=d.ip,
        channel=d.channel,
        occurred_at=d.occurred_at,
    )
