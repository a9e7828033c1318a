"""Payments tables. Only `zhangyin.payments` writes them; balances stay in the ledger.

A `PaymentTransfer` is the customer's view of one payment (转账): its status
machine, the risk decision it got, and the ledger transfer (a posting or a
two-phase hold) that moves its money. Every status change also lands in
`payments_transfer_events`, which is the timeline the app shows.
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
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhangyin.db import Base, UTCDateTime
from zhangyin.events import BigId


class TransferStatus(enum.StrEnum):
    COMPLETED = "completed"
    PENDING_CHALLENGE = "pending_challenge"
    DELAYED = "delayed"
    HELD_FOR_REVIEW = "held_for_review"
    PROCESSING = "processing"  # interbank: sent to (or waiting for) the clearing house
    RETURNED = "returned"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SCHEDULED = "scheduled"  # a future-dated run not yet due (never used for instant ones)


FINAL_STATUSES = frozenset(
    {
        TransferStatus.COMPLETED,
        TransferStatus.RETURNED,
        TransferStatus.REJECTED,
        TransferStatus.CANCELLED,
    }
)


class TransferKind(enum.StrEnum):
    INTRA = "intra"  # to another Zhangyin account (行内转账)
    INTERBANK = "interbank"  # to another bank through the clearing house (跨行转账)
    BILL = "bill"  # to a biller's settlement account (生活缴费)
    QR = "qr"  # scanned a receive code (扫码付款)


class Arrival(enum.StrEnum):
    INSTANT = "instant"
    TWO_HOURS = "2h"
    TWENTY_FOUR_HOURS = "24h"


class PaymentTransfer(Base):
    __tablename__ = "payments_transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(12))
    from_account_id: Mapped[int] = mapped_column(BigInteger)
    to_account_number: Mapped[str] = mapped_column(String(34))
    to_name: Mapped[str] = mapped_column(String(100))
    to_bank_code: Mapped[str | None] = mapped_column(String(11), default=None)
    to_account_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str] = mapped_column(String(140), default="")
    arrival: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(200), default=None)
    risk_decision_id: Mapped[str | None] = mapped_column(String(64), default=None)
    risk_outcome: Mapped[str | None] = mapped_column(String(12), default=None)
    challenge_id: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The ledger transfer that moves the money: a posting, or a hold until it resolves.
    ledger_transfer_id: Mapped[str | None] = mapped_column(String(36), default=None)
    #: The ledger transfer of a return (pacs.004) that brought the money back.
    return_ledger_transfer_id: Mapped[str | None] = mapped_column(String(36), default=None)
    #: When a delayed transfer posts, or when an interbank send is next attempted.
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: The run of a scheduled transfer, or another origin that must create it once.
    origin_key: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    clearing_message_id: Mapped[str | None] = mapped_column(String(35), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(
            "status IN ('completed', 'pending_challenge', 'delayed', 'held_for_review',"
            " 'processing', 'returned', 'rejected', 'cancelled', 'scheduled')",
            name="status_valid",
        ),
        Index("ix_payments_transfers_customer_created", "customer_id", "created_at"),
        Index("ix_payments_transfers_status_due", "status", "due_at"),
    )


class TransferEvent(Base):
    """One step of a transfer's timeline (shown in the transfer detail)."""

    __tablename__ = "payments_transfer_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    transfer_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Payee(Base):
    """A saved payee (常用收款人)."""

    __tablename__ = "payments_payees"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    account_number: Mapped[str] = mapped_column(String(34))
    name: Mapped[str] = mapped_column(String(100))
    bank_code: Mapped[str | None] = mapped_column(String(11), default=None)
    nickname: Mapped[str | None] = mapped_column(String(40), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("customer_id", "account_number", name="uq_payments_payees_customer_acct"),
    )


class CustomerPaymentSettings(Base):
    """The customer's default arrival; its row also serialises one customer's payments.

    Limits themselves (by KYC level, and the customer's own lower choice) live in identity.
    """

    __tablename__ = "payments_customer_settings"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    default_arrival: Mapped[str] = mapped_column(String(8), default=Arrival.INSTANT.value)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Biller(Base):
    """A biller (缴费机构): data the console edits, not code."""

    __tablename__ = "payments_billers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    #: The biller's settlement account in the ledger (bills are paid into it).
    settlement_account_id: Mapped[int] = mapped_column(BigInteger)
    #: How the bill account is asked for: label, pattern, example.
    account_label: Mapped[str] = mapped_column(String(40))
    account_pattern: Mapped[str] = mapped_column(String(100))
    fixed_amounts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Bill(Base):
    """An amount a biller says is owed on a bill account (what the lookup returns)."""

    __tablename__ = "payments_bills"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    biller_id: Mapped[str] = mapped_column(String(40))
    bill_account: Mapped[str] = mapped_column(String(40))
    holder_name: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(20))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    paid_transfer_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_payments_bills_biller_account", "biller_id", "bill_account"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )


