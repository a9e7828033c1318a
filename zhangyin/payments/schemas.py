"""Request and response bodies of the customer payments API. Amounts are decimal strings here."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from zhangyin.api_types import CurrencyCode, DecimalAmount, Identifier, PlainText, StrictBody
from zhangyin.ledger.service import AccountView, StatementLine
from zhangyin.money import format_minor
from zhangyin.payments.models import Arrival, Frequency
from zhangyin.payments.service import (
    KNOWN_BANKS,
    OUR_BANK_CODE,
    FraudReportStatus,
    FraudReportView,
    LimitsView,
    PayeeView,
    RecentPayeeView,
    TransferView,
    mask_account_number,
)

AccountNumber = Annotated[str, Field(min_length=6, max_length=34, pattern=r"^\d+$")]
PersonName = Annotated[PlainText, Field(min_length=1, max_length=100)]
BankCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$", examples=["ICBKCNBJ"])]
Memo = Annotated[PlainText, Field(max_length=140)]


# ------------------------------------------------------------------ accounts


class CustomerAccountOut(BaseModel):
    id: int
    number: str
    masked_number: str
    name: str
    kind: str
    currency: str
    status: str
    balance: str
    available_balance: str

    @classmethod
    def of(cls, a: AccountView) -> CustomerAccountOut:
        return cls(
            id=a.id,
            number=a.number,
            masked_number=mask_account_number(a.number),
            name=a.name,
            kind=a.kind,
            currency=a.currency,
            status=a.status,
            balance=format_minor(a.balance_minor, a.currency),
            available_balance=format_minor(a.available_minor, a.currency),
        )


class AccountTransactionOut(BaseModel):
    transfer_id: str
    direction: Literal["in", "out"]
    amount: str
    currency: str
    balance_after: str
    counterparty: str
    memo: str
    created_at: datetime

    @classmethod
    def of(cls, line: StatementLine, currency: str) -> AccountTransactionOut:
        return cls(
            transfer_id=line.transfer_id,
            direction="in" if line.amount_minor > 0 else "out",
            amount=format_minor(abs(line.amount_minor), currency),
            currency=currency,
            balance_after=format_minor(line.balance_after_minor, currency),
            counterparty=mask_account_number(line.counterparty_number),
            memo=line.memo,
            created_at=line.created_at,
        )


class AccountTransactionsOut(BaseModel):
    account_id: int
    transactions: list[AccountTransactionOut]
    next_cursor: str | None


# ------------------------------------------------------------------ transfers


class TransferCreate(StrictBody):
    from_account_id: Identifier
    to_account_number: AccountNumber
    to_name: PersonName
    amount: DecimalAmount
    currency: CurrencyCode = "CNY"
    memo: Memo = ""
    arrival: Arrival | None = None
    to_bank_code: BankCode | None = None


class TransferConfirm(StrictBody):
    challenge_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[\w-]+$")]
    sms_code: Annotated[str, Field(pattern=r"^\d{4,8}$")] | None = None
    passkey_assertion: dict[str, Any] | None = None


class FraudReportCreate(StrictBody):
    """举报诈骗: what happened, in the customer's words (optional)."""

    # Several lines are fine; other control characters are not.
    description: Annotated[str, Field(max_length=500, pattern=r"^[^\x00-\x09\x0b-\x1f\x7f]*$")] = ""


class FraudReportOut(BaseModel):
    transfer_id: str
    report_id: str
    status: FraudReportStatus
    description: str
    reported_at: datetime

    @classmethod
    def of(cls, r: FraudReportView) -> FraudReportOut:
        return cls(
            transfer_id=r.transfer_id,
            report_id=r.case_id,
            status=r.status,
            description=r.description,
            reported_at=r.reported_at,
        )


class TimelineOut(BaseModel):
    status: str
    detail: str
    at: datetime


