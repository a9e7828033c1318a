"""Scheduled and recurring transfers (预约转账 / 周期转账): daily, weekly or monthly.

Each run creates its transfer with the origin key `sched:<id>:<date>`, which
is unique in the database, so a run retried after a crash (or by two workers)
makes one transfer. A scheduler that was down catches up once: the missed run
is made, then the schedule moves to its next date after today (no burst of
back-payments). Monthly schedules keep their day of month and fall back to a
month's last day (31 Jan → 28 Feb → 31 Mar).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

import uuid_utils
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin import events
from zhangyin.clock import business_date, utcnow
from zhangyin.errors import DomainError
from zhangyin.money import Money
from zhangyin.payments.errors import ScheduledNotFound, ScheduleInvalid
from zhangyin.payments.models import (
    Arrival,
    Frequency,
    PaymentTransfer,
    ScheduledTransfer,
    TransferEvent,
    TransferKind,
    TransferStatus,
)
from zhangyin.payments.service import (
    Caller,
    TransferRequest,
    _resolve_destination,
    create_transfer,
    customer_account,
)


@dataclass(frozen=True)
class ScheduledView:
    id: str
    from_account_id: int
    to_account_number: str
    to_name: str
    to_bank_code: str | None
    amount_minor: int
    currency: str
    memo: str
    frequency: str
    start_date: date
    end_date: date | None
    next_run_date: date | None
    runs: int
    active: bool


def _view(r: ScheduledTransfer) -> ScheduledView:
    return ScheduledView(
        r.id,
        r.from_account_id,
        r.to_account_number,
        r.to_name,
        r.to_bank_code,
        r.amount_minor,
        r.currency,
        r.memo,
        r.frequency,
        r.start_date,
        r.end_date,
        r.next_run_date,
        r.runs,
        r.active,
    )


def add_months(day: date, months: int, anchor_day: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(anchor_day, last))


def next_date(frequency: Frequency, after: date, anchor: date) -> date | None:
    if frequency == Frequency.ONCE:
        return None
    if frequency == Frequency.DAILY:
        return after + timedelta(days=1)
    if frequency == Frequency.WEEKLY:
        return after + timedelta(days=7)
    return add_months(after, 1, anchor.day)


def create_scheduled(
    session: Session,
    caller: Caller,
    *,
    from_account_id: int,
    to_account_number: str,
    to_name: str,
    to_bank_code: str | None,
    amount: Money,
    memo: str,
    frequency: Frequency,
    start_date: date,
    end_date: date | None,
) -> ScheduledView:
    """Set up a schedule; the payee is checked now (name, bank) as for a transfer."""
    today = business_date(utcnow())
    if start_date < today:
        raise ScheduleInvalid(why="the start date is in the past", why_zh="开始日期早于今天")
    if end_date is not None and end_date < start_date:
        raise ScheduleInvalid(why="the end date is before the start", why_zh="结束日期早于开始日期")
    if start_date > today + timedelta(days=366):
        raise ScheduleInvalid(why="the start date is over a year away", why_zh="开始日期超过一年")
    source = customer_account(session, caller, from_account_id)
    request = TransferRequest(
        from_account_id=source.id,
        to_account_number=to_account_number,
        to_name=to_name,
        amount=amount,
        memo=memo,
        to_bank_code=to_bank_code,
    )
    destination = _resolve_destination(session, request, source)
    row = ScheduledTransfer(
        id=str(uuid_utils.uuid7()),
        customer_id=caller.customer_id,
        from_account_id=source.id,
        to_account_number=to_account_number,
        to_name=to_name,
        to_bank_code=destination.bank_code,
        amount_minor=amount.minor,
        currency=amount.currency,
        memo=memo,
        frequency=frequency.value,
        start_date=start_date,
        end_date=end_date,
        next_run_date=start_date,
        runs=0,
        active=True,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    events.emit(
        session,
        "payments.scheduled.created",
        "scheduled_transfer",
        row.id,
        {"scheduled_id": row.id, "customer_id": caller.customer_id, "frequency": row.frequency},
    )
    return _view(row)


def list_scheduled(session: Session, caller: Caller) -> list[ScheduledView]:
    rows = session.scalars(
        select(ScheduledTransfer)
        .where(ScheduledTransfer.customer_id == caller.customer_id)
        .order_by(ScheduledTransfer.created_at.desc())
    ).all()
    return [_view(r) for r in rows]


def cancel_scheduled(session: Session, caller: Caller, scheduled_id: str) -> ScheduledView:
    row = session.get(ScheduledTransfer, scheduled_id, with_for_update=True)
    if row is None or row.customer_id != caller.customer_id:
        raise ScheduledNotFound()
    row.active = False
    row.next_run_date = None
    events.emit(
        session,
        "payments.scheduled.cancelled",
        "scheduled_transfer",
        row.id,
        {"scheduled_id": row.id, "customer_id": caller.customer_id},
    )
    return _view(row)


def _record_failed_run(
    session: Session, row: ScheduledTransfer, origin_key: str, error: DomainError
) -> None:
    """A run that could not be made shows in the history as a rejected transfer."""
    now = utcnow()
    payment = PaymentTransfer(
        id=str(uuid_utils.uuid7()),
        customer_id=row.customer_id,
        kind=(TransferKind.INTERBANK if row.to_bank_code else TransferKind.INTRA).value,
        from_account_id=row.from_account_id,
        to_account_number=row.to_account_number,
        to_name=row.to_name,
        to_bank_code=row.to_bank_code,
        amount_minor=row.amount_minor,
        currency=row.currency,
        memo=row.memo,
        arrival=Arrival.INSTANT.value,
        status=TransferStatus.REJECTED.value,
        reason=error.code,
        attempts=0,
        origin_key=origin_key,
        created_at=now,
        updated_at=now,
    )
    session.add(payment)
    detail = error.detail("zh-CN")[:200]
    session.add(
        TransferEvent(
            transfer_id=payment.id,
            status=TransferStatus.REJECTED.value,
            detail=detail,
            created_at=now,
        )
    )
    events.emit(
        session,
        "payments.transfer.rejected",
        "payment_transfer",
        payment.id,
        {"transfer_id": payment.id, "customer_id": row.customer_id, "reason": error.code},
    )


def run_due(session: Session, today: date | None = None, limit: int = 100) -> int:
    """Make every run that is due today (or was missed); return how many were made."""
    today = today or business_date(utcnow())
    query = (
        select(ScheduledTransfer.id)
        .where(
            ScheduledTransfer.active.is_(True),
            ScheduledTransfer.next_run_date <= today,
        )
        .order_by(ScheduledTransfer.next_run_date)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    made = 0
    for scheduled_id in session.scalars(query).all():
        row = session.get(ScheduledTransfer, scheduled_id, with_for_update=True)
        if row is None or not row.active or row.next_run_date is None:
            continue
        run_date = row.next_run_date
        if row.end_date is not None and run_date > row.end_date:
            row.active, row.next_run_date = False, None
            continue
        origin_key = f"sched:{row.id}:{run_date.isoformat()}"
        request = TransferRequest(
            from_account_id=row.from_account_id,
            to_account_number=row.to_account_number,
            to_name=row.to_name,
            amount=Money(row.amount_minor, row.currency),
            memo=row.memo,
            arrival=Arrival.INSTANT,
            to_bank_code=row.to_bank_code,
        )
        savepoint = session.begin_nested()
        try:
            create_transfer(
                session,
                Caller(row.customer_id),
                request,
                origin_key=origin_key,
                pre_authorised=True,
            )
            savepoint.commit()
        except DomainError as error:
            savepoint.rollback()
            _record_failed_run(session, row, origin_key, error)
        row.runs += 1
        # Catch up once: after a missed run, go to the first date after today.
        following = next_date(Frequency(row.frequency), run_date, row.start_date)
        while following is not None and following <= today:
            following = next_date(Frequency(row.frequency), following, row.start_date)
        if following is None or (row.end_date is not None and following > row.end_date):
            row.active, row.next_run_date = False, None
        else:
            row.next_run_date = following
        made += 1
    return made
