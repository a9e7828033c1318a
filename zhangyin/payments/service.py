"""Payments: customer accounts, transfers and their status machine.

Each payment goes identity (step-up when limits or risk demand it) → risk (a
decision) → ledger (a posting, or a two-phase hold that posts, voids or is
returned later). The payment row, its timeline, its outbox event and the
ledger movement are written in the caller's one transaction, so a crash leaves
either all of them or none; the jobs (zhangyin.payments.jobs) move every
waiting transfer on from what the database says, so a restart loses nothing.
Nothing here commits.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import uuid_utils
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from zhangyin import events
from zhangyin.clock import business_date, business_day_bounds, utcnow
from zhangyin.errors import DomainError, InvalidRequest
from zhangyin.ledger import service as ledger
from zhangyin.ledger.errors import AccountNotFound
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money, check_amount_minor, format_minor
from zhangyin.payments.errors import (
    ChallengeMismatch,
    DailyCountExceeded,
    InvalidArrival,
    LimitExceeded,
    PayeeAccountUnknown,
    PayeeNameMismatch,
    PaymentAccountNotFound,
    PaymentNotFound,
    SameAccountTransfer,
    TransferNotAwaitingChallenge,
    TransferNotCancellable,
    TransferNotReportable,
    UnknownBank,
)
from zhangyin.payments.models import (
    FINAL_STATUSES,
    Arrival,
    Bill,
    BillPayment,
    CustomerPaymentSettings,
    Payee,
    PaymentTransfer,
    QrCode,
    TransferEvent,
    TransferKind,
    TransferStatus,
)
from zhangyin.risk import service as risk
from zhangyin.risk.cases import CaseView

#: This bank's BIC: a transfer to it (or with no bank code) is intra-bank.
OUR_BANK_CODE = "ZYBKCNBJ"

#: Banks reachable through the clearing house (the simulator holds their accounts).
KNOWN_BANKS: dict[str, tuple[str, str]] = {
    "ICBKCNBJ": ("中国工商银行", "Industrial and Commercial Bank of China"),
    "PCBCCNBJ": ("中国建设银行", "China Construction Bank"),
    "ABOCCNBJ": ("中国农业银行", "Agricultural Bank of China"),
    "BKCHCNBJ": ("中国银行", "Bank of China"),
    "CMBCCNBS": ("招商银行", "China Merchants Bank"),
}

#: The bank's limits when identity has none for the customer (minor units, CNY).
DEFAULT_PER_TRANSACTION_MINOR = 5_000_000  # 50,000 yuan
DEFAULT_DAILY_AMOUNT_MINOR = 20_000_000  # 200,000 yuan
DEFAULT_DAILY_COUNT = 100
#: Above this a transfer needs a second factor even when risk allows it.
STEP_UP_THRESHOLD_MINOR = 500_000  # 5,000 yuan

DELAYS = {
    Arrival.INSTANT: timedelta(0),
    Arrival.TWO_HOURS: timedelta(hours=2),
    Arrival.TWENTY_FOUR_HOURS: timedelta(hours=24),
}
#: An unconfirmed transfer is cancelled after this: its step-up challenge (minutes) is long
#: gone, and a bill or receive code it reserved must become payable again.
UNCONFIRMED_TIMEOUT = timedelta(minutes=30)
#: How long a hold outlives its planned resolution before the ledger releases it anyway.
HOLD_GRACE = timedelta(days=30)

#: Statuses whose money is committed (counted against the daily limits).
_COUNTED = (
    TransferStatus.COMPLETED.value,
    TransferStatus.DELAYED.value,
    TransferStatus.HELD_FOR_REVIEW.value,
    TransferStatus.PROCESSING.value,
)


# --------------------------------------------------------------------- views


@dataclass(frozen=True)
class TimelineEntry:
    status: str
    detail: str
    at: datetime


@dataclass(frozen=True)
class TransferView:
    id: str
    customer_id: str
    kind: str
    from_account_id: int
    to_account_number: str
    to_name: str
    to_bank_code: str | None
    amount_minor: int
    currency: str
    memo: str
    arrival: str
    status: str
    reason: str | None
    challenge_id: str | None
    challenge_methods: list[str]
    due_at: datetime | None
    created_at: datetime
    completed_at: datetime | None
    timeline: list[TimelineEntry] = field(default_factory=list)
    #: WebAuthn request options for a passkey answer to the challenge (only on the creating reply).
    challenge_passkey_options: dict[str, Any] | None = None


@dataclass(frozen=True)
class TransferRequest:
    """What the customer asked for (amounts already parsed at the edge)."""

    from_account_id: int
    to_account_number: str
    to_name: str
    amount: Money
    memo: str = ""
    arrival: Arrival | None = None
    to_bank_code: str | None = None


@dataclass(frozen=True)
class Caller:
    """Who asks: the authenticated customer and the device and session they use."""

    customer_id: str
    session_id: str | None = None
    device_id: str | None = None
    ip: str | None = None
    channel: str = "app"


@dataclass(frozen=True)
class RiskVerdict:
    decision_id: str | None
    outcome: str  # allow | challenge | delay | hold | block
    reasons: list[str]


@dataclass(frozen=True)
class Limits:
    per_transaction_minor: int
    daily_amount_minor: int
    daily_count: int


@dataclass(frozen=True)
class LimitsView:
    limits: Limits
    default_per_transaction_minor: int
    default_daily_amount_minor: int
    default_daily_count: int
    used_today_minor: int
    count_today: int
    default_arrival: str

    @property
    def remaining_today_minor(self) -> int:
        return max(0, self.limits.daily_amount_minor - self.used_today_minor)


# ------------------------------------------------------------------ accounts


def customer_account(session: Session, caller: Caller, account_id: int) -> ledger.AccountView:
    """The caller's own account; another customer's looks exactly like a missing one."""
    try:
        account = ledger.get_account(session, account_id)
    except AccountNotFound:
        raise PaymentAccountNotFound() from None
    if account.owner_id != caller.customer_id or not AccountKind(account.kind).is_customer:
        raise PaymentAccountNotFound()
    return account


def customer_accounts(session: Session, caller: Caller) -> list[ledger.AccountView]:
    return [
        a
        for a in ledger.list_accounts(session, caller.customer_id)
        if AccountKind(a.kind).is_customer
    ]


def account_transactions(
    session: Session, caller: Caller, account_id: int, cursor: str | None, limit: int = 50
) -> ledger.StatementPage:
    customer_account(session, caller, account_id)
    return ledger.statement(session, account_id, cursor=cursor, limit=limit)


def mask_account_number(number: str) -> str:
    """621688******1234: the bank prefix and the last four digits."""
    if len(number) <= 10:
        return number[:2] + "*" * max(0, len(number) - 6) + number[-4:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def _same_name(a: str, b: str) -> bool:
    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s).split()).casefold()

    return norm(a) == norm(b)


# -------------------------------------------------------------- identity, risk


def _customer_limits(
    session: Session, customer_id: str, device_id: str | None = None
) -> tuple[Limits, Limits]:
    """(effective, bank default) limits: by KYC level, lowered by the customer's own choice.

    `device_id`: the caller's device, read in the same statement for the risk profile.
    """
    try:
        from zhangyin.identity import service as identity
    except ImportError:
        default = Limits(
            DEFAULT_PER_TRANSACTION_MINOR, DEFAULT_DAILY_AMOUNT_MINOR, DEFAULT_DAILY_COUNT
        )
        return default, default
    found = identity.customer_limits(session, customer_id, device_id)
    return (
        Limits(found.per_transaction_minor, found.daily_amount_minor, found.daily_count),
        Limits(
            found.default_per_transaction_minor,
            found.default_daily_amount_minor,
            found.default_daily_count,
        ),
    )


_RISK_OPERATIONS = {
    TransferKind.INTRA.value: "transfer",
    TransferKind.INTERBANK.value: "interbank_transfer",
    TransferKind.BILL.value: "bill_payment",
    TransferKind.QR.value: "qr_payment",
}
#: Our statuses in the words risk keeps outcomes in.
_RISK_STATUSES = {
    TransferStatus.COMPLETED.value: "completed",
    TransferStatus.PENDING_CHALLENGE.value: "challenged",
    TransferStatus.DELAYED.value: "delayed",
    TransferStatus.HELD_FOR_REVIEW.value: "held",
    TransferStatus.PROCESSING.value: "pending",
    TransferStatus.SCHEDULED.value: "pending",
    TransferStatus.RETURNED.value: "reversed",
    TransferStatus.REJECTED.value: "rejected",
    TransferStatus.CANCELLED.value: "cancelled",
}
_KYC_LEVELS = {"I": 1, "II": 2, "III": 3}


def _risk_decision(
    session: Session,
    caller: Caller,
    payment: PaymentTransfer,
) -> RiskVerdict:
    """Ask the risk domain for a decision on this payment before any money moves.

    Whether the payee is new is one of risk's own features (`payee.first_time`).
    """
    return assess_operation(
        session,
        caller,
        operation=_RISK_OPERATIONS[payment.kind],
        account_id=payment.from_account_id,
        amount=Money(payment.amount_minor, payment.currency),
        payee_account_number=payment.to_account_number,
        payee_name=payment.to_name,
        payee_bank_code=payment.to_bank_code or OUR_BANK_CODE,
        occurred_at=payment.created_at,
        # An intra-bank payee was found by its number moments ago: risk need not look again.
        payee_account_id=payment.to_account_id if payment.kind == TransferKind.INTRA else None,
    )


def assess_operation(
    session: Session,
    caller: Caller,
    *,
    operation: str,
    account_id: int,
    amount: Money,
    payee_account_number: str | None,
    payee_name: str | None,
    payee_bank_code: str | None,
    occurred_at: datetime,
    payee_account_id: int | None = None,
) -> RiskVerdict:
    """The risk engine's decision on any money-moving operation.

    `payee_account_id`: the ledger account of `payee_account_number`, if already found.
    """
    from zhangyin.identity import service as identity

    profile = identity.risk_profile(session, caller.customer_id, caller.device_id)
    context = risk.RiskContext(
        operation=operation,
        customer_id=caller.customer_id,
        account_id=account_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        payee_account_number=payee_account_number,
        payee_name=payee_name,
        payee_bank_code=payee_bank_code,
        device_id=caller.device_id,
        ip=caller.ip,
        channel=caller.channel,
        occurred_at=occurred_at,
        customer_since=profile.customer_since,
        kyc_level=_KYC_LEVELS.get(str(profile.kyc_level)),
        device_first_seen_at=profile.device_first_seen_at,
        last_password_change_at=profile.last_password_change_at,
        last_phone_change_at=profile.last_phone_change_at,
        last_login_at=profile.last_login_at,
        payee_account_id=payee_account_id,
    )
    decision = risk.assess(session, context)
    reasons = [str(getattr(r, "code", r)) for r in decision.reasons]
    return RiskVerdict(str(decision.decision_id), str(decision.outcome), reasons)


def _record_risk_outcome(session: Session, payment: PaymentTransfer) -> None:
    if payment.risk_decision_id is None:
        return
    status = _RISK_STATUSES[payment.status]
    if payment.reason == "risk_blocked":
        status = "blocked"
    risk.record_outcome(session, payment.risk_decision_id, reference=payment.id, status=status)


def _binding(payment: PaymentTransfer) -> Any:
    from zhangyin.identity.service import StepUpBinding

    return StepUpBinding(
        operation="payments.transfer",
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        payee=payment.to_account_number,
    )


def _start_step_up(
    session: Session, payment: PaymentTransfer
) -> tuple[str, list[str], dict[str, Any] | None]:
    """The challenge's id, its methods and, if the customer has a passkey, its request options."""
    from zhangyin.identity import service as identity

    challenge = identity.start_step_up(session, payment.customer_id, _binding(payment))
    methods = [str(m) for m in challenge.methods]
    return str(challenge.challenge_id), methods, challenge.passkey_options


