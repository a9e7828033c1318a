"""Ledger tables. Only `zhangyin.ledger.service` writes them.

Balances follow TigerBeetle's shape: each account keeps four non-negative,
only-growing-or-released totals (debits/credits, posted/pending), and every
posting row carries the account's balance after it, so statements show a
running balance without a window function. The database guards the money too:
CHECK constraints refuse a negative total or a customer account below its
floor, and on PostgreSQL triggers refuse an unbalanced transfer and any change
to a posting (see the migration).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhangyin.db import Base, UTCDateTime
from zhangyin.events import BigId


class AccountKind(enum.StrEnum):
    CUSTOMER_CURRENT = "customer_current"
    CUSTOMER_SAVINGS = "customer_savings"
    BANK_CASH = "bank_cash"
    BANK_CLEARING = "bank_clearing"
    BANK_FEES = "bank_fees"
    BANK_INTEREST = "bank_interest"
    BANK_SUSPENSE = "bank_suspense"
    BANK_SETTLEMENT = "bank_settlement"

    @property
    def is_customer(self) -> bool:
        return self.value.startswith("customer_")

    @property
    def normal_side(self) -> NormalSide:
        """Customer deposits and income are the bank's credits; its cash and claims are debits."""
        debit_normal = {AccountKind.BANK_CASH, AccountKind.BANK_CLEARING, AccountKind.BANK_INTEREST}
        return NormalSide.DEBIT if self in debit_normal else NormalSide.CREDIT


class NormalSide(enum.StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"  # no debits (只收不付)
    FULLY_FROZEN = "fully_frozen"  # no debits and no credits (不收不付)
    CLOSED = "closed"


class TransferStatus(enum.StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(19), unique=True)
    code: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    owner_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    name: Mapped[str] = mapped_column(String(100))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(20))
    normal_side: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(12), default=AccountStatus.ACTIVE.value)
    enforce_floor: Mapped[bool] = mapped_column(Boolean)
    overdraft_limit_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_posted_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_posted_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    debits_pending_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    credits_pending_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "debits_posted_minor >= 0 AND credits_posted_minor >= 0"
            " AND debits_pending_minor >= 0 AND credits_pending_minor >= 0"
            " AND overdraft_limit_minor >= 0",
            name="totals_not_negative",
        ),
        CheckConstraint(
            "NOT enforce_floor"
            " OR (normal_side = 'credit' AND debits_posted_minor + debits_pending_minor"
            "     <= credits_posted_minor + overdraft_limit_minor)"
            " OR (normal_side = 'debit' AND credits_posted_minor + credits_pending_minor"
            "     <= debits_posted_minor + overdraft_limit_minor)",
            name="balance_above_floor",
        ),
        CheckConstraint("normal_side IN ('debit', 'credit')", name="normal_side_valid"),
        CheckConstraint(
            "status IN ('active', 'frozen', 'fully_frozen', 'closed')", name="status_valid"
        ),
    )


class LedgerTransfer(Base):
    """A movement of money from one account to another: a journal entry once posted.

    Pending transfers are two-phase holds: they reserve money in the pending
    totals and post (fully or partly) or void later. A posted transfer is
    immutable; a correction is a new transfer that `reverses_id` the original.
    """

    __tablename__ = "ledger_transfers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # No declarative foreign keys on the hot path: on PostgreSQL one set-based
    # trigger per statement checks that the accounts exist and hold the currency
    # (a per-row RI check cost a fifth of a batch), and accounts are never deleted.
    debit_account_id: Mapped[int] = mapped_column(BigId)
    credit_account_id: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    posted_amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(10))
    batch_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # Unique only where set (partial indexes below): most transfers have neither.
    reference: Mapped[str | None] = mapped_column(String(64), default=None)
    reverses_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_transfers.id"), default=None)
    memo: Mapped[str] = mapped_column(String(140), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint(
            "posted_amount_minor >= 0 AND posted_amount_minor <= amount_minor",
            name="posted_within_amount",
        ),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        CheckConstraint(
            "status IN ('pending', 'posted', 'voided', 'expired')", name="status_valid"
        ),
        # Partial indexes: a posted transfer without reference or reversal
        # touches none of them. No query reads transfers by account (statements
        # read postings), so there is no index on debit or credit account.
        Index(
            "uq_ledger_transfers_reference",
            "reference",
            unique=True,
            postgresql_where=text("reference IS NOT NULL"),
            sqlite_where=text("reference IS NOT NULL"),
        ),
        Index(
            "uq_ledger_transfers_reverses_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
            sqlite_where=text("reverses_id IS NOT NULL"),
        ),
        Index(
            "ix_ledger_transfers_pending_expiry",
            "expires_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )


class LedgerPosting(Base):
    """One leg of a posted transfer. Debits are positive, credits negative.

    `balance_after_minor` is the account's balance on its normal side right
    after this posting (the running balance of a statement line).
    """

    __tablename__ = "ledger_postings"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Existence and currency of the transfer and account are checked by the
    # statement-level balance trigger on PostgreSQL (see the migration).
    transfer_id: Mapped[str] = mapped_column(String(36))
    account_id: Mapped[int] = mapped_column(BigId)
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    balance_after_minor: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        Index("ix_ledger_postings_account_id_id", "account_id", "id"),
    )
