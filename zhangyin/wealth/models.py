"""Wealth tables. Only `zhangyin.wealth` writes them; money stays in the ledger.

A product (产品) is the bank's catalogue entry with its own settlement account in
the ledger. An order (订单) is a customer's subscription (申购/认购) or redemption
(赎回); its money moves at order time and its units are confirmed by the daily
batch at the next NAV. A holding (持仓) is what the customer owns: units of a
NAV product, or one lot of a deposit or fixed-term product.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhangyin.db import Base, UTCDateTime
from zhangyin.events import BigId


class ProductKind(enum.StrEnum):
    DEMAND_DEPOSIT = "demand_deposit"  # 活期储蓄 (interest accrued daily, paid quarterly)
    TERM_DEPOSIT = "term_deposit"  # 定期存款
    WMP_FIXED = "wmp_fixed"  # 封闭式理财: subscription window, fixed term, expected yield
    WMP_OPEN = "wmp_open"  # 开放式理财: daily NAV, T+1
    FUND = "fund"  # 公募基金: daily NAV, 15:00 cut-off, T+1 confirmation
    PENSION_FUND = "pension_fund"  # 个人养老金基金 (Y share class)

    @property
    def is_deposit(self) -> bool:
        return self in (ProductKind.DEMAND_DEPOSIT, ProductKind.TERM_DEPOSIT)

    @property
    def uses_nav(self) -> bool:
        return self in (ProductKind.WMP_OPEN, ProductKind.FUND, ProductKind.PENSION_FUND)


class AssetClass(enum.StrEnum):
    CASH = "cash"  # 现金类
    DEPOSIT = "deposit"  # 存款
    FIXED_INCOME = "fixed_income"  # 固收类
    EQUITY = "equity"  # 权益类


class ProductStatus(enum.StrEnum):
    ON_SALE = "on_sale"
    SUSPENDED = "suspended"


class OrderSide(enum.StrEnum):
    SUBSCRIBE = "subscribe"
    REDEEM = "redeem"


class OrderStatus(enum.StrEnum):
    PENDING = "pending"  # money moved, waiting for the confirmation batch
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class HoldingStatus(enum.StrEnum):
    ACTIVE = "active"
    MATURED = "matured"  # paid out at maturity
    CLOSED = "closed"  # redeemed in full


class WealthProduct(Base):
    __tablename__ = "wealth_products"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    asset_class: Mapped[str] = mapped_column(String(20))
    risk_level: Mapped[int] = mapped_column(Integer)  # R1..R5 (deposits: 1)
    currency: Mapped[str] = mapped_column(String(3))
    min_amount_minor: Mapped[int] = mapped_column(BigInteger)
    #: deposits: interest rate; WMP_FIXED: expected annual yield (业绩比较基准); in basis points
    rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    #: TERM_DEPOSIT early withdrawal at this rate (活期利率); None: early withdrawal refused
    early_rate_bp: Mapped[int | None] = mapped_column(Integer, default=None)
    term_days: Mapped[int | None] = mapped_column(Integer, default=None)
    subscription_fee_bp: Mapped[int] = mapped_column(Integer, default=0)
    redemption_fee_bp: Mapped[int] = mapped_column(Integer, default=0)
    cooling_off_hours: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[date | None] = mapped_column(Date, default=None)
    window_end: Mapped[date | None] = mapped_column(Date, default=None)
    pension_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12))
    document_version: Mapped[str] = mapped_column(String(20))
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    description_zh: Mapped[str] = mapped_column(String(500), default="")
    description_en: Mapped[str] = mapped_column(String(500), default="")
    settlement_account_id: Mapped[int] = mapped_column(BigId)
    #: demo NAV model: annual drift and volatility in basis points
    drift_bp: Mapped[int] = mapped_column(Integer, default=0)
    volatility_bp: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("risk_level BETWEEN 1 AND 5", name="risk_level_valid"),
        CheckConstraint("min_amount_minor > 0", name="min_amount_positive"),
        CheckConstraint("rate_bp >= 0", name="rate_not_negative"),
    )


class WealthNav(Base):
    """Net asset value per unit of a NAV product on a trading day (单位净值, 4 decimals)."""

    __tablename__ = "wealth_navs"

    product_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    nav_date: Mapped[date] = mapped_column(Date, primary_key=True)
    nav_e4: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(20))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("nav_e4 > 0", name="nav_positive"),)


class RiskAssessment(Base):
    """A completed risk-tolerance questionnaire (风险测评): level C1..C5, valid one year."""

    __tablename__ = "wealth_risk_assessments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    questionnaire_version: Mapped[str] = mapped_column(String(20))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("level BETWEEN 1 AND 5", name="level_valid"),)


class SuitabilityRefusal(Base):
    """A purchase refused by the suitability rule (适当性管理): kept as evidence."""

    __tablename__ = "wealth_suitability_refusals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    product_code: Mapped[str] = mapped_column(String(32))
    customer_level: Mapped[int | None] = mapped_column(Integer, default=None)
    product_risk: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DisclosureAck(Base):
    """The customer read and acknowledged a product's documents (产品说明书、风险揭示书)."""

    __tablename__ = "wealth_disclosure_acks"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    document_version: Mapped[str] = mapped_column(String(20))
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WealthOrder(Base):
    __tablename__ = "wealth_orders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    product_code: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    in_pension: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the customer's ledger account that pays (subscribe) or is paid (redeem)
    account_id: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    #: subscribe: the gross amount paid; redeem: the net amount paid out once confirmed
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: units in hundredths (份额, two decimals): redeem: asked; subscribe: confirmed
    units_e2: Mapped[int] = mapped_column(BigInteger, default=0)
    nav_e4: Mapped[int | None] = mapped_column(BigInteger, default=None)
    holding_id: Mapped[str | None] = mapped_column(String(36), default=None)
    trade_date: Mapped[date] = mapped_column(Date)
    confirm_date: Mapped[date] = mapped_column(Date)
    cancel_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cooling_off_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    transfer_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        CheckConstraint("amount_minor >= 0 AND fee_minor >= 0", name="amounts_not_negative"),
        CheckConstraint("units_e2 >= 0", name="units_not_negative"),
        CheckConstraint("side IN ('subscribe', 'redeem')", name="side_valid"),
        CheckConstraint("status IN ('pending', 'confirmed', 'cancelled')", name="status_valid"),
        Index("ix_wealth_orders_customer_id_created_at", "customer_id", "created_at"),
        Index("ix_wealth_orders_status_confirm_date", "status", "confirm_date"),
    )