def _verify_step_up(
    session: Session,
    payment: PaymentTransfer,
    challenge_id: str,
    sms_code: str | None,
    passkey_assertion: dict[str, Any] | None,
) -> None:
    from zhangyin.identity import service as identity

    identity.verify_step_up(
        session,
        payment.customer_id,
        challenge_id,
        _binding(payment),
        sms_code=sms_code,
        passkey_assertion=passkey_assertion,
    )


# -------------------------------------------------------------------- limits


def _settings_row(session: Session, customer_id: str, *, lock: bool) -> CustomerPaymentSettings:
    """The customer's payment settings row, created on first use; locked when asked.

    Locking it serialises one customer's payments, so two concurrent transfers
    cannot both pass the daily limit check.
    """
    row = session.get(
        CustomerPaymentSettings, customer_id, with_for_update=lock, populate_existing=True
    )
    if row is not None:
        return row
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(CustomerPaymentSettings)
        .values(
            customer_id=customer_id,
            default_arrival=Arrival.INSTANT.value,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing()
    )
    row = session.get(
        CustomerPaymentSettings, customer_id, with_for_update=lock, populate_existing=True
    )
    assert row is not None
    return row


#: Built once (building a select costs a fifth of a millisecond); each payment binds values.
_USED_TODAY = select(func.coalesce(func.sum(PaymentTransfer.amount_minor), 0), func.count()).where(
    PaymentTransfer.customer_id == bindparam("customer_id"),
    PaymentTransfer.created_at >= bindparam("start"),
    PaymentTransfer.created_at < bindparam("end"),
    PaymentTransfer.status.in_(_COUNTED),
)


