"""Channel metrics, each defined once over Ibis and run on SQLite, PostgreSQL, DuckDB or Spark.

Every metric is a function of the event table (columns of `analytics_events`) and a
calendar of days; it returns rows (day, dimension, dimension_value, value) with
integer values. Days are epoch days of the Beijing business date, so all date
arithmetic is integer arithmetic and means the same on every backend.

Customer states over time use one trick: an *anchor* (a login, or the registration)
starts an interval of days during which the customer is in a state (active for
`active_days` after it, dormant from `dormant_days` on...), cut short by the
customer's next anchor. A customer's intervals of one state never overlap, so
counting intervals that contain a day counts distinct customers — and intervals
are grouped by (start, end) before the join with the calendar, which keeps the
join small however many customers there are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

EPOCH = date(1970, 1, 1)
#: "Never": the end of an interval that no later anchor cuts short.
OPEN_END = 10_000_000
TOTAL = ""


def epoch_day(day: date) -> int:
    return (day - EPOCH).days


def from_epoch_day(day: int) -> date:
    return EPOCH + timedelta(days=day)


def week_start(day: int) -> int:
    """The epoch day of the Monday of `day`'s week (1970-01-01 was a Thursday)."""
    return ((day + 3) // 7) * 7 - 3


@dataclass(frozen=True)
class Definitions:
    """The parameters of the definitions, kept in data (table analytics_definitions)."""

    active_days: int = 30
    dormant_days: int = 90
    churned_days: int = 180
    electronic_channels: tuple[str, ...] = ("app", "web", "open_api", "atm")
    cohort_weeks: int = 12

    @classmethod
    def from_rows(cls, rows: dict[str, str]) -> Definitions:
        base = cls()
        channels = rows.get("electronic_channels")
        return cls(
            active_days=int(rows.get("active_days", base.active_days)),
            dormant_days=int(rows.get("dormant_days", base.dormant_days)),
            churned_days=int(rows.get("churned_days", base.churned_days)),
            electronic_channels=(
                tuple(c.strip() for c in channels.split(",") if c.strip())
                if channels
                else base.electronic_channels
            ),
            cohort_weeks=int(rows.get("cohort_weeks", base.cohort_weeks)),
        )


@dataclass(frozen=True)
class Window:
    """Days to compute: daily metrics for [start, end], cohorts from cohort_start."""

    start: int
    end: int
    cohort_start: int | None = None

    @property
    def cohort_from(self) -> int:
        return self.start if self.cohort_start is None else self.cohort_start


MetricFn = Callable[[ir.Table, ir.Table, Window, Definitions], ir.Table]


@dataclass(frozen=True)
class Metric:
    name: str
    compute: MetricFn
    description: str
    dimensions: tuple[str, ...] = field(default=())


REGISTRY: dict[str, Metric] = {}


def metric(name: str, *dimensions: str) -> Callable[[MetricFn], MetricFn]:
    """Register a metric; its docstring is its definition (shown in the console)."""

    def register(fn: MetricFn) -> MetricFn:
        REGISTRY[name] = Metric(name, fn, (fn.__doc__ or "").strip(), dimensions)
        return fn

    return register


# --------------------------------------------------------------------------- building blocks


def _shape(t: ir.Table, dimension: str | None, value: ir.Value) -> ir.Table:
    """Rows (day, dimension, dimension_value, value) from a table with `day` and `dim`."""
    return t.select(
        day=t.day.cast("int64"),
        dimension=ibis.literal(dimension or TOTAL),
        dimension_value=(t.dim.cast("string") if dimension else ibis.literal(TOTAL)),
        value=value.cast("int64"),
    )


def _by(
    t: ir.Table, dims: dict[str | None, ir.Value | None], agg: Callable[[ir.Table], ir.Value]
) -> ir.Table:
    """Group `t` by day and, in turn, by each dimension; union the shaped results."""
    parts = []
    for dimension, column in dims.items():
        keyed = t.mutate(dim=column if column is not None else ibis.literal(TOTAL))
        grouped = keyed.group_by(["day", "dim"]).aggregate(value=agg(keyed))
        parts.append(_shape(grouped, dimension, grouped.value))
    return ibis.union(*parts)


def _calendar_count(calendar: ir.Table, intervals: ir.Table, with_segment: bool = True) -> ir.Table:
    """For each calendar day, sum `n` of intervals [start, end] containing it (total, segment)."""
    keys = ["start", "end", "segment"] if with_segment else ["start", "end"]
    grouped = intervals.group_by(keys).aggregate(n=intervals.count())
    joined = calendar.join(grouped, (calendar.day >= grouped.start) & (calendar.day <= grouped.end))
    total = joined.group_by("day").aggregate(value=joined.n.sum())
    parts = [
        calendar.left_join(total, calendar.day == total.day).select(
            day=calendar.day.cast("int64"),
            dimension=ibis.literal(TOTAL),
            dimension_value=ibis.literal(TOTAL),
            value=ibis.coalesce(total.value, 0).cast("int64"),
        )
    ]
    if with_segment:
        seg = joined.group_by(["day", "segment"]).aggregate(value=joined.n.sum())
        parts.append(
            seg.select(
                day=seg.day.cast("int64"),
                dimension=ibis.literal("segment"),
                dimension_value=seg.segment.cast("string"),
                value=seg.value.cast("int64"),
            )
        )
    return ibis.union(*parts)


def _anchors(events: ir.Table, types: tuple[str, ...]) -> ir.Table:
    """Distinct (customer, day) of the given event types, with the day's segment."""
    t = events.filter(events.event_type.isin(types) & events.customer_hash.notnull())
    return t.group_by(["customer_hash", "day"]).aggregate(segment=t.segment.max())


def _state_intervals(
    anchors: ir.Table, begin_after: int, length: int | None, window: Window
) -> ir.Table:
    """Days [anchor + begin_after, anchor + begin_after + length - 1] before the next anchor."""
    w = ibis.window(group_by=anchors.customer_hash, order_by=anchors.day)
    with_next = anchors.mutate(next_day=ibis.coalesce(anchors.day.lead().over(w), OPEN_END))
    start = with_next.day + begin_after
    cut = with_next.next_day - 1
    end = cut if length is None else ibis.least(cut, with_next.day + begin_after + length - 1)
    intervals = with_next.select(start=start, end=end, segment=with_next.segment)
    # Only intervals that can touch the window matter.
    return intervals.filter(
        (intervals.start <= intervals.end)
        & (intervals.start <= window.end)
        & (intervals.end >= window.start)
    )


def _posted_transactions(events: ir.Table) -> ir.Table:
    return events.filter((events.event_type == "transaction") & (events.name == "posted"))


def _in_window(t: ir.Table, window: Window) -> ir.Table:
    return t.filter((t.day >= window.start) & (t.day <= window.end))


# --------------------------------------------------------------------------- customers


def _cumulative(events: ir.Table, calendar: ir.Table, window: Window, event_type: str) -> ir.Table:
    firsts = events.filter((events.event_type == event_type) & events.customer_hash.notnull())
    per_customer = firsts.group_by("customer_hash").aggregate(
        first_day=firsts.day.min(), segment=firsts.segment.max()
    )
    intervals = per_customer.filter(per_customer.first_day <= window.end).select(
        start=per_customer.first_day,
        end=ibis.literal(OPEN_END),
        segment=per_customer.segment,
    )
    return _calendar_count(calendar, intervals)


@metric("customers.registered", "segment")
def registered_customers(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Registered customers (注册客户数): distinct customers with a `register` event on or
    before the day (cumulative)."""
    return _cumulative(events, calendar, window, "register")


@metric("customers.signed", "segment")
def signed_customers(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Signed customers (签约客户数): distinct customers who signed the mobile-banking service
    agreement (`sign` event) on or before the day (cumulative)."""
    return _cumulative(events, calendar, window, "sign")


@metric("customers.new", "segment", "channel")
def new_customers(events: ir.Table, calendar: ir.Table, window: Window, d: Definitions) -> ir.Table:
    """New customers (新增客户): customers whose first `register` event falls on the day."""
    t = events.filter((events.event_type == "register") & events.customer_hash.notnull())
    firsts = t.group_by("customer_hash").aggregate(
        day=t.day.min(), segment=t.segment.max(), channel=t.channel.max()
    )
    firsts = _in_window(firsts, window)
    return _by(
        firsts,
        {None: None, "segment": firsts.segment, "channel": firsts.channel},
        lambda g: g.customer_hash.nunique(),
    )


@metric("dau", "segment", "channel")
def daily_active_users(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """DAU (日活): distinct customers with at least one `login` event on the day."""
    logins = _in_window(
        events.filter((events.event_type == "login") & events.customer_hash.notnull()), window
    )
    return _by(
        logins,
        {None: None, "segment": logins.segment, "channel": logins.channel},
        lambda g: g.customer_hash.nunique(),
    )


@metric("mau", "segment")
def monthly_active_users(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """MAU (月活): distinct customers with at least one `login` in the 30 days ending on the
    day (the day and the 29 before it)."""
    anchors = _anchors(events, ("login",))
    return _calendar_count(calendar, _state_intervals(anchors, 0, 30, window))


@metric("customers.active", "segment")
def active_customers(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Active customers (活跃客户): registered customers whose last login — or registration,
    when they have not logged in since — is fewer than `active_days` (default 30) days
    before the day."""
    anchors = _anchors(events, ("register", "login"))
    return _calendar_count(calendar, _state_intervals(anchors, 0, d.active_days, window))


@metric("customers.dormant", "segment")
def dormant_customers(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Dormant customers (睡眠客户): no login (nor registration) for at least `dormant_days`
    (default 90) days, but for fewer than `churned_days` (default 180)."""
    anchors = _anchors(events, ("register", "login"))
    length = d.churned_days - d.dormant_days
    return _calendar_count(calendar, _state_intervals(anchors, d.dormant_days, length, window))


@metric("customers.churned", "segment")
def churned_customers(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Churned customers (流失客户): no login (nor registration) for at least `churned_days`
    (default 180) days."""
    anchors = _anchors(events, ("register", "login"))
    return _calendar_count(calendar, _state_intervals(anchors, d.churned_days, None, window))


# --------------------------------------------------------------------------- transactions


@metric("tx.count", "channel", "type", "segment")
def transaction_count(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Financial transactions (交易笔数): posted `transaction` events, by channel, type and
    segment. Counter (柜面) transactions are included, reported by the core system."""
    t = _in_window(_posted_transactions(events), window)
    return _by(
        t,
        {None: None, "channel": t.channel, "type": t.tx_type, "segment": t.segment},
        lambda g: g.count(),
    )


@metric("tx.amount", "channel", "type", "segment")
def transaction_amount(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Transaction amount (交易金额, CNY fen): sum of `amount_minor` of posted transactions."""
    t = _in_window(_posted_transactions(events), window)
    return _by(
        t,
        {None: None, "channel": t.channel, "type": t.tx_type, "segment": t.segment},
        lambda g: g.amount_minor.sum(),
    )


@metric("tx.electronic_count", "type")
def electronic_transaction_count(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Electronic financial transactions: posted transactions in an electronic channel
    (`electronic_channels`, default app, web, open_api, atm — everything but the counter).
    Electronic-channel substitution rate (电子渠道替代率) = tx.electronic_count / tx.count."""
    t = _in_window(_posted_transactions(events), window)
    t = t.filter(t.channel.isin(list(d.electronic_channels)))
    return _by(t, {None: None, "type": t.tx_type}, lambda g: g.count())


@metric("tx.blocked", "type")
def blocked_transactions(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Transactions stopped by risk control: `transaction` events named `blocked` or `held`."""
    t = _in_window(
        events.filter((events.event_type == "transaction") & events.name.isin(["blocked", "held"])),
        window,
    )
    return _by(t, {None: None, "type": t.tx_type}, lambda g: g.count())


def _bills(events: ir.Table, window: Window) -> ir.Table:
    t = _in_window(_posted_transactions(events), window)
    return t.filter(t.tx_type == "bill_payment")


@metric("bills.count", "biller", "scenario")
def bill_payment_count(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Bill payments (缴费笔数): posted transactions of type `bill_payment`, by biller and
    scenario."""
    t = _bills(events, window)
    return _by(t, {None: None, "biller": t.biller, "scenario": t.scenario}, lambda g: g.count())


@metric("bills.amount", "biller", "scenario")
def bill_payment_amount(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Bill-payment volume (缴费金额, CNY fen), by biller and scenario."""
    t = _bills(events, window)
    return _by(
        t, {None: None, "biller": t.biller, "scenario": t.scenario}, lambda g: g.amount_minor.sum()
    )


@metric("bills.fee", "biller", "scenario")
def bill_payment_fee(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Bill-payment fee income (手续费, CNY fen), by biller and scenario."""
    t = _bills(events, window)
    return _by(
        t, {None: None, "biller": t.biller, "scenario": t.scenario}, lambda g: g.fee_minor.sum()
    )


@metric("app.feature_use", "feature")
def feature_use(events: ir.Table, calendar: ir.Table, window: Window, d: Definitions) -> ir.Table:
    """Feature use (功能使用次数): `feature_use` events by feature name."""
    t = _in_window(events.filter(events.event_type == "feature_use"), window)
    return _by(t, {None: None, "feature": t.name}, lambda g: g.count())


@metric("app.screen_view", "screen")
def screen_views(events: ir.Table, calendar: ir.Table, window: Window, d: Definitions) -> ir.Table:
    """Screen views (页面浏览量): `screen_view` events by screen name."""
    t = _in_window(events.filter(events.event_type == "screen_view"), window)
    return _by(t, {None: None, "screen": t.name}, lambda g: g.count())


# --------------------------------------------------------------------------- cohorts


def _customer_milestones(events: ir.Table) -> ir.Table:
    t = events.filter(events.customer_hash.notnull())
    is_transfer = (t.event_type == "transaction") & (t.name == "posted") & (t.tx_type == "transfer")
    return t.group_by("customer_hash").aggregate(
        registered=t.day.min(where=t.event_type == "register"),
        first_login=t.day.min(where=t.event_type == "login"),
        first_transfer=t.day.min(where=is_transfer),
    )


def _funnel(events: ir.Table, window: Window, step: str | None) -> ir.Table:
    m = _customer_milestones(events)
    m = m.filter(
        m.registered.notnull() & (m.registered >= window.cohort_from) & (m.registered <= window.end)
    )
    if step is not None:
        reached = m[step]
        m = m.filter(reached.notnull() & (reached >= m.registered) & (reached <= window.end))
    g = m.group_by(day=m.registered).aggregate(value=m.count())
    return g.select(
        day=g.day.cast("int64"),
        dimension=ibis.literal(TOTAL),
        dimension_value=ibis.literal(TOTAL),
        value=g.value.cast("int64"),
    )


@metric("funnel.registered")
def funnel_registered(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Funnel step 1: customers who registered on the day (the cohort's size)."""
    return _funnel(events, window, None)


@metric("funnel.first_login")
def funnel_first_login(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Funnel step 2: of the customers who registered on the day, those who have logged in
    since (by the end of the computed window)."""
    return _funnel(events, window, "first_login")


@metric("funnel.first_transfer")
def funnel_first_transfer(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Funnel step 3: of the customers who registered on the day, those who have made a
    posted transfer since (by the end of the computed window)."""
    return _funnel(events, window, "first_transfer")


@metric("retention", "week")
def weekly_retention(
    events: ir.Table, calendar: ir.Table, window: Window, d: Definitions
) -> ir.Table:
    """Weekly retention cohorts (周留存): for customers who registered in the week starting on
    the day (a Monday), how many logged in during week k after it (k = 0..cohort_weeks);
    the total row is the cohort's size."""
    m = _customer_milestones(events)
    cohort_from = week_start(window.cohort_from)
    m = m.filter(m.registered.notnull() & (m.registered <= window.end))
    m = m.mutate(cohort=((m.registered + 3) // 7) * 7 - 3)
    m = m.filter(m.cohort >= cohort_from)
    sizes = m.group_by(day=m.cohort).aggregate(value=m.count())
    logins = events.filter(
        (events.event_type == "login") & events.customer_hash.notnull() & (events.day <= window.end)
    )
    logins = logins.select(logins.customer_hash, week=(logins.day + 3) // 7)
    joined = m.join(logins, m.customer_hash == logins.customer_hash)
    joined = joined.mutate(k=joined.week - (joined.cohort + 3) // 7)
    joined = joined.filter((joined.k >= 0) & (joined.k <= d.cohort_weeks))
    active = joined.group_by(day=joined.cohort, k=joined.k).aggregate(
        value=joined.customer_hash.nunique()
    )
    return ibis.union(
        sizes.select(
            day=sizes.day.cast("int64"),
            dimension=ibis.literal(TOTAL),
            dimension_value=ibis.literal(TOTAL),
            value=sizes.value.cast("int64"),
        ),
        active.select(
            day=active.day.cast("int64"),
            dimension=ibis.literal("week"),
            dimension_value=active.k.cast("string"),
            value=active.value.cast("int64"),
        ),
    )


COHORT_METRICS = frozenset(
    {"funnel.registered", "funnel.first_login", "funnel.first_transfer", "retention"}
)


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class MetricRow:
    day: int
    metric: str
    dimension: str
    dimension_value: str
    value: int


def metrics_table(
    events: ir.Table,
    window: Window,
    definitions: Definitions | None = None,
    names: list[str] | None = None,
) -> ir.Table:
    """All the metrics as one table (metric, day, dimension, dimension_value, value)."""
    d = definitions or Definitions()
    calendar = ibis.memtable(
        {"day": list(range(window.start, window.end + 1))}, schema={"day": "int64"}
    )
    parts = [
        REGISTRY[name].compute(events, calendar, window, d).mutate(metric=ibis.literal(name))
        for name in names or list(REGISTRY)
    ]
    return ibis.union(*parts)


def compute(
    events: ir.Table,
    window: Window,
    definitions: Definitions | None = None,
    *,
    names: list[str] | None = None,
    backend: ibis.BaseBackend | None = None,
) -> list[MetricRow]:
    """Run the registered metrics over `events` for `window`, as one query."""
    expr = metrics_table(events, window, definitions, names)
    frame = backend.to_pyarrow(expr) if backend is not None else expr.to_pyarrow()
    return [
        MetricRow(int(day), str(name), dimension or TOTAL, value_key or TOTAL, int(value or 0))
        for name, day, dimension, value_key, value in zip(
            frame.column("metric").to_pylist(),
            frame.column("day").to_pylist(),
            frame.column("dimension").to_pylist(),
            frame.column("dimension_value").to_pylist(),
            frame.column("value").to_pylist(),
            strict=True,
        )
    ]
