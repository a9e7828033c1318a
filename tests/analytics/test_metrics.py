"""Metric definitions on a hand-made week whose answers are worked out in factories.py.

The same metric code runs inside SQLite and PostgreSQL (the `db` fixture gives both),
in DuckDB, and in local Spark, and must give the same numbers everywhere.
"""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.analytics.factories import (
    EXPECTED_TOTALS,
    EXPECTED_ZERO,
    MONDAY,
    B,
    as_columns,
    week_of_events,
)
from zhangyin.analytics import metrics, service
from zhangyin.analytics.models import DailyMetric
from zhangyin.db import Database

WINDOW = metrics.Window(B, B + 6, cohort_start=B)


def _totals(rows: list[metrics.MetricRow]) -> dict[tuple[str, int], int]:
    return {(r.metric, r.day - B): r.value for r in rows if r.dimension == ""}


def _dimensioned(rows: list[metrics.MetricRow]) -> dict[tuple[str, int, str, str], int]:
    return {(r.metric, r.day - B, r.dimension, r.dimension_value): r.value for r in rows}


def _check(rows: list[metrics.MetricRow]) -> None:
    totals = _totals(rows)
    for name, by_day in EXPECTED_TOTALS.items():
        for offset, value in by_day.items():
            assert totals.get((name, offset), 0) == value, f"{name} on B+{offset}"
    for name, offsets in EXPECTED_ZERO.items():
        for offset in offsets:
            assert totals.get((name, offset), 0) == 0, f"{name} on B+{offset}"
    dims = _dimensioned(rows)
    # Drill-downs: by segment, channel, type, biller.
    assert dims[("customers.new", 0, "segment", "elder")] == 1
    assert dims[("customers.new", 0, "segment", "adult")] == 1
    assert dims[("dau", 2, "channel", "web")] == 1
    assert dims[("mau", 5, "segment", "adult")] == 2  # A and O
    assert dims[("customers.dormant", 0, "segment", "adult")] == 1  # O
    assert dims[("tx.count", 3, "channel", "counter")] == 1
    assert dims[("tx.amount", 1, "type", "transfer")] == 10_000
    assert dims[("bills.fee", 3, "biller", "power")] == 100
    assert dims[("bills.amount", 3, "scenario", "utilities")] == 5_000
    # Weekly retention: the cohort of week B is A, E, Y; A and E logged in during week 0.
    assert totals[("retention", 0)] == 3
    assert dims[("retention", 0, "week", "0")] == 2


def test_metric_definitions_on_the_database_and_reaggregation(db: Database) -> None:
    db.run(lambda s: service.record_events(s, week_of_events()))
    result = service.aggregate(db, MONDAY, MONDAY + timedelta(days=6))
    assert result.rows > 0
    stored = db.run(lambda s: list(s.scalars(select(DailyMetric))))
    rows = [
        metrics.MetricRow(m.day, m.metric, m.dimension, m.dimension_value, m.value) for m in stored
    ]
    _check(rows)
    # The overview reads the aggregates: substitution rate 1 electronic of 2 transactions.
    figures = db.run(
        lambda s: service.period_figures(s, MONDAY, MONDAY + timedelta(days=6), None)
    ).figures
    assert figures["substitution_rate"] == 0.5
    assert figures["customers.registered"] == 3
    assert figures["dau.average"] == round(4 / 7, 1)
    assert figures["dau_mau"] == round(4 / 7 / 3, 4)
    # Aggregating the same days again replaces the rows rather than adding to them.
    end = MONDAY + timedelta(days=6)
    service.aggregate(db, MONDAY, end)
    again = db.run(lambda s: service.series(s, ["tx.count"], MONDAY, end))
    assert again["tx.count"] == [0, 1, 0, 1, 0, 0, 0]
    steps = db.run(lambda s: service.funnel(s, MONDAY, MONDAY + timedelta(days=6)))
    assert [(x.step, x.customers) for x in steps] == [
        ("registered", 3),
        ("first_login", 2),
        ("first_transfer", 1),
    ]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_definitions_live_in_data(db: Database) -> None:
    """Dormant after 3 days instead of 90: the definition changes, not the code."""
    db.run(lambda s: service.record_events(s, week_of_events()))
    db.run(lambda s: service.set_definition(s, "active_days", "3"))
    db.run(lambda s: service.set_definition(s, "dormant_days", "3"))
    service.aggregate(db, MONDAY, MONDAY + timedelta(days=6))
    dormant = db.run(
        lambda s: service.series(s, ["customers.dormant"], MONDAY, MONDAY + timedelta(days=6))
    )["customers.dormant"]
    # A: last login B+1 -> dormant from B+4; E: B+2 -> from B+5; Y: registered B+1 -> from B+4;
    # O: dormant (B-97 .. B+4), back on B+5. So B+4: A, Y, O; B+5 and B+6: A, Y, E.
    assert dormant == [1, 1, 1, 1, 3, 3, 3]


def test_metric_definitions_on_duckdb() -> None:
    import pyarrow as pa

    from zhangyin.analytics.engine import duckdb_events

    con, events = duckdb_events(pa.table(as_columns(week_of_events())))
    _check(metrics.compute(events, WINDOW, backend=con))


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="local Spark needs a Java runtime")
def test_metric_definitions_on_local_spark() -> None:
    import pandas as pd

    from zhangyin.analytics.engine import spark_events, spark_session

    session = spark_session("zhangyin-metrics-test", master="local[1]", partitions=1, small=True)
    con, events = spark_events(session, pd.DataFrame(as_columns(week_of_events())))
    _check(metrics.compute(events, WINDOW, backend=con))