def _used_today(session: Session, customer_id: str, now: datetime) -> tuple[int, int]:
    start, end = business_day_bounds(business_date(now))
    amount, count = session.execute(
        _USED_TODAY, {"customer_id": customer_id, "start": start, "end": end}
    ).one()
    return int(amount), int(count)


def limits_view(session: Session, caller: Caller) -> LimitsView:
    limits, default = _customer_limits(session, caller.customer_id)
    row = _settings_row(session, caller.customer_id, lock=False)
    used, count = _used_today(session, caller.customer_id, utcnow())
    return LimitsView(
        limits,
        default.per_transaction_minor,
        default.daily_amount_minor,
        default.daily_count,
        used,
        count,
        row.default_arrival,
    )


def set_default_arrival(session: Session, caller: Caller, arrival: Arrival) -> LimitsView:
    """The customer's default arrival for new transfers (2-hour or 24-hour delay, or instant)."""
    row = _settings_row(session, caller.customer_id, lock=True)
    row.default_arrival = arrival.value
    row.updated_at = utcnow()
    events.emit(
        session,
        "payments.settings.changed",
        "customer",
        caller.customer_id,
        {"customer_id": caller.customer_id, "default_arrival": arrival.value},
    )
    return limits_view(session, caller)


def _check_limits(
    session: Session,
    customer_id: str,
    amount: Money,
    now: datetime,
    device_id: str | None = None,
) -> CustomerPaymentSettings:
    """Refuse a payment over a limit; return the customer's settings row, locked."""
    limits, _ = _customer_limits(session, customer_id, device_id)
    row = _settings_row(session, customer_id, lock=True)
    per_txn, daily, count_limit = (
        limits.per_transaction_minor,
        limits.daily_amount_minor,
        limits.daily_count,
    )
    used, count = _used_today(session, customer_id, now)
    remaining = max(0, daily - used)
    if amount.minor > per_txn:
        raise LimitExceeded(
            limit_name="单笔限额",
            limit_name_en="per-transaction limit",
            limit=format_minor(per_txn, amount.currency),
            remaining=format_minor(remaining, amount.currency),
            limit_kind="per_transaction",
        )
    if amount.minor > remaining:
        raise LimitExceeded(
            limit_name="日累计限额",
            limit_name_en="daily limit",
            limit=format_minor(daily, amount.currency),
            remaining=format_minor(remaining, amount.currency),
            limit_kind="daily_amount",
        )
    if count >= count_limit:
        raise DailyCountExceeded(limit=count_limit)
    return row


