"""Bill payment (生活缴费): the biller registry, bill lookup, payment, saved accounts, auto-pay.

Billers are rows the console adds without a release; each has a settlement
account in the ledger that its bills are paid into. A bill payment is a
payment of kind `bill` to that account, so it goes through the same limits,
risk decision and status machine as a transfer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import uuid_utils
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhangyin.clock import business_date, business_day_bounds, utcnow
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money, format_minor
from zhangyin.payments.errors import (
    BillAccountInvalid,
    BillAmountNotAllowed,
    BillerNotFound,
    NoBillDue,
    PaymentNotFound,
)
from zhangyin.payments.models import (
    Bill,
    Biller,
    BillPayment,
    PaymentTransfer,
    SavedBillAccount,
    TransferKind,
    TransferStatus,
)
from zhangyin.payments.service import (
    Caller,
    TransferRequest,
    TransferView,
    _create,
    _Destination,
    customer_account,
)

#: The registry a new bank starts with: (id, category, name, English name, label, pattern, fixed).
DEFAULT_BILLERS: list[tuple[str, str, str, str, str, str, list[int]]] = [
    ("bj-water", "water", "北京自来水集团", "Beijing Waterworks", "用户编号", r"^\d{8,10}$", []),
    ("sgcc-bj", "electricity", "国网北京市电力公司", "State Grid Beijing", "户号", r"^\d{10}$", []),
    ("bj-gas", "gas", "北京燃气集团", "Beijing Gas", "燃气户号", r"^\d{8,12}$", []),
    (
        "bj-heating",
        "heating",
        "北京热力集团",
        "Beijing District Heating",
        "供热户号",
        r"^\d{8,12}$",
        [],
    ),
    (
        "china-mobile",
        "phone",
        "中国移动话费充值",
        "China Mobile top-up",
        "手机号",
        r"^1[3-9]\d{9}$",
        [3000, 5000, 10000, 20000],
    ),
    (
        "pku-tuition",
        "campus",
        "北京大学学费",
        "Peking University tuition",
        "学号",
        r"^\d{8,10}$",
        [],
    ),
    (
        "pku-canteen",
        "campus",
        "北京大学校园卡充值",
        "Peking University canteen card",
        "校园卡号",
        r"^\d{6,10}$",
        [5000, 10000, 20000, 50000],
    ),
    (
        "bj-hospital",
        "hospital",
        "北京协和医院门诊缴费",
        "Peking Union Medical College Hospital",
        "就诊卡号",
        r"^[A-Z0-9]{6,12}$",
        [],
    ),
]


@dataclass(frozen=True)
class BillerView:
    id: str
    category: str
    name: str
    name_en: str
    account_label: str
    account_pattern: str
    fixed_amounts_minor: list[int]


@dataclass(frozen=True)
class BillView:
    id: str
    biller_id: str
    bill_account: str
    holder_name: str
    period: str
    amount_minor: int
    currency: str


@dataclass(frozen=True)
class BillPaymentView:
    id: str
    biller_id: str
    bill_account: str
    amount_minor: int
    currency: str
    transfer: TransferView
    created_at: datetime


@dataclass(frozen=True)
class SavedBillAccountView:
    id: str
    biller_id: str
    bill_account: str
    nickname: str | None
    autopay_from_account_id: int | None
    autopay_monthly_cap_minor: int | None


def _biller_view(b: Biller) -> BillerView:
    return BillerView(
        b.id,
        b.category,
        b.name,
        b.name_en,
        b.account_label,
        b.account_pattern,
        [int(a) for a in b.fixed_amounts or []],
    )


def add_biller(
    session: Session,
    *,
    biller_id: str,
    category: str,
    name: str,
    name_en: str,
    account_label: str,
    account_pattern: str,
    fixed_amounts_minor: list[int] | None = None,
) -> BillerView:
    """Register a biller with its own settlement account (the console calls this)."""
    re.compile(account_pattern)  # a broken pattern is refused here, not at lookup time
    existing = session.get(Biller, biller_id)
    if existing is not None:
        return _biller_view(existing)
    settlement = ledger.open_account(
        session,
        kind=AccountKind.BANK_SETTLEMENT,
        name=f"{name} 结算户"[:100],
        code=f"biller:{biller_id}",
    )
    biller = Biller(
        id=biller_id,
        category=category,
        name=name,
        name_en=name_en,
        settlement_account_id=settlement.id,
        account_label=account_label,
        account_pattern=account_pattern,
        fixed_amounts=list(fixed_amounts_minor or []),
        active=True,
        created_at=utcnow(),
    )
    session.add(biller)
    session.flush()
    return _biller_view(biller)


def ensure_default_billers(session: Session) -> int:
    """Load the default registry (once; billers already there are left alone)."""
    added = 0
    for biller_id, category, name, name_en, label, pattern, fixed in DEFAULT_BILLERS:
        if session.get(Biller, biller_id) is None:
            add_biller(
                session,
                biller_id=biller_id,
                category=category,
                name=name,
                name_en=name_en,
                account_label=label,
                account_pattern=pattern,
                fixed_amounts_minor=fixed,
            )
            added += 1
    return added


def _ensure_registry(session: Session) -> None:
    """A bank with no billers at all gets the default registry on first use."""
    if session.scalar(select(Biller.id).limit(1)) is None:
        ensure_default_billers(session)


def list_billers(session: Session, category: str | None = None) -> list[BillerView]:
    _ensure_registry(session)
    query = select(Biller).where(Biller.active.is_(True)).order_by(Biller.category, Biller.id)
    if category:
        query = query.where(Biller.category == category)
    return [_biller_view(b) for b in session.scalars(query).all()]


def _biller(session: Session, biller_id: str) -> Biller:
    _ensure_registry(session)
    biller = session.get(Biller, biller_id)
    if biller is None or not biller.active:
        raise BillerNotFound()
    return biller


def _check_account(biller: Biller, bill_account: str) -> None:
    if not re.fullmatch(biller.account_pattern, bill_account):
        raise BillAccountInvalid(label=biller.account_label)


def add_bill(
    session: Session,
    biller_id: str,
    *,
    bill_account: str,
    holder_name: str,
    period: str,
    amount_minor: int,
    currency: str = "CNY",
) -> BillView:
    """A biller reports an amount owed (the console or a biller feed calls this)."""
    biller = _biller(session, biller_id)
    _check_account(biller, bill_account)
    bill = Bill(
        id=str(uuid_utils.uuid7()),
        biller_id=biller_id,
        bill_account=bill_account,
        holder_name=holder_name,
        period=period,
        amount_minor=amount_minor,
        currency=currency,
        created_at=utcnow(),
    )
    session.add(bill)
    session.flush()
    return _bill_view(bill)


def mask_name(name: str) -> str:
    """*三 / **明: enough for the payer to recognise the household, no more."""
    return "*" * (len(name) - 1) + name[-1:] if len(name) > 1 else "*"


def _bill_view(b: Bill) -> BillView:
    return BillView(
        b.id,
        b.biller_id,
        b.bill_account,
        mask_name(b.holder_name),
        b.period,
        b.amount_minor,
        b.currency,
    )


def lookup_bills(session: Session, biller_id: str, bill_account: str) -> list[BillView]:
    """What is owed on a bill account (unpaid bills, oldest first)."""
    biller = _biller(session, biller_id)
    _check_account(biller, bill_account)
    rows = session.scalars(
        select(Bill)
        .where(
            Bill.biller_id == biller_id,
            Bill.bill_account == bill_account,
            Bill.paid_transfer_id.is_(None),
        )
        .order_by(Bill.created_at)
    ).all()
    return [_bill_view(b) for b in rows]


def pay_bill(
    session: Session,
    caller: Caller,
    *,
    biller_id: str,
    bill_account: str,
    from_account_id: int,
    amount: Money | None,
    save_account: bool = False,
    origin_key: str | None = None,
) -> BillPaymentView:
    """Pay the oldest open bill (or, for top-ups, a chosen amount) into the biller's account."""
    biller = _biller(session, biller_id)
    _check_account(biller, bill_account)
    source = customer_account(session, caller, from_account_id)
    open_bill = session.scalar(
        select(Bill)
        .where(
            Bill.biller_id == biller_id,
            Bill.bill_account == bill_account,
            Bill.paid_transfer_id.is_(None),
        )
        .order_by(Bill.created_at)
        .limit(1)
        .with_for_update()
    )
    if open_bill is not None:
        pay = Money(open_bill.amount_minor, open_bill.currency)
        holder = open_bill.holder_name
    elif biller.fixed_amounts:
        if amount is None or amount.minor not in biller.fixed_amounts:
            allowed = "、".join(format_minor(a, "CNY") for a in biller.fixed_amounts)
            raise BillAmountNotAllowed(allowed=allowed)
        pay, holder = amount, bill_account
    else:
        raise NoBillDue()
    settlement = ledger.get_account(session, biller.settlement_account_id)
    view = _create(
        session,
        caller,
        TransferRequest(
            from_account_id=source.id,
            to_account_number=settlement.number,
            to_name=biller.name,
            amount=pay,
            memo=f"{biller.name} {bill_account} {holder}"[:140],
        ),
        _Destination(TransferKind.BILL, settlement.id, None),
        origin_key=origin_key,
        pre_authorised=origin_key is not None,
        kind=TransferKind.BILL,
    )
    # Marked while the money is on its way too (challenged, held, delayed), so it is not
    # paid twice; service._release_reservation unmarks it if that transfer ends unpaid.
    if open_bill is not None and view.status not in (
        TransferStatus.REJECTED,
        TransferStatus.CANCELLED,
    ):
        open_bill.paid_transfer_id = view.id
    payment = BillPayment(
        id=str(uuid_utils.uuid7()),
        customer_id=caller.customer_id,
        biller_id=biller_id,
        bill_account=bill_account,
        bill_id=open_bill.id if open_bill else None,
        transfer_id=view.id,
        amount_minor=pay.minor,
        currency=pay.currency,
        created_at=utcnow(),
    )
    session.add(payment)
    if save_account:
        save_bill_account(session, caller, biller_id=biller_id, bill_account=bill_account)
    session.flush()
    return BillPaymentView(
        payment.id, biller_id, bill_account, pay.minor, pay.currency, view, payment.created_at
    )