class TransferOut(BaseModel):
    id: str
    kind: str
    status: str
    from_account_id: int
    to_account_number: str
    to_name: str
    to_bank_code: str | None
    to_bank_name: str | None
    amount: str
    currency: str
    memo: str
    arrival: str
    reason: str | None
    challenge_id: str | None = None
    challenge_methods: list[str] = []
    #: WebAuthn request options when `passkey` is among the methods (on the reply that challenged).
    challenge_passkey_options: dict[str, Any] | None = None
    due_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    timeline: list[TimelineOut] = []

    @classmethod
    def of(cls, t: TransferView) -> TransferOut:
        bank = KNOWN_BANKS.get(t.to_bank_code or "")
        return cls(
            id=t.id,
            kind=t.kind,
            status=t.status,
            from_account_id=t.from_account_id,
            to_account_number=mask_account_number(t.to_account_number),
            to_name=t.to_name,
            to_bank_code=t.to_bank_code or OUR_BANK_CODE,
            to_bank_name=bank[0] if bank else "掌银",
            amount=format_minor(t.amount_minor, t.currency),
            currency=t.currency,
            memo=t.memo,
            arrival=t.arrival,
            reason=t.reason,
            challenge_id=t.challenge_id,
            challenge_methods=t.challenge_methods,
            challenge_passkey_options=t.challenge_passkey_options,
            due_at=t.due_at,
            created_at=t.created_at,
            completed_at=t.completed_at,
            timeline=[TimelineOut(status=e.status, detail=e.detail, at=e.at) for e in t.timeline],
        )


class TransferListOut(BaseModel):
    transfers: list[TransferOut]
    next_cursor: str | None


class LimitsOut(BaseModel):
    currency: str = "CNY"
    per_transaction: str
    daily_amount: str
    daily_count: int
    default_per_transaction: str
    default_daily_amount: str
    default_daily_count: int
    used_today: str
    remaining_today: str
    count_today: int
    default_arrival: str

    @classmethod
    def of(cls, v: LimitsView) -> LimitsOut:
        def fmt(minor: int) -> str:
            return format_minor(minor, "CNY")

        return cls(
            per_transaction=fmt(v.limits.per_transaction_minor),
            daily_amount=fmt(v.limits.daily_amount_minor),
            daily_count=v.limits.daily_count,
            default_per_transaction=fmt(v.default_per_transaction_minor),
            default_daily_amount=fmt(v.default_daily_amount_minor),
            default_daily_count=v.default_daily_count,
            used_today=fmt(v.used_today_minor),
            remaining_today=fmt(v.remaining_today_minor),
            count_today=v.count_today,
            default_arrival=v.default_arrival,
        )


class TransferSettingsUpdate(StrictBody):
    default_arrival: Arrival


# -------------------------------------------------------------------- payees


class PayeeCreate(StrictBody):
    account_number: AccountNumber
    name: PersonName
    bank_code: BankCode | None = None
    nickname: Annotated[PlainText, Field(min_length=1, max_length=40)] | None = None


class PayeeOut(BaseModel):
    id: str
    account_number: str
    masked_account_number: str
    name: str
    bank_code: str
    bank_name: str
    nickname: str | None
    created_at: datetime

    @classmethod
    def of(cls, p: PayeeView) -> PayeeOut:
        bank = KNOWN_BANKS.get(p.bank_code or "")
        return cls(
            id=p.id,
            account_number=p.account_number,
            masked_account_number=mask_account_number(p.account_number),
            name=p.name,
            bank_code=p.bank_code or OUR_BANK_CODE,
            bank_name=bank[0] if bank else "掌银",
            nickname=p.nickname,
            created_at=p.created_at,
        )


class RecentPayeeOut(BaseModel):
    account_number: str
    masked_account_number: str
    name: str
    bank_code: str
    last_paid_at: datetime

    @classmethod
    def of(cls, r: RecentPayeeView) -> RecentPayeeOut:
        return cls(
            account_number=r.account_number,
            masked_account_number=mask_account_number(r.account_number),
            name=r.name,
            bank_code=r.bank_code or OUR_BANK_CODE,
            last_paid_at=r.last_paid_at,
        )


class PayeesOut(BaseModel):
    saved: list[PayeeOut]
    recent: list[RecentPayeeOut]


class BankOut(BaseModel):
    code: str
    name: str
    name_en: str


# --------------------------------------------------------------- dev deposit


class DevDeposit(StrictBody):
    account_number: AccountNumber
    amount: DecimalAmount
    currency: CurrencyCode = "CNY"


class DevDepositOut(BaseModel):
    account_number: str
    amount: str
    currency: str


# ------------------------------------------------------------------- billers


class BillerOut(BaseModel):
    id: str
    category: str
    name: str
    name_en: str
    account_label: str
    account_pattern: str
    fixed_amounts: list[str]


class BillOut(BaseModel):
    biller_id: str
    bill_account: str
    holder_name: str
    period: str
    amount: str
    currency: str


class BillsOut(BaseModel):
    biller_id: str
    bill_account: str
    bills: list[BillOut]