# ------------------------------------------------------------------ statuses


def _set_status(
    session: Session, payment: PaymentTransfer, status: TransferStatus, detail: str = ""
) -> None:
    """Change a payment's status, add it to the timeline and emit its event, together."""
    now = utcnow()
    previous = payment.status
    payment.status = status.value
    payment.updated_at = now
    if status == TransferStatus.COMPLETED:
        payment.completed_at = now
    session.add(
        TransferEvent(transfer_id=payment.id, status=status.value, detail=detail, created_at=now)
    )
    # A payment created in this transaction shows its timeline without reading it back.
    if status in _UNPAID_STATUSES and payment.kind in (TransferKind.BILL, TransferKind.QR):
        _release_reservation(session, payment)
    fresh = session.info.setdefault("payments_fresh_timeline", {})
    if payment.id in fresh:
        fresh[payment.id].append(TimelineEntry(status.value, detail, now))
    events.emit(
        session,
        f"payments.transfer.{status.value}",
        "payment_transfer",
        payment.id,
        {
            "transfer_id": payment.id,
            "customer_id": payment.customer_id,
            "kind": payment.kind,
            "status": status.value,
            "previous_status": previous,
            "amount_minor": payment.amount_minor,
            "currency": payment.currency,
            "detail": detail,
        },
    )


#: Final statuses in which the payment's money never reached the payee.
_UNPAID_STATUSES = frozenset(
    {TransferStatus.REJECTED, TransferStatus.CANCELLED, TransferStatus.RETURNED}
)


def _release_reservation(session: Session, payment: PaymentTransfer) -> None:
    """A bill or QR payment that ended unpaid leaves its bill open and its code payable again.

    The bill or dynamic code is marked with the transfer while the money is on its
    way (challenged, held, delayed) so that it cannot be paid twice; this undoes
    the mark, and only this transfer's mark.
    """
    if payment.kind == TransferKind.BILL:
        bill_id = session.scalar(
            select(BillPayment.bill_id).where(
                BillPayment.customer_id == payment.customer_id,
                BillPayment.transfer_id == payment.id,
            )
        )
        bill = session.get(Bill, bill_id, with_for_update=True) if bill_id else None
        if bill is not None and bill.paid_transfer_id == payment.id:
            bill.paid_transfer_id = None
    elif payment.to_account_id is not None:
        # The code belongs to the payee: its owner narrows the search to their codes.
        owner = ledger.get_account(session, payment.to_account_id).owner_id
        code = session.scalar(
            select(QrCode)
            .where(QrCode.customer_id == owner, QrCode.paid_transfer_id == payment.id)
            .with_for_update()
        )
        if code is not None:
            code.paid_transfer_id = None


def _view(session: Session, payment: PaymentTransfer, *, timeline: bool = True) -> TransferView:
    entries: list[TimelineEntry] = []
    fresh = session.info.get("payments_fresh_timeline", {}).get(payment.id)
    if timeline and fresh is not None:
        entries = list(fresh)
    elif timeline:
        rows = session.scalars(
            select(TransferEvent)
            .where(TransferEvent.transfer_id == payment.id)
            .order_by(TransferEvent.id)
        ).all()
        entries = [TimelineEntry(r.status, r.detail, r.created_at) for r in rows]
    methods = session.info.get("payments_challenge_methods", {}).get(payment.id, [])
    passkey_options = session.info.get("payments_challenge_passkey", {}).get(payment.id)
    return TransferView(
        id=payment.id,
        customer_id=payment.customer_id,
        kind=payment.kind,
        from_account_id=payment.from_account_id,
        to_account_number=payment.to_account_number,
        to_name=payment.to_name,
        to_bank_code=payment.to_bank_code,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        memo=payment.memo,
        arrival=payment.arrival,
        status=payment.status,
        reason=payment.reason,
        challenge_id=payment.challenge_id
        if payment.status == TransferStatus.PENDING_CHALLENGE
        else None,
        challenge_methods=list(methods),
        challenge_passkey_options=passkey_options,
        due_at=payment.due_at,
        created_at=payment.created_at,
        completed_at=payment.completed_at,
        timeline=entries,
    )


# ------------------------------------------------------------------ transfers


@dataclass(frozen=True)
class _Destination:
    kind: TransferKind
    account_id: int | None  # the ledger account credited (clearing for interbank)
    bank_code: str | None


def _resolve_destination(
    session: Session, request: TransferRequest, source: ledger.AccountView
) -> _Destination:
    bank_code = request.to_bank_code
    if bank_code and bank_code.upper()[:8] != OUR_BANK_CODE:
        if bank_code.upper()[:8] not in KNOWN_BANKS:
            raise UnknownBank(bank_code=bank_code)
        clearing = ledger.bank_account(session, AccountKind.BANK_CLEARING, request.amount.currency)
        return _Destination(TransferKind.INTERBANK, clearing.id, bank_code.upper()[:8])
    try:
        target = ledger.get_account_by_number(session, request.to_account_number)
    except AccountNotFound:
        raise PayeeAccountUnknown() from None
    if not AccountKind(target.kind).is_customer:
        raise PayeeAccountUnknown()
    if target.id == source.id:
        raise SameAccountTransfer()
    if not _same_name(target.name, request.to_name):
        raise PayeeNameMismatch()
    return _Destination(TransferKind.INTRA, target.id, None)


