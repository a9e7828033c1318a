"""Channel analytics: dashboard latency from the daily aggregates, and aggregation throughput.

    python bench/analytics.py [--customers 100000] [--pg-customers 20000]
                              [--spark-customers 2000] [--queries 100] [--no-spark]

1. Generates 12 months of demo history for --customers (tens of millions of events at
   100,000) into DuckDB, week by week, and runs the nightly aggregation over the whole
   year there (the same Ibis metric code the server runs): seconds per million events.
2. Stores those aggregates in a throwaway PostgreSQL database migrated like production,
   and times the overview dashboard's queries (overview with previous period, DAU/MAU
   series, a drill-down breakdown, funnel, cohorts) for random 30-day ranges: p50/p95.
   Target: p95 under 300 ms. Anchor: one `SELECT 1` round trip on the same connection.
3. Loads --pg-customers' history into PostgreSQL and aggregates it there: s per million.
4. Runs the same aggregation on local Spark (PySpark, local[2]) over --spark-customers'
   history: s per million, printed beside DuckDB's and PostgreSQL's.

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from sqlalchemy import text

from bench.pg import throwaway_database, url_for
from zhangyin.analytics import metrics, service
from zhangyin.analytics.demo import COLUMNS, FIELDS, generate_chunks, history_span
from zhangyin.db import Database
from zhangyin.migrate import upgrade


def _arrow(chunk: dict[str, np.ndarray]) -> Any:
    import pyarrow as pa

    return pa.table({c: chunk[c] for c in COLUMNS})


def duckdb_history(customers: int, end: date) -> tuple[Any, Any, int]:
    import ibis

    con = ibis.duckdb.connect()
    total = 0
    table = None
    for chunk in generate_chunks(customers, end, chunk_days=14):
        arrow = _arrow(chunk)
        total += arrow.num_rows
        if table is None:
            table = con.create_table("analytics_events", arrow)
        else:
            con.insert("analytics_events", arrow)
    return con, con.table("analytics_events"), total


def aggregate_on(con: Any, events: Any, window: metrics.Window) -> tuple[list[Any], float]:
    began = time.perf_counter()
    rows = metrics.compute(events, window, backend=con)
    return rows, time.perf_counter() - began


def copy_to_postgres(db: Database, customers: int, end: date) -> int:
    """COPY the history into analytics_events (the demo loader's shape)."""
    import psycopg

    now = datetime.now(UTC)
    total = 0
    url = db.url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for chunk in generate_chunks(customers, end, seed=9, chunk_days=14):
            n = len(chunk["day"])
            days = chunk["day"]
            with cur.copy(f"COPY analytics_events ({', '.join(FIELDS)}) FROM STDIN") as copy:
                for j in range(n):
                    day = int(days[j])
                    stamp = datetime(1970, 1, 1, 4, tzinfo=UTC) + timedelta(days=day)
                    copy.write_row(
                        (
                            f"bench-{total + j}",
                            stamp,
                            now,
                            day,
                            "bench",
                            chunk["customer_hash"][j],
                            chunk["segment"][j],
                            chunk["event_type"][j],
                            chunk["name"][j],
                            chunk["channel"][j],
                            chunk["tx_type"][j],
                            int(chunk["amount_minor"][j]),
                            int(chunk["fee_minor"][j]),
                            chunk["biller"][j],
                            chunk["scenario"][j],
                            chunk["segment"][j] == "elder",
                        )
                    )
            total += n
        conn.commit()
    with db.engine.begin() as c:
        c.execute(text("ANALYZE analytics_events"))
    return total


def dashboard_load(db: Database, end: date) -> float:
    """What the overview screen asks for one 30-day range; seconds."""
    start = end - timedelta(days=29)
    began = time.perf_counter()

    def work(session: Any) -> None:
        service.overview(session, start, end, None)
        service.series(session, ["dau", "mau"], start, end)
        service.breakdown(session, "tx.count", "channel", start, end)
        service.funnel(session, start, end)
        service.cohorts(session, start, end)

    db.run(work)
    return time.perf_counter() - began


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--pg-customers", type=int, default=20_000)
    parser.add_argument("--spark-customers", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--no-spark", action="store_true")
    args = parser.parse_args()

    start, end = history_span(date(2026, 10, 31))
    window = metrics.Window(
        metrics.epoch_day(start), metrics.epoch_day(end), cohort_start=metrics.epoch_day(start)
    )
    result: dict[str, Any] = {"bench": "analytics", "customers": args.customers}

    t = time.perf_counter()
    con, events, n_events = duckdb_history(args.customers, end)
    print(
        f"generated {n_events:,} events for {args.customers:,} customers"
        f" in {time.perf_counter() - t:.0f}s"
    )
    rows, duck_s = aggregate_on(con, events, window)
    result.update(
        events=n_events,
        duckdb_s=round(duck_s, 1),
        duckdb_s_per_million=round(duck_s / n_events * 1e6, 2),
    )
    print(
        f"DuckDB aggregation: {duck_s:.1f}s ({duck_s / n_events * 1e6:.2f} s per million"
        f" events), {len(rows):,} aggregate rows"
    )
    con.disconnect()

    with throwaway_database("zy_bench_analytics") as name:
        db = Database(url_for(name))
        upgrade(db)
        db.run(lambda s: service.store_metric_rows(s, rows, window))
        ping = []
        for _ in range(50):
            began = time.perf_counter()
            db.run(lambda s: s.execute(text("SELECT 1")))
            ping.append(time.perf_counter() - began)
        rng = random.Random(3)
        loads = [
            dashboard_load(db, end - timedelta(days=rng.randrange(0, 300)))
            for _ in range(args.queries)
        ]
        p50, p95 = statistics.median(loads) * 1000, percentile(loads, 0.95) * 1000
        anchor = statistics.median(ping) * 1000
        result.update(
            overview_p50_ms=round(p50, 1),
            overview_p95_ms=round(p95, 1),
            select1_ms=round(anchor, 2),
            overview_p95_over_select1=round(p95 / anchor, 1),
        )
        print(
            "overview dashboard (5 queries, 30-day range) from aggregates:"
            f" p50 {p50:.1f} ms, p95 {p95:.1f} ms (target < 300 ms);"
            f" SELECT 1 round trip {anchor:.2f} ms"
        )

        if args.pg_customers:
            t = time.perf_counter()
            n_pg = copy_to_postgres(db, args.pg_customers, end)
            print(f"loaded {n_pg:,} events into PostgreSQL in {time.perf_counter() - t:.0f}s")
            began = time.perf_counter()
            service.aggregate(db, start, end)
            pg_s = time.perf_counter() - began
            result.update(
                pg_events=n_pg,
                postgres_s=round(pg_s, 1),
                postgres_s_per_million=round(pg_s / n_pg * 1e6, 2),
            )
            print(
                f"PostgreSQL aggregation: {pg_s:.1f}s"
                f" ({pg_s / n_pg * 1e6:.2f} s per million events)"
            )
        db.dispose()

    if not args.no_spark and args.spark_customers:
        import pandas as pd

        from zhangyin.analytics.engine import spark_events, spark_session

        chunks = list(generate_chunks(args.spark_customers, end, seed=5, chunk_days=28))
        frame = pd.DataFrame({c: np.concatenate([ch[c] for ch in chunks]) for c in COLUMNS})
        session = spark_session("zhangyin-bench")
        spark_con, spark_table = spark_events(session, frame)
        _, spark_s = aggregate_on(spark_con, spark_table, window)
        result.update(
            spark_events=len(frame),
            spark_s=round(spark_s, 1),
            spark_s_per_million=round(spark_s / len(frame) * 1e6, 2),
        )
        print(
            f"Spark (local[2]) aggregation: {spark_s:.1f}s over {len(frame):,} events"
            f" ({spark_s / len(frame) * 1e6:.2f} s per million)"
        )
        session.stop()

    print(
        "seconds per million events:",
        {k: result.get(f"{k}_s_per_million") for k in ("duckdb", "postgres", "spark")},
    )
    result["machine"] = f"{platform.machine()}, {platform.python_version()}"
    print(json.dumps(result))


if __name__ == "__main__":
    main()
