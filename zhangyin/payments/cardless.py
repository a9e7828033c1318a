"""Cardless cash (无卡取款): a one-time withdrawal code whose money is held until an ATM pays it.

The customer asks for an amount and an expiry; the money is a ledger hold from
their account to the bank's cash account, and an 8-digit code is shown once
(only its keyed hash is stored). An ATM redeems the code once, for exactly the
amount, which posts the hold; an unused code expires and its hold is voided.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import uuid_utils
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin import events
from zhangyin.clock import utcnow
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money
from zhangyin.payments import service
from zhangyin.payments.errors import (
    CardlessCodeInvalid,
    CardlessNotActive,
    CardlessNotFound,
    CardlessRefusedByRisk,
)
from zhangyin.payments.models import CardlessStatus, CardlessWithdrawal
from zhangyin.payments.service import Caller, _check_limits, customer_account, derive_key


@dataclass(frozen=True)
class CardlessView:
    id: str
    account_id: int
    amount_minor: int
    currency: str
    status: str
    expires_at: datetime
    created_at: datetime
    code: str | None = None


def _digest(secret: str, code: str) -> str:
    return hmac.new(derive_key(secret, "cardless"), code.encode(), hashlib.sha256).hexdigest()


def _view(row: CardlessWithdrawal, code: str | None = None) -> CardlessView:
    return CardlessView(
        row.id,
        row.account_id,
        row.amount_minor,
        row.currency,
        row.status,
        row.expires_at,
        row.created_at,
        code,
    )


def _emit(session: Session, row: CardlessWithdrawal) -> None:
    events.emit(
        session,
        f"payments.cardless.{row.status}",
        "cardless_withdrawal",
        row.id,
        {
            "withdrawal_id": row.id,
            "customer_id": row.customer_id,
            "amount_minor": row.amount_minor,
            "currency": row.currency,
            "status": row.status,
        },
    )


def create_withdrawal(
    session: Session,
    caller: Caller,
    *,
    account_id: int,
    amount: Money,
    expires_in: timedelta,
    secret: str,
) -> CardlessView:
    account = customer_account(session, caller, account_id)
    _check_limits(session, caller.customer_id, amount, utcnow())
    verdict = service.assess_operation(
        session,
        caller,
        operation="cardless_cash",
        account_id=account.id,
        amount=amount,
        payee_account_number=None,
        payee_name=None,
        payee_bank_code=None,
        occurred_at=utcnow(),
    )
    if verdict.outcome != "allow":
        # Cash cannot be recalled once paid out: anything short of allow is a no here.
        raise CardlessRefusedByRisk()
    cash = ledger.bank_account(session, AccountKind.BANK_CASH, amount.currency)
    withdrawal_id = str(uuid_utils.uuid7())
    held = ledger.hold(
        session,
        ledger.TransferOrder(
            account.id, cash.id, amount, memo="无卡取款", reference=f"cardless:{withdrawal_id}"
        ),
        timeout=expires_in + timedelta(days=1),
    )
    while True:
        code = f"{secrets.randbelow(10**8):08d}"
        digest = _digest(secret, code)
        taken = session.scalar(
            select(CardlessWithdrawal.id).where(CardlessWithdrawal.code_digest == digest)
        )
        if taken is None:
            break
    now = utcnow()
    row = CardlessWithdrawal(
        id=withdrawal_id,
        customer_id=caller.customer_id,
        account_id=account.id,
        amount_minor=amount.minor,
        currency=amount.currency,
        code_digest=digest,
        hold_transfer_id=held.id,
        status=CardlessStatus.ACTIVE.value,
        failed_attempts=0,
        expires_at=now + expires_in,
        created_at=now,
    )
    session.add(row)
    session.flush()
    _emit(session, row)
    return _view(row, code)


def list_withdrawals(session: Session, caller: Caller) -> list[CardlessView]:
    rows = session.scalars(
        select(CardlessWithdrawal)
        .where(CardlessWithdrawal.customer_id == caller.customer_id)
        .order_by(CardlessWithdrawal.created_at.desc())
        .limit(50)
    ).all()
    return [_view(r) for r in rows]


def _release(session: Session, row: CardlessWithdrawal, status: CardlessStatus) -> None:
    if ledger.get_transfer(session, row.hold_transfer_id).status == "pending":
        ledger.void_hold(session, row.hold_transfer_id)
    row.status = status.value
    row.resolved_at = utcnow()
    _emit(session, row)


def cancel_withdrawal(session: Session, caller: Caller, withdrawal_id: str) -> CardlessView:
    row = session.get(CardlessWithdrawal, withdrawal_id, with_for_update=True)
    if row is None or row.customer_id != caller.customer_id:
        raise CardlessNotFound()
    if row.status != CardlessStatus.ACTIVE:
        raise CardlessNotActive(status=row.status)
    _release(session, row, CardlessStatus.CANCELLED)
    return _view(row)


def redeem(session: Session, *, code: str, amount: Money, secret: str) -> CardlessView:
    """An ATM pays out a code: once, for exactly its amount, before it expires."""
    row = session.scalar(
        select(CardlessWithdrawal)
        .where(CardlessWithdrawal.code_digest == _digest(secret, code))
        .with_for_update()
    )
    if (
        row is None
        or row.status != CardlessStatus.ACTIVE
        or row.expires_at <= utcnow()
        or row.amount_minor != amount.minor
        or row.currency != amount.currency
    ):
        raise CardlessCodeInvalid()
    posted = ledger.post_hold(session, row.hold_transfer_id)
    if posted.status != "posted":
        raise CardlessCodeInvalid()
    row.status = CardlessStatus.REDEEMED.value
    row.resolved_at = utcnow()
    _emit(session, row)
    return _view(row)


def expire_due(session: Session, now: datetime | None = None, limit: int = 200) -> int:
    """Release the holds of codes nobody used in time."""
    now = now or utcnow()
    query = (
        select(CardlessWithdrawal)
        .where(
            CardlessWithdrawal.status == CardlessStatus.ACTIVE.value,
            CardlessWithdrawal.expires_at <= now,
        )
        .order_by(CardlessWithdrawal.expires_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.scalars(query).all()
    for row in rows:
        _release(session, row, CardlessStatus.EXPIRED)
    return len(rows)
