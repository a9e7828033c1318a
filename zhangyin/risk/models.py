"""Risk tables. Only `zhangyin.risk` writes them.

`risk_decisions` is the risk domain's own transaction log: every assessment with
the features, rule hits and score at decision time, what became of the
transaction (fed back by payments) and its fraud label. Features, backtests,
model training and AML reports all read it; no other domain's tables are read.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhangyin.db import Base, UTCDateTime
from zhangyin.events import BigId

AML_UNBOOKED = text("status = 'completed' AND aml_business_date IS NULL")


class RuleStatus(enum.StrEnum):
    DRAFT = "draft"
    SHADOW = "shadow"  # evaluated and logged, never acts
    LIVE = "live"
    RETIRED = "retired"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    APPROVED = "approved"
    REJECTED = "rejected"


class CaseKind(enum.StrEnum):
    HOLD = "hold"  # a transfer held for review
    CUSTOMER_REPORT = "customer_report"  # a customer says a transfer was fraud
    INCOMING_WATCHLIST = "incoming_watchlist"  # a credit from a watch-listed payer


class RiskState(Base):
    """One row: versions that workers compare to their caches (the cheap version check)."""

    __tablename__ = "risk_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rules_version: Mapped[int] = mapped_column(Integer, default=0)
    watchlist_version: Mapped[int] = mapped_column(Integer, default=0)
    model_version: Mapped[str | None] = mapped_column(String(40), default=None)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RiskRule(Base):
    """One version of a rule; `key` names the rule across its versions."""

    __tablename__ = "risk_rules"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    expression: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(12))
    reason_code: Mapped[str] = mapped_column(String(60))
    message_zh: Mapped[str] = mapped_column(String(300))
    message_en: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), index=True)
    author: Mapped[str] = mapped_column(String(64))
    rationale: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str | None] = mapped_column(String(64), default=None)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (UniqueConstraint("key", "version", name="uq_risk_rules_key_version"),)


class RiskDecision(Base):
    __tablename__ = "risk_decisions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    operation: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    payee_account_number: Mapped[str | None] = mapped_column(String(40), default=None)
    payee_name: Mapped[str | None] = mapped_column(String(100), default=None)
    payee_bank_code: Mapped[str | None] = mapped_column(String(20), default=None)
    device_id: Mapped[str | None] = mapped_column(String(128), default=None)
    ip: Mapped[str | None] = mapped_column(String(64), default=None)
    channel: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: occurred_at as integer microseconds since the epoch: feature windows compare
    #: integers on the hot path instead of parsing timestamps.
    occurred_us: Mapped[int] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(12))
    score: Mapped[float | None] = mapped_column(Float, default=None)
    rule_hits: Mapped[list[str]] = mapped_column(JSON)
    shadow_hits: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    rules_version: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str | None] = mapped_column(String(40), default=None)
    failsafe: Mapped[bool] = mapped_column(Boolean, default=False)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    reference: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    fraud_label: Mapped[bool | None] = mapped_column(Boolean, default=None)
    labeled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    label_source: Mapped[str | None] = mapped_column(String(30), default=None)
    #: The business day whose AML run counted this settled transaction: set once, by
    #: that run, so a transaction is in exactly one day's reports however late it settled.
    aml_business_date: Mapped[date | None] = mapped_column(Date, default=None)

    __table_args__ = (
        Index("ix_risk_decisions_customer", "customer_id", "occurred_us"),
        Index("ix_risk_decisions_account", "account_id", "occurred_us"),
        Index("ix_risk_decisions_payee", "payee_account_number", "occurred_us"),
        Index("ix_risk_decisions_device", "device_id", "occurred_us"),
        Index("ix_risk_decisions_ip", "ip", "occurred_us"),
        Index("ix_risk_decisions_payee_label", "payee_account_number", "labeled_at"),
        Index("ix_risk_decisions_known_payee", "customer_id", "payee_account_number", "status"),
        Index("ix_risk_decisions_occurred", "occurred_at"),
        Index("ix_risk_decisions_aml_business_date", "aml_business_date"),
        # Settled transactions no AML run has counted yet: a handful at any time.
        Index(
            "ix_risk_decisions_aml_unbooked",
            "status_at",
            postgresql_where=AML_UNBOOKED,
            sqlite_where=AML_UNBOOKED,
        ),
    )


class RiskCase(Base):
    __tablename__ = "risk_cases"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), index=True)
    decision_id: Mapped[str | None] = mapped_column(
        ForeignKey("risk_decisions.id"), default=None, index=True
    )
    customer_id: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    reference: Mapped[str | None] = mapped_column(String(64), default=None)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    payee_account_number: Mapped[str | None] = mapped_column(String(40), default=None)
    payee_name: Mapped[str | None] = mapped_column(String(100), default=None)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    rule_hits: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    top_features: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(1000), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decision_note: Mapped[str] = mapped_column(String(1000), default="")
    fraud_confirmed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    payee_frozen: Mapped[bool] = mapped_column(Boolean, default=False)


class RiskModel(Base):
    """A trained model version: its text (LightGBM), feature list and metrics."""

    __tablename__ = "risk_models"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(12))  # candidate, live, retired
    feature_names: Mapped[list[str]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_text: Mapped[str] = mapped_column(Text)
    trained_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WatchlistEntry(Base):
    __tablename__ = "risk_watchlist"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    list_name: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    name_key: Mapped[str] = mapped_column(String(100))  # simplified, no spaces or punctuation
    pinyin: Mapped[str] = mapped_column(String(300))
    account_number: Mapped[str | None] = mapped_column(String(40), default=None, index=True)
    reason: Mapped[str] = mapped_column(String(300))
    added_by: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AmlThreshold(Base):
    """A reporting threshold held in data (PBOC large-value transaction reporting)."""

    __tablename__ = "risk_aml_thresholds"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    party: Mapped[str] = mapped_column(String(12))  # individual, company
    operations: Mapped[list[str]] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    threshold_minor: Mapped[int] = mapped_column(BigInteger)
    description_zh: Mapped[str] = mapped_column(String(200))
    description_en: Mapped[str] = mapped_column(String(200))


class AmlReport(Base):
    __tablename__ = "risk_aml_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(12))  # large_value, suspicious
    rule_code: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(BigInteger)
    tx_count: Mapped[int] = mapped_column(Integer)
    decision_ids: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending_review, reported, dismissed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    note: Mapped[str] = mapped_column(String(1000), default="")

    __table_args__ = (
        UniqueConstraint(
            "business_date",
            "kind",
            "rule_code",
            "customer_id",
            "currency",
            name="uq_risk_aml_reports_identity",
        ),
    )


class AmlRun(Base):
    """One row per business day whose AML reports were generated (the daily job's record).

    The periodic job generates each ended day whose row is missing, so a day is
    generated once even after downtime or with several workers.
    """

    __tablename__ = "risk_aml_runs"

    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    report_count: Mapped[int] = mapped_column(Integer)