def create_transfer(
    session: Session,
    caller: Caller,
    request: TransferRequest,
    *,
    origin_key: str | None = None,
    pre_authorised: bool = False,
) -> TransferView:
    """Create a transfer: check limits, ask risk, then post, hold or wait for step-up.

    `pre_authorised` is for runs of a scheduled transfer the customer already
    confirmed: a challenge outcome does not stop them (delay, hold and block do).
    """
    if origin_key is not None:
        existing = session.scalar(
            select(PaymentTransfer).where(PaymentTransfer.origin_key == origin_key)
        )
        if existing is not None:
            return _view(session, existing)
    source = customer_account(session, caller, request.from_account_id)
    if source.currency != request.amount.currency:
        raise InvalidRequest(
            errors=[{"field": "currency", "reason": "mismatch", "message": "account currency"}]
        )
    destination = _resolve_destination(session, request, source)
    return _create(
        session,
        caller,
        request,
        destination,
        origin_key=origin_key,
        pre_authorised=pre_authorised,
    )


def _create(
    session: Session,
    caller: Caller,
    request: TransferRequest,
    destination: _Destination,
    *,
    origin_key: str | None = None,
    pre_authorised: bool = False,
    kind: TransferKind | None = None,
) -> TransferView:
    check_amount_minor(request.amount.minor)
    now = utcnow()
    settings_row = _check_limits(session, caller.customer_id, request.amount, now, caller.device_id)
    arrival = request.arrival or Arrival(settings_row.default_arrival)
    kind = kind or destination.kind
    if kind in (TransferKind.BILL, TransferKind.QR) and arrival != Arrival.INSTANT:
        if request.arrival is not None:
            raise InvalidArrival()
        arrival = Arrival.INSTANT  # a default delay is for transfers to people, not merchants
    payment = PaymentTransfer(
        id=str(uuid_utils.uuid7()),
        customer_id=caller.customer_id,
        kind=kind.value,
        from_account_id=request.from_account_id,
        to_account_number=request.to_account_number,
        to_name=request.to_name,
        to_bank_code=destination.bank_code,
        to_account_id=destination.account_id,
        amount_minor=request.amount.minor,
        currency=request.amount.currency,
        memo=request.memo,
        arrival=arrival.value,
        status=TransferStatus.PROCESSING.value,
        attempts=0,
        origin_key=origin_key,
        created_at=now,
        updated_at=now,
    )
    session.info.setdefault("payments_fresh_timeline", {})[payment.id] = []
    # The row is added once its status is known: one INSERT, no UPDATE after it.
    verdict = _risk_decision(session, caller, payment)
    payment.risk_decision_id = verdict.decision_id
    payment.risk_outcome = verdict.outcome
    outcome = verdict.outcome
    if outcome == "block":
        payment.reason = "risk_blocked"
        _set_status(session, payment, TransferStatus.REJECTED, "风险拦截 / blocked by risk")
    elif outcome == "hold":
        _hold(session, payment, expires_in=HOLD_GRACE)
        _set_status(session, payment, TransferStatus.HELD_FOR_REVIEW, "待人工审核 / under review")
    elif not pre_authorised and (
        outcome == "challenge" or payment.amount_minor > STEP_UP_THRESHOLD_MINOR
    ):
        challenge_id, methods, passkey_options = _start_step_up(session, payment)
        payment.challenge_id = challenge_id
        session.info.setdefault("payments_challenge_methods", {})[payment.id] = methods
        session.info.setdefault("payments_challenge_passkey", {})[payment.id] = passkey_options
        _set_status(session, payment, TransferStatus.PENDING_CHALLENGE, "待验证 / confirm")
    else:
        if outcome == "delay":
            payment.arrival = Arrival.TWENTY_FOUR_HOURS.value
        _execute(session, payment)
    session.add(payment)
    # Before the flush: the decision's outcome goes out with the payment's own rows.
    _record_risk_outcome(session, payment)
    session.flush()
    return _view(session, payment)


def _reference(payment: PaymentTransfer) -> str:
    return f"pay:{payment.id}"


def _hold(session: Session, payment: PaymentTransfer, *, expires_in: timedelta) -> None:
    assert payment.to_account_id is not None
    held = ledger.hold(
        session,
        ledger.TransferOrder(
            payment.from_account_id,
            payment.to_account_id,
            Money(payment.amount_minor, payment.currency),
            memo=_ledger_memo(payment),
            reference=_reference(payment),
        ),
        timeout=expires_in,
    )
    payment.ledger_transfer_id = held.id


def _ledger_memo(payment: PaymentTransfer) -> str:
    text = (
        payment.memo
        or {"intra": "转账", "interbank": "跨行转账", "bill": "缴费", "qr": "扫码付款"}[
            payment.kind
        ]
    )
    return f"{text} {payment.to_name}"[:140]


