"""Request and response bodies of the ledger API. Amounts are decimal strings here only."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt

from zhangyin.api_types import CurrencyCode, DecimalAmount, Flag, Identifier, PlainText, StrictBody
from zhangyin.ledger.models import AccountKind, AccountStatus
from zhangyin.ledger.service import (
    AccountView,
    BatchItemResult,
    StatementLine,
    TransferView,
    TrialBalance,
)
from zhangyin.money import format_minor


class AccountOpen(StrictBody):
    kind: AccountKind
    currency: CurrencyCode = "CNY"
    name: Annotated[PlainText, Field(min_length=1, max_length=100)]
    owner_id: Annotated[PlainText, Field(min_length=1, max_length=64)] | None = None
    overdraft_limit: DecimalAmount | None = None


class AccountStatusChange(StrictBody):
    status: AccountStatus


class AccountOut(BaseModel):
    id: int
    number: str
    code: str | None
    owner_id: str | None
    name: str
    currency: str
    kind: str
    normal_side: str
    status: str
    overdraft_limit: str
    balance: str
    available_balance: str
    pending_debits: str
    pending_credits: str
    created_at: datetime

    @classmethod
    def of(cls, a: AccountView) -> AccountOut:
        def fmt(minor: int) -> str:
            return format_minor(minor, a.currency)

        return cls(
            id=a.id,
            number=a.number,
            code=a.code,
            owner_id=a.owner_id,
            name=a.name,
            currency=a.currency,
            kind=a.kind,
            normal_side=a.normal_side,
            status=a.status,
            overdraft_limit=fmt(a.overdraft_limit_minor),
            balance=fmt(a.balance_minor),
            available_balance=fmt(a.available_minor),
            pending_debits=fmt(a.pending_debits_minor),
            pending_credits=fmt(a.pending_credits_minor),
            created_at=a.created_at,
        )


class TransferItem(StrictBody):
    debit_account_id: Identifier
    credit_account_id: Identifier
    amount: DecimalAmount
    currency: CurrencyCode = "CNY"
    memo: Annotated[PlainText, Field(max_length=140)] = ""


class TransferCreate(TransferItem):
    reference: Annotated[PlainText, Field(min_length=1, max_length=64)] | None = None
    pending: Flag = Field(default=False, description="Create a two-phase hold instead of posting")
    hold_timeout_seconds: Annotated[StrictInt, Field(ge=60, le=30 * 24 * 3600)] | None = None


class BatchCreate(StrictBody):
    linked: Flag = Field(description="All transfers post or none do")
    transfers: Annotated[list[TransferItem], Field(min_length=1, max_length=1000)]


class HoldPost(StrictBody):
    amount: DecimalAmount | None = Field(default=None, description="Post part of the hold")


class Reversal(StrictBody):
    memo: Annotated[PlainText, Field(max_length=140)] = ""


class TransferOut(BaseModel):
    id: str
    debit_account_id: int
    credit_account_id: int
    amount: str
    posted_amount: str
    currency: str
    status: str
    batch_id: str | None
    reference: str | None
    reverses_id: str | None
    memo: str
    expires_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None

    @classmethod
    def of(cls, t: TransferView) -> TransferOut:
        return cls(
            id=t.id,
            debit_account_id=t.debit_account_id,
            credit_account_id=t.credit_account_id,
            amount=format_minor(t.amount_minor, t.currency),
            posted_amount=format_minor(t.posted_amount_minor, t.currency),
            currency=t.currency,
            status=t.status,
            batch_id=t.batch_id,
            reference=t.reference,
            reverses_id=t.reverses_id,
            memo=t.memo,
            expires_at=t.expires_at,
            created_at=t.created_at,
            resolved_at=t.resolved_at,
        )


class BatchItemError(BaseModel):
    code: str
    detail: str


class BatchItemOut(BaseModel):
    index: int
    transfer: TransferOut | None
    error: BatchItemError | None

    @classmethod
    def of(cls, r: BatchItemResult, language: str) -> BatchItemOut:
        return cls(
            index=r.index,
            transfer=TransferOut.of(r.transfer) if r.transfer else None,
            error=BatchItemError(code=r.error.code, detail=r.error.detail(language))
            if r.error
            else None,
        )


class BatchOut(BaseModel):
    linked: bool
    posted: int
    rejected: int
    items: list[BatchItemOut]


class StatementLineOut(BaseModel):
    posting_id: int
    transfer_id: str
    direction: Literal["in", "out"]
    amount: str
    balance_after: str
    counterparty_account_id: int
    counterparty_number: str
    memo: str
    created_at: datetime

    @classmethod
    def of(cls, line: StatementLine, currency: str) -> StatementLineOut:
        return cls(
            posting_id=line.posting_id,
            transfer_id=line.transfer_id,
            direction="in" if line.amount_minor > 0 else "out",
            amount=format_minor(abs(line.amount_minor), currency),
            balance_after=format_minor(line.balance_after_minor, currency),
            counterparty_account_id=line.counterparty_account_id,
            counterparty_number=line.counterparty_number,
            memo=line.memo,
            created_at=line.created_at,
        )


class StatementOut(BaseModel):
    account: AccountOut
    lines: list[StatementLineOut]
    next_cursor: str | None


class DailyBalanceOut(BaseModel):
    date: date
    balance: str


class BalanceHistoryOut(BaseModel):
    account_id: int
    currency: str
    days: list[DailyBalanceOut]


class TrialBalanceRowOut(BaseModel):
    account_id: int
    number: str
    kind: str
    currency: str
    debits: str
    credits: str


class CurrencyTotalOut(BaseModel):
    currency: str
    debits: str
    credits: str


class TrialBalanceOut(BaseModel):
    as_of: date
    balanced: bool
    totals: list[CurrencyTotalOut]
    rows: list[TrialBalanceRowOut]

    @classmethod
    def of(cls, tb: TrialBalance) -> TrialBalanceOut:
        return cls(
            as_of=tb.as_of,
            balanced=tb.balanced,
            totals=[
                CurrencyTotalOut(currency=c, debits=format_minor(d, c), credits=format_minor(k, c))
                for c, (d, k) in sorted(tb.totals.items())
            ],
            rows=[
                TrialBalanceRowOut(
                    account_id=r.account_id,
                    number=r.number,
                    kind=r.kind,
                    currency=r.currency,
                    debits=format_minor(r.debits_minor, r.currency),
                    credits=format_minor(r.credits_minor, r.currency),
                )
                for r in tb.rows
            ],
        )


class DifferenceOut(BaseModel):
    subject: str
    field: str
    cached: int
    recomputed: int


class ReconciliationOut(BaseModel):
    balanced: bool
    differences: list[DifferenceOut]