class BillPaymentCreate(StrictBody):
    biller_id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]
    bill_account: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
    from_account_id: Identifier
    amount: DecimalAmount | None = None
    currency: CurrencyCode = "CNY"
    save_account: bool = False


class BillPaymentOut(BaseModel):
    id: str
    biller_id: str
    bill_account: str
    amount: str
    currency: str
    transfer: TransferOut
    created_at: datetime


class BillPaymentListOut(BaseModel):
    payments: list[BillPaymentOut]


class SavedBillAccountCreate(StrictBody):
    biller_id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]
    bill_account: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
    nickname: Annotated[PlainText, Field(min_length=1, max_length=40)] | None = None
    autopay_from_account_id: Identifier | None = None
    autopay_monthly_cap: DecimalAmount | None = None


class SavedBillAccountOut(BaseModel):
    id: str
    biller_id: str
    bill_account: str
    nickname: str | None
    autopay_from_account_id: int | None
    autopay_monthly_cap: str | None


class BillerCreate(StrictBody):
    id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]
    category: Annotated[str, Field(pattern=r"^[a-z_]{2,20}$")]
    name: PersonName
    name_en: PersonName
    account_label: Annotated[PlainText, Field(min_length=1, max_length=40)]
    account_pattern: Annotated[str, Field(min_length=1, max_length=100)]
    fixed_amounts: list[DecimalAmount] = Field(default_factory=list)


class BillCreate(StrictBody):
    bill_account: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
    holder_name: PersonName
    period: Annotated[PlainText, Field(min_length=1, max_length=20)]
    amount: DecimalAmount


# ------------------------------------------------------------------------ QR


class QrCreate(StrictBody):
    account_id: Identifier
    amount: DecimalAmount | None = None
    currency: CurrencyCode = "CNY"
    expires_in_seconds: Annotated[int, Field(ge=60, le=86_400, strict=True)] | None = None


class QrOut(BaseModel):
    id: str
    payload: str
    svg_data_uri: str
    amount: str | None
    currency: str
    expires_at: datetime | None


class QrDecode(StrictBody):
    payload: Annotated[str, Field(min_length=10, max_length=2000)]


class QrDecodedOut(BaseModel):
    payee_name: str
    masked_account_number: str
    amount: str | None
    currency: str
    expires_at: datetime | None


class QrPay(StrictBody):
    payload: Annotated[str, Field(min_length=10, max_length=2000)]
    from_account_id: Identifier
    amount: DecimalAmount | None = None
    memo: Memo = ""


# ------------------------------------------------------------------ cardless


class CardlessCreate(StrictBody):
    account_id: Identifier
    amount: DecimalAmount
    currency: CurrencyCode = "CNY"
    expires_in_minutes: Annotated[int, Field(ge=5, le=1440, strict=True)] = 30


class CardlessOut(BaseModel):
    id: str
    account_id: int
    amount: str
    currency: str
    status: str
    expires_at: datetime
    created_at: datetime
    #: Shown once, when the code is created.
    code: str | None = None


class AtmRedeem(StrictBody):
    code: Annotated[str, Field(pattern=r"^\d{8}$")]
    amount: DecimalAmount
    atm_id: Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$")]


class AtmRedeemOut(BaseModel):
    withdrawal_id: str
    amount: str
    currency: str
    status: str


# ---------------------------------------------------------------- scheduled


class ScheduledCreate(StrictBody):
    from_account_id: Identifier
    to_account_number: AccountNumber
    to_name: PersonName
    amount: DecimalAmount
    currency: CurrencyCode = "CNY"
    memo: Memo = ""
    to_bank_code: BankCode | None = None
    frequency: Frequency
    start_date: date
    end_date: date | None = None


class ScheduledOut(BaseModel):
    id: str
    from_account_id: int
    to_account_number: str
    to_name: str
    amount: str
    currency: str
    memo: str
    frequency: str
    start_date: date
    end_date: date | None
    next_run_date: date | None
    runs: int
    active: bool


# ------------------------------------------------------------------ receipts


class ReceiptVerifyOut(BaseModel):
    valid: bool
    transfer_id: str | None = None
    amount: str | None = None
    currency: str | None = None
    completed_at: datetime | None = None


# ------------------------------------------------------------------ clearing


class ClearingReconciliationOut(BaseModel):
    date: date
    ours_net: str
    theirs_net: str
    matched: bool
    pending_outgoing: int


class StatementRange(BaseModel):
    start: date
    end: date