def _execute(session: Session, payment: PaymentTransfer) -> None:
    """Move the money of an allowed (or confirmed) payment according to its arrival."""
    delay = DELAYS[Arrival(payment.arrival)]
    assert payment.to_account_id is not None
    if delay:
        _hold(session, payment, expires_in=delay + HOLD_GRACE)
        payment.due_at = utcnow() + delay
        _set_status(session, payment, TransferStatus.DELAYED, f"延时到账 {payment.arrival}")
        return
    if payment.kind == TransferKind.INTERBANK:
        _hold(session, payment, expires_in=HOLD_GRACE)
        _send_to_clearing_later(session, payment)
        return
    posted = ledger.transfer(
        session,
        ledger.TransferOrder(
            payment.from_account_id,
            payment.to_account_id,
            Money(payment.amount_minor, payment.currency),
            memo=_ledger_memo(payment),
            reference=_reference(payment),
        ),
    )
    payment.ledger_transfer_id = posted.id
    _set_status(session, payment, TransferStatus.COMPLETED, "已到账 / completed")


def _send_to_clearing_later(session: Session, payment: PaymentTransfer) -> None:
    """Queue an interbank payment for the clearing job (it sends after this commits)."""
    from zhangyin.payments.interbank import queue_credit_transfer

    payment.due_at = None
    payment.attempts = 0
    queue_credit_transfer(session, payment)
    _set_status(session, payment, TransferStatus.PROCESSING, "已提交清算 / sent for clearing")


def _lock_payment(session: Session, transfer_id: str) -> PaymentTransfer:
    payment = session.get(
        PaymentTransfer, transfer_id, with_for_update=True, populate_existing=True
    )
    if payment is None:
        raise PaymentNotFound()
    return payment


def _own_payment(session: Session, caller: Caller, transfer_id: str) -> PaymentTransfer:
    payment = _lock_payment(session, transfer_id)
    if payment.customer_id != caller.customer_id:
        raise PaymentNotFound()
    return payment


def confirm_transfer(
    session: Session,
    caller: Caller,
    transfer_id: str,
    *,
    challenge_id: str,
    sms_code: str | None = None,
    passkey_assertion: dict[str, Any] | None = None,
) -> TransferView:
    """Complete a transfer that waited for step-up, with the proof bound to it."""
    payment = _own_payment(session, caller, transfer_id)
    if payment.status != TransferStatus.PENDING_CHALLENGE:
        raise TransferNotAwaitingChallenge(status=payment.status)
    if not hmac.compare_digest(challenge_id, payment.challenge_id or ""):
        raise ChallengeMismatch()
    _verify_step_up(session, payment, challenge_id, sms_code, passkey_assertion)
    # Other transfers may have used the day's limit since this one was asked for: check
    # again (a pending_challenge transfer does not count against the limit itself).
    _check_limits(
        session, caller.customer_id, Money(payment.amount_minor, payment.currency), utcnow()
    )
    if payment.risk_outcome == "delay":
        payment.arrival = Arrival.TWENTY_FOUR_HOURS.value
    _execute(session, payment)
    session.flush()
    _record_risk_outcome(session, payment)
    return _view(session, payment)


def cancel_transfer(session: Session, caller: Caller, transfer_id: str) -> TransferView:
    """Cancel a transfer before its money moves: delayed (hold voided) or unconfirmed."""
    payment = _own_payment(session, caller, transfer_id)
    if payment.status == TransferStatus.DELAYED:
        assert payment.ledger_transfer_id is not None
        ledger.void_hold(session, payment.ledger_transfer_id)
    elif payment.status != TransferStatus.PENDING_CHALLENGE:
        raise TransferNotCancellable(status=payment.status)
    payment.due_at = None
    _set_status(session, payment, TransferStatus.CANCELLED, "客户撤销 / cancelled by customer")
    _record_risk_outcome(session, payment)
    return _view(session, payment)


def get_transfer(session: Session, caller: Caller, transfer_id: str) -> TransferView:
    payment = session.get(PaymentTransfer, transfer_id)
    if payment is None or payment.customer_id != caller.customer_id:
        raise PaymentNotFound()
    return _view(session, payment)


def list_transfers(
    session: Session, caller: Caller, *, cursor: str | None = None, limit: int = 20
) -> tuple[list[TransferView], str | None]:
    """The customer's transfers, newest first; the cursor is the last id seen."""
    limit = max(1, min(limit, 100))
    query = (
        select(PaymentTransfer)
        .where(PaymentTransfer.customer_id == caller.customer_id)
        .order_by(PaymentTransfer.id.desc())
        .limit(limit + 1)
    )
    if cursor:
        query = query.where(PaymentTransfer.id < cursor)
    rows = session.scalars(query).all()
    views = [_view(session, r, timeline=False) for r in rows[:limit]]
    return views, (rows[limit - 1].id if len(rows) > limit else None)


# ----------------------------------------------------------- held for review


def approve_held(session: Session, transfer_id: str) -> TransferView:
    """A reviewer released a held transfer (risk.case.approved): it goes on."""
    payment = _lock_payment(session, transfer_id)
    if payment.status != TransferStatus.HELD_FOR_REVIEW:
        return _view(session, payment)  # a redelivered decision changes nothing
    assert payment.ledger_transfer_id is not None
    if payment.kind == TransferKind.INTERBANK:
        _send_to_clearing_later(session, payment)
    else:
        posted = ledger.post_hold(session, payment.ledger_transfer_id)
        if posted.status != "posted":
            payment.reason = "hold_expired"
            _set_status(session, payment, TransferStatus.REJECTED, "审核超时 / review expired")
        else:
            _set_status(session, payment, TransferStatus.COMPLETED, "审核通过 / approved")
    _record_risk_outcome(session, payment)
    return _view(session, payment)


