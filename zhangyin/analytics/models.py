"""Analytics tables: raw channel events, the daily metric aggregates, and metric definitions.

Only `zhangyin.analytics` writes them. Days are stored as integer epoch days of the
Beijing business date (days since 1970-01-01) so that the metric code does plain
integer arithmetic that means the same on SQLite, PostgreSQL, DuckDB and Spark.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhangyin.db import Base, UTCDateTime
from zhangyin.events import BigId


class AnalyticsEvent(Base):
    """One thing a customer did in a channel: login, screen view, feature use, transaction.

    `customer_hash` is a keyed hash of the customer id (never the id itself), so the
    event history can be analysed and exported without personal data.
    """

    __tablename__ = "analytics_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_uid: Mapped[str] = mapped_column(String(64), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    day: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))  # server | app | demo
    customer_hash: Mapped[str | None] = mapped_column(String(32), default=None)
    segment: Mapped[str] = mapped_column(String(20), default="")
    event_type: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60), default="")
    channel: Mapped[str] = mapped_column(String(12), default="app")
    tx_type: Mapped[str] = mapped_column(String(20), default="")
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    biller: Mapped[str] = mapped_column(String(40), default="")
    scenario: Mapped[str] = mapped_column(String(40), default="")
    elder_mode: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_analytics_events_day_type", "day", "event_type"),
        Index("ix_analytics_events_customer_day", "customer_hash", "day"),
    )


class DailyMetric(Base):
    """One figure of one day, in total (dimension '') or for one value of a dimension.

    Values are integers (counts, CNY fen); ratios are formed when read.
    """

    __tablename__ = "analytics_daily_metrics"

    # Key order = the dashboards' access path: one metric and dimension over a day range.
    metric: Mapped[str] = mapped_column(String(40), primary_key=True)
    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    dimension_value: Mapped[str] = mapped_column(String(60), primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class MetricDefinition(Base):
    """A parameter of a metric definition kept in data (e.g. dormant_days = 90)."""

    __tablename__ = "analytics_definitions"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(200), default="")


class AggregationRun(Base):
    """A day whose aggregates the nightly job has (re)computed."""

    __tablename__ = "analytics_aggregation_runs"

    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime())