def bill_payments(
    session: Session, caller: Caller, biller_id: str | None = None, limit: int = 50
) -> list[BillPaymentView]:
    """The customer's payment history, per biller when asked."""
    from zhangyin.payments.service import _view

    query = (
        select(BillPayment, PaymentTransfer)
        .join(PaymentTransfer, PaymentTransfer.id == BillPayment.transfer_id)
        .where(BillPayment.customer_id == caller.customer_id)
        .order_by(BillPayment.created_at.desc())
        .limit(limit)
    )
    if biller_id:
        query = query.where(BillPayment.biller_id == biller_id)
    return [
        BillPaymentView(
            p.id,
            p.biller_id,
            p.bill_account,
            p.amount_minor,
            p.currency,
            _view(session, t, timeline=False),
            p.created_at,
        )
        for p, t in session.execute(query).all()
    ]


def save_bill_account(
    session: Session,
    caller: Caller,
    *,
    biller_id: str,
    bill_account: str,
    nickname: str | None = None,
    autopay_from_account_id: int | None = None,
    autopay_monthly_cap_minor: int | None = None,
) -> SavedBillAccountView:
    """Save a bill account; with a source account and a cap it is an auto-pay mandate."""
    biller = _biller(session, biller_id)
    _check_account(biller, bill_account)
    if autopay_from_account_id is not None:
        customer_account(session, caller, autopay_from_account_id)
    row = session.scalar(
        select(SavedBillAccount).where(
            SavedBillAccount.customer_id == caller.customer_id,
            SavedBillAccount.biller_id == biller_id,
            SavedBillAccount.bill_account == bill_account,
        )
    )
    if row is None:
        row = SavedBillAccount(
            id=str(uuid_utils.uuid7()),
            customer_id=caller.customer_id,
            biller_id=biller_id,
            bill_account=bill_account,
            created_at=utcnow(),
        )
        session.add(row)
    if nickname is not None:
        row.nickname = nickname
    if autopay_from_account_id is not None:
        row.autopay_from_account_id = autopay_from_account_id
        row.autopay_monthly_cap_minor = autopay_monthly_cap_minor
    session.flush()
    return _saved_view(row)