def reject_held(session: Session, transfer_id: str) -> TransferView:
    """A reviewer refused a held transfer (risk.case.rejected): its money is released."""
    payment = _lock_payment(session, transfer_id)
    if payment.status != TransferStatus.HELD_FOR_REVIEW:
        return _view(session, payment)
    assert payment.ledger_transfer_id is not None
    if ledger.get_transfer(session, payment.ledger_transfer_id).status == "pending":
        ledger.void_hold(session, payment.ledger_transfer_id)
    payment.reason = "review_rejected"
    _set_status(session, payment, TransferStatus.REJECTED, "审核未通过 / rejected on review")
    _record_risk_outcome(session, payment)
    return _view(session, payment)


def _overdue(
    session: Session, status: TransferStatus, since: datetime, limit: int
) -> Iterator[PaymentTransfer]:
    """Payments in `status` created before `since`, each locked and still in that status."""
    query = (
        select(PaymentTransfer.id)
        .where(PaymentTransfer.status == status.value, PaymentTransfer.created_at <= since)
        .order_by(PaymentTransfer.created_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for transfer_id in session.scalars(query).all():
        payment = _lock_payment(session, transfer_id)
        if payment.status == status:
            yield payment


def expire_stale_reviews(session: Session, now: datetime | None = None, limit: int = 100) -> int:
    """Reject transfers nobody reviewed before their hold's grace ran out (never stuck)."""
    since = (now or utcnow()) - HOLD_GRACE
    done = 0
    for payment in _overdue(session, TransferStatus.HELD_FOR_REVIEW, since, limit):
        if payment.ledger_transfer_id is None:
            continue
        if ledger.get_transfer(session, payment.ledger_transfer_id).status == "pending":
            ledger.void_hold(session, payment.ledger_transfer_id)
        payment.reason = "review_expired"
        _set_status(session, payment, TransferStatus.REJECTED, "审核超时 / review expired")
        _record_risk_outcome(session, payment)
        done += 1
    return done


def expire_unconfirmed(session: Session, now: datetime | None = None, limit: int = 100) -> int:
    """Cancel transfers whose step-up was never completed (nothing moved; reservations freed)."""
    since = (now or utcnow()) - UNCONFIRMED_TIMEOUT
    done = 0
    for payment in _overdue(session, TransferStatus.PENDING_CHALLENGE, since, limit):
        payment.reason = "challenge_expired"
        _set_status(session, payment, TransferStatus.CANCELLED, "验证超时 / not confirmed in time")
        _record_risk_outcome(session, payment)
        done += 1
    return done


# ---------------------------------------------------------------- fraud reports


FraudReportStatus = Literal["reviewing", "confirmed", "dismissed"]


@dataclass(frozen=True)
class FraudReportView:
    """A customer's fraud report (举报诈骗) on a transfer, as the risk case it opened."""

    transfer_id: str
    case_id: str
    #: `reviewing` until an analyst decides, then `confirmed` or `dismissed`.
    status: FraudReportStatus
    description: str
    reported_at: datetime


def _report_status(case: CaseView) -> FraudReportStatus:
    if case.status in ("open", "escalated"):
        return "reviewing"
    return "confirmed" if case.fraud_confirmed else "dismissed"


def report_fraud(
    session: Session, caller: Caller, transfer_id: str, description: str
) -> FraudReportView:
    """The customer says a completed transfer of theirs was fraud: risk opens a case.

    The report becomes a fraud label (the model learns from it, the payee counts as
    reported) and a case for an analyst, who decides whether to freeze or watch-list
    the payee; nothing is frozen here. Reporting again returns the same report.
    """
    payment = _own_payment(session, caller, transfer_id)  # locked: one report at a time
    if payment.status != TransferStatus.COMPLETED:
        raise TransferNotReportable(status=payment.status)
    if payment.kind != TransferKind.INTERBANK and payment.to_account_id is not None:
        payee = ledger.get_account(session, payment.to_account_id)
        if payee.owner_id == caller.customer_id:
            raise TransferNotReportable(status=payment.status)  # to one's own account
    if payment.risk_decision_id is None:
        # Made before risk was in the path: there is no decision to label.
        raise TransferNotReportable(status=payment.status)
    case = risk.report_fraud(session, caller.customer_id, payment.id, description)
    return FraudReportView(
        payment.id, case.id, _report_status(case), case.description, case.opened_at
    )


def find_by_reference(session: Session, reference: str) -> str | None:
    """The payment a risk case refers to (its id, or `pay:<id>`)."""
    transfer_id = reference.removeprefix("pay:")
    return transfer_id if session.get(PaymentTransfer, transfer_id) is not None else None


# ------------------------------------------------------------- delayed posts


def post_due_delayed(session: Session, now: datetime | None = None, limit: int = 100) -> int:
    """Post delayed transfers whose time has come (interbank ones go to clearing)."""
    now = now or utcnow()
    query = (
        select(PaymentTransfer.id)
        .where(
            PaymentTransfer.status == TransferStatus.DELAYED.value,
            PaymentTransfer.due_at <= now,
        )
        .order_by(PaymentTransfer.due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    done = 0
    for transfer_id in session.scalars(query).all():
        payment = _lock_payment(session, transfer_id)
        if payment.status != TransferStatus.DELAYED:
            continue
        assert payment.ledger_transfer_id is not None
        if payment.kind == TransferKind.INTERBANK:
            _send_to_clearing_later(session, payment)
            done += 1
            continue
        savepoint = session.begin_nested()
        try:
            posted = ledger.post_hold(session, payment.ledger_transfer_id)
            savepoint.commit()
        except DomainError as error:
            # The payee's account was frozen or closed meanwhile: release the money.
            savepoint.rollback()
            ledger.void_hold(session, payment.ledger_transfer_id)
            payment.reason = error.code
            _set_status(session, payment, TransferStatus.REJECTED, error.detail("zh-CN")[:200])
        else:
            if posted.status == "posted":
                _set_status(session, payment, TransferStatus.COMPLETED, "延时到账完成 / arrived")
            else:
                payment.reason = "hold_expired"
                _set_status(session, payment, TransferStatus.REJECTED, "冻结已过期 / expired")
        payment.due_at = None
        _record_risk_outcome(session, payment)
        done += 1
    return done


# ---------------------------------------------------------------------- payees


@dataclass(frozen=True)
class PayeeView:
    id: str
    account_number: str
    name: str
    bank_code: str | None
    nickname: str | None
    created_at: datetime


@dataclass(frozen=True)
class RecentPayeeView:
    account_number: str
    name: str
    bank_code: str | None
    last_paid_at: datetime


def _payee_view(p: Payee) -> PayeeView:
    return PayeeView(p.id, p.account_number, p.name, p.bank_code, p.nickname, p.created_at)


def add_payee(
    session: Session,
    caller: Caller,
    *,
    account_number: str,
    name: str,
    bank_code: str | None,
    nickname: str | None,
) -> PayeeView:
    """Save a payee; an intra-bank one is checked against the account's name first."""
    if bank_code and bank_code.upper()[:8] != OUR_BANK_CODE:
        if bank_code.upper()[:8] not in KNOWN_BANKS:
            raise UnknownBank(bank_code=bank_code)
        bank_code = bank_code.upper()[:8]
    else:
        bank_code = None
        try:
            target = ledger.get_account_by_number(session, account_number)
        except AccountNotFound:
            raise PayeeAccountUnknown() from None
        if not AccountKind(target.kind).is_customer:
            raise PayeeAccountUnknown()
        if not _same_name(target.name, name):
            raise PayeeNameMismatch()
    existing = session.scalar(
        select(Payee).where(
            Payee.customer_id == caller.customer_id, Payee.account_number == account_number
        )
    )
    if existing is not None:
        existing.name, existing.bank_code, existing.nickname = name, bank_code, nickname
        return _payee_view(existing)
    payee = Payee(
        id=str(uuid_utils.uuid7()),
        customer_id=caller.customer_id,
        account_number=account_number,
        name=name,
        bank_code=bank_code,
        nickname=nickname,
        created_at=utcnow(),
    )
    session.add(payee)
    session.flush()
    return _payee_view(payee)


def list_payees(session: Session, caller: Caller) -> tuple[list[PayeeView], list[RecentPayeeView]]:
    saved = session.scalars(
        select(Payee).where(Payee.customer_id == caller.customer_id).order_by(Payee.created_at)
    ).all()
    recent_rows = session.execute(
        select(
            PaymentTransfer.to_account_number,
            PaymentTransfer.to_name,
            PaymentTransfer.to_bank_code,
            func.max(PaymentTransfer.created_at),
        )
        .where(
            PaymentTransfer.customer_id == caller.customer_id,
            PaymentTransfer.status == TransferStatus.COMPLETED.value,
            PaymentTransfer.kind.in_([TransferKind.INTRA.value, TransferKind.INTERBANK.value]),
        )
        .group_by(
            PaymentTransfer.to_account_number,
            PaymentTransfer.to_name,
            PaymentTransfer.to_bank_code,
        )
        .order_by(func.max(PaymentTransfer.created_at).desc())
        .limit(10)
    ).all()
    recent = [RecentPayeeView(r[0], r[1], r[2], r[3]) for r in recent_rows]
    return [_payee_view(p) for p in saved], recent


def delete_payee(session: Session, caller: Caller, payee_id: str) -> None:
    payee = session.get(Payee, payee_id)
    if payee is None or payee.customer_id != caller.customer_id:
        raise PaymentNotFound()
    session.delete(payee)


# --------------------------------------------------------------- dev deposits


def dev_deposit(session: Session, account_number: str, amount: Money) -> ledger.AccountView:
    """A cash deposit at a simulated branch counter (demo mode only): cash → customer."""
    try:
        target = ledger.get_account_by_number(session, account_number)
    except AccountNotFound:
        raise PayeeAccountUnknown() from None
    if not AccountKind(target.kind).is_customer:
        raise PayeeAccountUnknown()
    cash = ledger.bank_account(session, AccountKind.BANK_CASH, amount.currency)
    ledger.transfer(session, ledger.TransferOrder(cash.id, target.id, amount, memo="柜台现金存入"))
    return ledger.get_account(session, target.id)


# ---------------------------------------------------------------- shared keys


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose (QR signing, receipts, cardless codes) from the secret key."""
    return hmac.new(
        secret.encode(), f"zhangyin-payments-{purpose}-v1".encode(), hashlib.sha256
    ).digest()


def is_final(status: str) -> bool:
    return TransferStatus(status) in FINAL_STATUSES
