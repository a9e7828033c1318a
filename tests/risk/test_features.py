"""Features: what each means, and the same value whether kept in the database, Redis or memory."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import select

from tests.risk.factories import NOON, PAYEE, assess, complete, ctx
from zhangyin.db import Database
from zhangyin.risk import service
from zhangyin.risk.features import (
    HISTORY_LIMIT,
    DatabaseEventStore,
    History,
    MemoryEventStore,
    PastEvent,
    RedisEventStore,
    compute,
    to_us,
)
from zhangyin.risk.models import RiskDecision
from zhangyin.risk.service import EngineConfig, RiskEngine

REDIS_URL = "redis://127.0.0.1:6379/0"


def _event(at: datetime, amount: int, customer: str = "cust-1", payee: str = PAYEE) -> PastEvent:
    return PastEvent(to_us(at), amount, customer, uuid.uuid4().hex, payee)


def test_windows_count_and_sum_only_what_falls_inside_them() -> None:
    events = [
        _event(NOON - timedelta(minutes=5), 10_000),
        _event(NOON - timedelta(minutes=30), 20_000),
        _event(NOON - timedelta(hours=5), 40_000),
        _event(NOON - timedelta(days=3), 80_000),
        _event(NOON - timedelta(days=20), 160_000),
    ]
    f = compute(ctx(), History({"customer": events}, None, 0))
    assert [f[f"customer.count_{w}"] for w in ("10m", "1h", "24h", "7d", "30d")] == [1, 2, 3, 4, 5]
    assert f["customer.sum_10m"] == 100.0
    assert f["customer.sum_30d"] == 3100.0
    assert f["customer.amount_max_30d"] == 1600.0
    assert f["customer.amount_mean_30d"] == 620.0
    assert f["account.count_30d"] == 0


def test_beijing_time_of_day_and_night() -> None:
    late = compute(ctx(occurred_at=datetime(2026, 11, 18, 18, 5, tzinfo=UTC)), History({}, None, 0))
    assert (late["hour_local"], late["night"], late["weekday_local"]) == (2, True, 4)
    day = compute(ctx(), History({}, None, 0))
    assert (day["hour_local"], day["night"]) == (10, False)


def test_amount_against_own_history_and_small_then_large() -> None:
    small = [_event(NOON - timedelta(minutes=m), 10_000, payee=f"p{m}") for m in (10, 20, 30)]
    f = compute(ctx(amount_minor=2_000_000), History({"customer": small}, None, 0))
    assert f["customer.small_count_1h"] == 3
    assert f["customer.small_then_large"] is True
    assert f["customer.amount_zscore"] is None  # no spread in the history
    assert f["customer.amount_to_max"] == 200.0
    assert f["customer.distinct_payees_24h"] == 3
    steady = compute(ctx(amount_minor=20_000), History({"customer": small}, None, 0))
    assert steady["customer.small_then_large"] is False


def test_identity_facts_become_ages_and_missing_stays_missing() -> None:
    f = compute(
        ctx(
            device_first_seen_at=NOON - timedelta(hours=2),
            last_password_change_at=NOON - timedelta(hours=30),
            last_login_at=NOON - timedelta(seconds=12),
            customer_since=NOON - timedelta(days=3),
            last_phone_change_at=None,
        ),
        History({}, None, 0),
    )
    assert f["device.new"] is True and f["device.age_hours"] == 2.0
    assert f["password_changed_hours"] == 30.0
    assert f["phone_changed_hours"] is None
    assert f["login_to_transfer_seconds"] == 12.0
    assert f["customer.age_days"] == 3.0
    no_payee = compute(ctx(payee_account_number=None), History({}, None, 0))
    assert no_payee["payee.first_time"] is None and no_payee["payee.watchlist"] is None


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"zy:test:{uuid.uuid4().hex[:10]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)


def _history_scenario(db: Database) -> None:
    """Payments from several customers, devices and IPs, some completed, one reported."""
    start = datetime.now(UTC) - timedelta(days=40)
    for i in range(40):
        at = start + timedelta(hours=23 * i, minutes=i)
        decision = assess(
            db,
            ctx(
                customer_id=f"c{i % 3}",
                account_id=i % 3 + 1,
                payee_account_number=PAYEE if i % 4 else f"62220202000099{i:04d}",
                amount_minor=5_000 + 1_000 * i,
                device_id=f"d{i % 2}",
                ip=f"10.0.0.{i % 5}",
                occurred_at=at,
            ),
        )
        if i % 3 == 0:
            complete(db, decision, reference=f"ref-{i}")
    victim = assess(db, ctx(customer_id="v", account_id=9, occurred_at=datetime.now(UTC)))
    complete(db, victim, reference="victim")
    db.run(lambda s: service.report_fraud(s, "v", "victim", "fraud"))


def test_same_feature_gives_the_same_value_in_the_database_and_in_redis(
    db: Database, redis_prefix: str
) -> None:
    engine = RiskEngine(EngineConfig(redis_url=REDIS_URL, redis_prefix=redis_prefix))
    service.configure(engine)
    _history_scenario(db)
    assert isinstance(engine.store, RedisEventStore)
    now = datetime.now(UTC)
    # Decisions happen now; Redis keeps a week more than the longest window, so a
    # decision dated up to a week back sees the same history too.
    probes = [
        ctx(customer_id="c1", account_id=2, occurred_at=now),
        ctx(customer_id="c0", account_id=1, device_id="d0", occurred_at=now),
        ctx(
            customer_id="c2", payee_account_number="62220202000099", ip="10.0.0.3", occurred_at=now
        ),
        ctx(customer_id="x", occurred_at=now - timedelta(days=6)),
    ]
    redis_store, db_store = engine.store, DatabaseEventStore()
    compared = 0
    for probe in probes:
        from_redis = db.run(lambda s, p=probe: compute(p, redis_store.history(s, p)))
        from_db = db.run(lambda s, p=probe: compute(p, db_store.history(s, p)))
        assert from_redis == from_db
        compared += sum(1 for v in from_db.values() if v not in (None, 0, 0.0, False))
    assert compared > 50  # the scenario really exercised the features


def test_memory_store_gives_the_same_values_as_the_database(db: Database) -> None:
    _history_scenario(db)
    memory = MemoryEventStore()
    rows = db.run(lambda s: s.scalars(select(RiskDecision)).all())
    for row in sorted(rows, key=lambda r: r.occurred_us):
        memory.record(None, row)  # type: ignore[arg-type]
        if row.status == "completed":
            memory.mark_completed(None, row)  # type: ignore[arg-type]
        if row.fraud_label:
            memory.mark_fraud(None, row)  # type: ignore[arg-type]
    probe = ctx(customer_id="c1", account_id=2, occurred_at=datetime.now(UTC))
    from_db = db.run(lambda s: compute(probe, DatabaseEventStore().history(s, probe)))
    assert compute(probe, memory.history_of(probe)) == from_db
    assert from_db["payee.fraud_reports_30d"] == 1


def test_a_hot_payee_costs_a_bounded_read() -> None:
    memory = MemoryEventStore()
    for i in range(HISTORY_LIMIT + 50):
        memory.add(ctx(customer_id=f"c{i}", occurred_at=NOON - timedelta(minutes=i + 1)), f"d{i}")
    f = compute(ctx(), memory.history_of(ctx()))
    assert f["payee.count_30d"] == HISTORY_LIMIT