class BillPayment(Base):
    __tablename__ = "payments_bill_payments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    biller_id: Mapped[str] = mapped_column(String(40))
    bill_account: Mapped[str] = mapped_column(String(40))
    bill_id: Mapped[str | None] = mapped_column(String(36), default=None)
    transfer_id: Mapped[str] = mapped_column(String(36))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_payments_bill_payments_customer", "customer_id", "biller_id", "created_at"),
    )


class SavedBillAccount(Base):
    __tablename__ = "payments_saved_bill_accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    biller_id: Mapped[str] = mapped_column(String(40))
    bill_account: Mapped[str] = mapped_column(String(40))
    nickname: Mapped[str | None] = mapped_column(String(40), default=None)
    #: Auto-pay mandate (自动缴费): pay each new bill from this account up to the cap a month.
    autopay_from_account_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    autopay_monthly_cap_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint(
            "customer_id", "biller_id", "bill_account", name="uq_payments_saved_bill_accounts"
        ),
    )


class Frequency(enum.StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class ScheduledTransfer(Base):
    """A future-dated or recurring transfer (预约转账 / 定期转账)."""

    __tablename__ = "payments_scheduled_transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    from_account_id: Mapped[int] = mapped_column(BigInteger)
    to_account_number: Mapped[str] = mapped_column(String(34))
    to_name: Mapped[str] = mapped_column(String(100))
    to_bank_code: Mapped[str | None] = mapped_column(String(11), default=None)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str] = mapped_column(String(140), default="")
    frequency: Mapped[str] = mapped_column(String(8))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)
    next_run_date: Mapped[date | None] = mapped_column(Date, default=None)
    runs: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_payments_scheduled_due", "active", "next_run_date"),)


class QrCode(Base):
    """A receive code (收款码). Static ones have no amount; dynamic ones are paid once."""

    __tablename__ = "payments_qr_codes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int | None] = mapped_column(BigInteger, default=None)
    currency: Mapped[str] = mapped_column(String(3))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    paid_transfer_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CardlessStatus(enum.StrEnum):
    ACTIVE = "active"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class CardlessWithdrawal(Base):
    """A one-time cardless cash code (无卡取款): funds held until redeemed or expired."""

    __tablename__ = "payments_cardless_withdrawals"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    #: HMAC of the code: the code itself is shown once and never stored.
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    hold_transfer_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(10))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (Index("ix_payments_cardless_status_expiry", "status", "expires_at"),)


class ClearingMessage(Base):
    """Every ISO 20022 message exchanged with the clearing house, in and out (audit + dedup)."""

    __tablename__ = "payments_clearing_messages"

    id: Mapped[str] = mapped_column(String(35), primary_key=True)  # MsgId
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    message_type: Mapped[str] = mapped_column(String(20))
    transfer_id: Mapped[str | None] = mapped_column(String(36), default=None)
    xml: Mapped[str] = mapped_column(String)
    #: Outgoing messages wait here until the clearing house took them (retried with backoff).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_payments_clearing_messages_unsent", "direction", "sent_at"),)


class ClearingCursor(Base):
    """How far this bank has read the clearing house's message feed."""

    __tablename__ = "payments_clearing_cursor"

    participant: Mapped[str] = mapped_column(String(11), primary_key=True)
    last_sequence: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IncomingCredit(Base):
    """An interbank credit received (pacs.008 in) and what became of it."""

    __tablename__ = "payments_incoming_credits"

    id: Mapped[str] = mapped_column(String(35), primary_key=True)  # the sender's TxId
    from_bank_code: Mapped[str] = mapped_column(String(11))
    from_account_number: Mapped[str] = mapped_column(String(34))
    from_name: Mapped[str] = mapped_column(String(100))
    to_account_number: Mapped[str] = mapped_column(String(34))
    to_name: Mapped[str] = mapped_column(String(100))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10))  # credited | returned
    reason: Mapped[str | None] = mapped_column(String(10), default=None)
    ledger_transfer_id: Mapped[str | None] = mapped_column(String(36), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