class WealthHolding(Base):
    __tablename__ = "wealth_holdings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    product_code: Mapped[str] = mapped_column(String(32))
    in_pension: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    #: where redemptions, interest and maturity proceeds are paid
    payout_account_id: Mapped[int] = mapped_column(BigId)
    units_e2: Mapped[int] = mapped_column(BigInteger, default=0)
    #: units asked for redemption and not yet confirmed
    frozen_units_e2: Mapped[int] = mapped_column(BigInteger, default=0)
    #: deposits and fixed-term lots: the principal; NAV products: remaining cost basis
    principal_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    realized_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    rate_bp: Mapped[int] = mapped_column(Integer, default=0)
    #: interest accrued and not yet paid, in millionths of a minor unit
    accrued_micro: Mapped[int] = mapped_column(BigInteger, default=0)
    interest_paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    #: interest is accrued for the days before this date
    accrued_until: Mapped[date | None] = mapped_column(Date, default=None)
    start_date: Mapped[date] = mapped_column(Date)
    maturity_date: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "units_e2 >= 0 AND frozen_units_e2 >= 0 AND frozen_units_e2 <= units_e2",
            name="units_valid",
        ),
        CheckConstraint(
            "principal_minor >= 0 AND cost_minor >= 0 AND accrued_micro >= 0",
            name="amounts_not_negative",
        ),
        Index("ix_wealth_holdings_status_maturity_date", "status", "maturity_date"),
    )


class PensionAccount(Base):
    """Personal pension account (个人养老金资金账户): one per customer, own ledger account."""

    __tablename__ = "wealth_pension_accounts"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ledger_account_id: Mapped[int] = mapped_column(BigId, unique=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PensionMovement(Base):
    """A contribution (缴存) or withdrawal (领取) of the pension account, by tax year."""

    __tablename__ = "wealth_pension_movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))  # contribution | withdrawal
    tax_year: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    reason: Mapped[str | None] = mapped_column(String(20), default=None)
    transfer_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("amount_minor > 0 AND tax_minor >= 0", name="amounts_valid"),
        CheckConstraint("kind IN ('contribution', 'withdrawal')", name="kind_valid"),
        Index("ix_wealth_pension_movements_customer_id_tax_year", "customer_id", "tax_year"),
    )
