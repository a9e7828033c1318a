"""Ibis connections for the metric code: the application's own database, DuckDB or Spark.

The nightly job reads `analytics_events` where it lives (SQLite or PostgreSQL) through
Ibis, so the metric queries run inside the database; a bank whose history outgrows one
database points the same code at a Spark session (`spark_events`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy.engine import make_url

from zhangyin.db import Database

EVENT_COLUMNS = (
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


def connect(url: str) -> ibis.BaseBackend:
    """An Ibis backend on the database at a SQLAlchemy URL."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return ibis.sqlite.connect(parsed.database or ":memory:")
    if backend == "postgresql":
        return ibis.postgres.connect(
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username,
            password=parsed.password,
            database=parsed.database,
        )
    raise ValueError(f"no Ibis backend for {backend}")


@contextmanager
def events_of(db: Database) -> Iterator[tuple[ibis.BaseBackend, ir.Table]]:
    """The event table of the application's database, as an Ibis table."""
    con = connect(db.url)
    try:
        table = con.table("analytics_events")
        yield con, table.select(*EVENT_COLUMNS)
    finally:
        con.disconnect()


def duckdb_events(rows: Any) -> tuple[ibis.BaseBackend, ir.Table]:
    """An in-memory DuckDB holding `rows` (anything pyarrow/pandas-like) as the event table."""
    con = ibis.duckdb.connect()
    return con, con.create_table("analytics_events", rows)


def spark_session(
    app_name: str = "zhangyin-analytics",
    *,
    master: str = "local[2]",
    partitions: int = 4,
    small: bool = False,
) -> Any:
    """A local Spark session (PySpark with the JVM it finds: Java 17 here)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.default.parallelism", str(partitions))
        .config("spark.driver.memory", "2g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.log.level", "ERROR")
        .config("spark.ui.showConsoleProgress", "false")
        # Small test inputs: compiling generated code costs more than it saves.
        .config("spark.sql.codegen.wholeStage", "false" if small else "true")
        .getOrCreate()
    )


def spark_events(session: Any, frame: Any) -> tuple[ibis.BaseBackend, ir.Table]:
    """The event table as a Spark temporary view, behind Ibis's PySpark backend."""
    con = ibis.pyspark.connect(session)
    session.createDataFrame(frame).createOrReplaceTempView("analytics_events")
    return con, con.table("analytics_events")