def _saved_view(r: SavedBillAccount) -> SavedBillAccountView:
    return SavedBillAccountView(
        r.id,
        r.biller_id,
        r.bill_account,
        r.nickname,
        r.autopay_from_account_id,
        r.autopay_monthly_cap_minor,
    )


def saved_bill_accounts(session: Session, caller: Caller) -> list[SavedBillAccountView]:
    rows = session.scalars(
        select(SavedBillAccount)
        .where(SavedBillAccount.customer_id == caller.customer_id)
        .order_by(SavedBillAccount.created_at)
    ).all()
    return [_saved_view(r) for r in rows]


def delete_saved_bill_account(session: Session, caller: Caller, saved_id: str) -> None:
    row = session.get(SavedBillAccount, saved_id)
    if row is None or row.customer_id != caller.customer_id:
        raise PaymentNotFound()
    session.delete(row)


def run_autopay(session: Session, limit: int = 100) -> int:
    """Pay open bills of accounts under an auto-pay mandate, within each month's cap."""
    today = business_date(utcnow())
    mandates = session.scalars(
        select(SavedBillAccount)
        .where(SavedBillAccount.autopay_from_account_id.is_not(None))
        .order_by(SavedBillAccount.id)
        .limit(limit)
    ).all()
    paid = 0
    for mandate in mandates:
        bills = session.scalars(
            select(Bill)
            .where(
                Bill.biller_id == mandate.biller_id,
                Bill.bill_account == mandate.bill_account,
                Bill.paid_transfer_id.is_(None),
            )
            .order_by(Bill.created_at)
        ).all()
        for bill in bills:
            caller = Caller(mandate.customer_id)
            month_start, _ = business_day_bounds(today.replace(day=1))
            used = session.scalar(
                select(func.coalesce(func.sum(BillPayment.amount_minor), 0))
                .join(PaymentTransfer, PaymentTransfer.id == BillPayment.transfer_id)
                .where(
                    BillPayment.customer_id == mandate.customer_id,
                    BillPayment.biller_id == mandate.biller_id,
                    BillPayment.bill_account == mandate.bill_account,
                    PaymentTransfer.status == TransferStatus.COMPLETED.value,
                    PaymentTransfer.origin_key.like(f"autopay:{mandate.id}:%"),
                    BillPayment.created_at >= month_start,
                )
            )
            cap = mandate.autopay_monthly_cap_minor or 0
            if int(used or 0) + bill.amount_minor > cap:
                continue  # over the cap: the customer pays it themselves
            assert mandate.autopay_from_account_id is not None
            savepoint = session.begin_nested()
            try:
                pay_bill(
                    session,
                    caller,
                    biller_id=mandate.biller_id,
                    bill_account=mandate.bill_account,
                    from_account_id=mandate.autopay_from_account_id,
                    amount=None,
                    origin_key=f"autopay:{mandate.id}:{bill.id}",
                )
                savepoint.commit()
                paid += 1
            except Exception:
                savepoint.rollback()
    return paid
