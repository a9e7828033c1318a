"""Interbank clearing (跨行清算): outgoing transfers, status reports, returns, incoming credits.

Money leaves through the bank's clearing account: an outgoing transfer is a
ledger hold from the customer to the clearing account while the clearing house
decides; an accepted status report (pacs.002 ACSC) posts the hold, a rejection
voids it, and a later return (pacs.004) credits the customer back from the
clearing account. Outgoing messages are written in the same transaction as the
state change that caused them (an outbox) and sent by `send_pending`, which
retries with backoff while the clearing house is down; incoming messages are
read from the clearing house's feed by `poll`, each applied once (by message
id) in the transaction that advances the feed cursor.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

import uuid_utils
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhangyin.clock import business_date, business_day_bounds, utcnow
from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.ledger import service as ledger
from zhangyin.ledger.errors import AccountNotFound
from zhangyin.ledger.models import AccountKind, AccountStatus
from zhangyin.money import Money
from zhangyin.payments import clearing
from zhangyin.payments.models import (
    ClearingCursor,
    ClearingMessage,
    IncomingCredit,
    PaymentTransfer,
    TransferKind,
    TransferStatus,
)
from zhangyin.payments.service import (
    OUR_BANK_CODE,
    _lock_payment,
    _record_risk_outcome,
    _same_name,
    _set_status,
)

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=5)

#: Why the clearing house refused (pacs.002 RJCT) or returned (pacs.004), for the customer.
REASONS = {
    "AC01": ("收款账号不存在", "the payee account number is wrong"),
    "AC04": ("收款账户已销户", "the payee account is closed"),
    "AC06": ("收款账户已冻结", "the payee account is blocked"),
    "BE01": ("收款人户名与账号不符", "the payee name does not match the account"),
    "MS02": ("收款方退回", "returned by the payee's bank"),
    "AM04": ("清算资金不足", "insufficient funds at the clearing house"),
}


def _message_id() -> str:
    return uuid_utils.uuid7().hex


def transaction_id(payment_id: str) -> str:
    """The pacs.008 TxId/EndToEndId of a payment (its id without dashes: 32 characters)."""
    return payment_id.replace("-", "")


def _queue(session: Session, message_id: str, kind: str, xml: str, transfer_id: str | None) -> None:
    now = utcnow()
    session.add(
        ClearingMessage(
            id=message_id,
            direction="out",
            message_type=kind,
            transfer_id=transfer_id,
            xml=xml,
            sent_at=None,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def queue_credit_transfer(session: Session, payment: PaymentTransfer) -> None:
    """Write the pacs.008 of a payment to the clearing outbox (sent after commit)."""
    source = ledger.get_account(session, payment.from_account_id)
    tx_id = transaction_id(payment.id)
    assert payment.to_bank_code is not None
    xml = clearing.build_pacs008(
        clearing.CreditTransfer(
            message_id=tx_id,
            transaction_id=tx_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            settlement_date=business_date(utcnow()),
            debtor_bank=OUR_BANK_CODE,
            debtor_account=source.number,
            debtor_name=source.name,
            creditor_bank=payment.to_bank_code,
            creditor_account=payment.to_account_number,
            creditor_name=payment.to_name,
            remittance=payment.memo,
        )
    )
    payment.clearing_message_id = tx_id
    existing = session.get(ClearingMessage, tx_id)
    if existing is None:
        _queue(session, tx_id, clearing.PACS008, xml, payment.id)


# ---------------------------------------------------------------------- sending


def send_pending(db: Database, gateway: clearing.ClearingGateway, limit: int = 100) -> int:
    """Hand every due outgoing message to the clearing house; back off when it is down.

    The HTTP call happens outside any database transaction. A crash after the
    clearing house took a message but before it was marked sent resends it;
    the clearing house ignores a message id it already has.
    """

    def due(session: Session) -> list[tuple[str, str]]:
        rows = session.execute(
            select(ClearingMessage.id, ClearingMessage.xml)
            .where(
                ClearingMessage.direction == "out",
                ClearingMessage.sent_at.is_(None),
                ClearingMessage.next_attempt_at <= utcnow(),
            )
            .order_by(ClearingMessage.created_at)
            .limit(limit)
        ).all()
        return [(r[0], r[1]) for r in rows]

    sent = 0
    for message_id, xml in db.run(due):
        try:
            gateway.submit(xml)
        except clearing.ClearingUnreachable as exc:
            log.warning("clearing house unreachable", extra={"error": str(exc)[:200]})
            db.run(lambda s, m=message_id: _back_off(s, m))  # type: ignore[misc]
            break  # it is down: try the rest on the next round
        except clearing.MessageInvalid as exc:
            # A final refusal: retrying the same message cannot succeed.
            log.error("clearing house refused a message", extra={"error": str(exc)[:200]})
            db.run(lambda s, m=message_id: _refused(s, m))  # type: ignore[misc]
            continue
        db.run(lambda s, m=message_id: _mark_sent(s, m))  # type: ignore[misc]
        sent += 1
    return sent


def _refused(session: Session, message_id: str) -> None:
    """The clearing house refused a message outright: its transfer is rejected, money released."""
    message = session.get(ClearingMessage, message_id, with_for_update=True)
    if message is None or message.sent_at is not None:
        return
    message.sent_at = utcnow()
    if message.transfer_id is None:
        return
    payment = _lock_payment(session, message.transfer_id)
    if payment.status != TransferStatus.PROCESSING or payment.ledger_transfer_id is None:
        return
    if ledger.get_transfer(session, payment.ledger_transfer_id).status == "pending":
        ledger.void_hold(session, payment.ledger_transfer_id)
    payment.reason = "clearing_refused"
    _set_status(session, payment, TransferStatus.REJECTED, "清算系统拒收 / refused by clearing")
    _record_risk_outcome(session, payment)


def _back_off(session: Session, message_id: str) -> None:
    message = session.get(ClearingMessage, message_id, with_for_update=True)
    if message is None or message.sent_at is not None:
        return
    message.attempts += 1
    delay = min(timedelta(seconds=2**message.attempts), MAX_BACKOFF)
    message.next_attempt_at = utcnow() + delay
    if message.transfer_id is not None:
        payment = session.get(PaymentTransfer, message.transfer_id)
        if payment is not None:
            payment.attempts = message.attempts


def _mark_sent(session: Session, message_id: str) -> None:
    message = session.get(ClearingMessage, message_id, with_for_update=True)
    if message is not None and message.sent_at is None:
        message.sent_at = utcnow()


# ---------------------------------------------------------------------- receiving


def poll(db: Database, gateway: clearing.ClearingGateway) -> int:
    """Read the clearing house's feed from where this bank stopped; apply each message once."""
    participant = gateway.participant

    def cursor(session: Session) -> int:
        row = session.get(ClearingCursor, participant)
        return row.last_sequence if row else 0

    messages = gateway.fetch(db.run(cursor))
    for message in messages:
        db.run(lambda s, m=message: _apply(s, participant, m))  # type: ignore[misc]
    return len(messages)


def _apply(session: Session, participant: str, message: clearing.FeedMessage) -> None:
    row = session.get(ClearingCursor, participant, with_for_update=True)
    if row is None:
        row = ClearingCursor(participant=participant, last_sequence=0, updated_at=utcnow())
        session.add(row)
    if message.sequence <= row.last_sequence:
        return  # another worker applied it
    row.last_sequence = message.sequence
    row.updated_at = utcnow()
    try:
        kind = clearing.message_type_of(message.xml)
        handler = {
            clearing.PACS002: _on_status_report,
            clearing.PACS004: _on_return,
            clearing.PACS008: _on_credit_transfer,
        }[kind]
        document_id = _document_id(message.xml, kind)
    except (clearing.MessageInvalid, KeyError) as exc:
        log.error(
            "clearing message refused", extra={"sequence": message.sequence, "error": str(exc)}
        )
        return
    if session.get(ClearingMessage, document_id) is not None:
        return  # already applied (a redelivery)
    session.add(
        ClearingMessage(
            id=document_id,
            direction="in",
            message_type=kind,
            xml=message.xml,
            sent_at=utcnow(),
            attempts=0,
            created_at=utcnow(),
        )
    )
    session.flush()
    savepoint = session.begin_nested()
    try:
        handler(session, message.xml)
        savepoint.commit()
    except DomainError as exc:
        # Keep the feed moving: the message stays on record for an operator to resolve.
        savepoint.rollback()
        log.error(
            "clearing message could not be applied",
            extra={"message_id": document_id, "error": exc.detail("en-US")},
        )


def _document_id(xml: str, kind: str) -> str:
    if kind == clearing.PACS002:
        return clearing.read_pacs002(xml)[0].message_id
    if kind == clearing.PACS004:
        return clearing.read_pacs004(xml)[0].message_id
    return clearing.read_pacs008(xml)[0].message_id


def _payment_by_tx(session: Session, tx_id: str) -> PaymentTransfer | None:
    payment_id = session.scalar(
        select(PaymentTransfer.id).where(PaymentTransfer.clearing_message_id == tx_id)
    )
    return _lock_payment(session, payment_id) if payment_id else None


def _reason_text(code: str | None) -> str:
    zh, en = REASONS.get(code or "", ("清算拒绝", "refused by clearing"))
    return f"{zh} / {en} ({code})"


def _on_status_report(session: Session, xml: str) -> None:
    for report in clearing.read_pacs002(xml):
        payment = _payment_by_tx(session, report.transaction_id)
        if payment is None:
            continue  # a status of an incoming credit we answered, or unknown
        if payment.status != TransferStatus.PROCESSING or payment.ledger_transfer_id is None:
            continue
        if ledger.get_transfer(session, payment.ledger_transfer_id).status != "pending":
            log.error("status report for a released hold", extra={"transfer_id": payment.id})
            continue
        if report.status in ("ACSC", "ACCP", "ACSP"):
            _settle(session, payment, payment.ledger_transfer_id)
        elif report.status == "RJCT":
            ledger.void_hold(session, payment.ledger_transfer_id)
            payment.reason = f"clearing_{(report.reason or 'rjct').lower()}"
            _set_status(session, payment, TransferStatus.REJECTED, _reason_text(report.reason))
        else:
            continue
        payment.due_at = None
        _record_risk_outcome(session, payment)


def _on_return(session: Session, xml: str) -> None:
    for ret in clearing.read_pacs004(xml):
        payment = _payment_by_tx(session, ret.original_transaction_id)
        if payment is None:
            continue
        if payment.status == TransferStatus.PROCESSING:
            _settle_overtaken(session, payment)
        if payment.status != TransferStatus.COMPLETED:
            continue  # already returned (a redelivery) or never left the bank
        clearing_account = ledger.bank_account(session, AccountKind.BANK_CLEARING, ret.currency)
        order = ledger.TransferOrder(
            clearing_account.id,
            payment.from_account_id,
            Money(ret.amount_minor, ret.currency),
            memo=f"跨行退汇 {payment.to_name}"[:140],
            reference=f"ret:{payment.id}",
        )
        savepoint = session.begin_nested()
        try:
            returned = ledger.transfer(session, order)
            savepoint.commit()
        except DomainError:
            # The customer's account was closed meanwhile: park the money in suspense.
            savepoint.rollback()
            suspense = ledger.bank_account(session, AccountKind.BANK_SUSPENSE, ret.currency)
            returned = ledger.transfer(
                session,
                ledger.TransferOrder(
                    clearing_account.id,
                    suspense.id,
                    order.amount,
                    memo=order.memo,
                    reference=order.reference,
                ),
            )
        payment.return_ledger_transfer_id = returned.id
        payment.reason = f"returned_{ret.reason.lower()}"
        _set_status(session, payment, TransferStatus.RETURNED, _reason_text(ret.reason))
        _record_risk_outcome(session, payment)


def _settle_overtaken(session: Session, payment: PaymentTransfer) -> None:
    """Post the hold of a payment whose return arrived before its acceptance.

    A pacs.004 means the clearing house settled the payment and the payee's bank
    sent it back, so the money did leave: post the hold now. The late pacs.002
    then finds the payment returned and changes nothing.
    """
    if payment.ledger_transfer_id is None:
        return
    if ledger.get_transfer(session, payment.ledger_transfer_id).status != "pending":
        return
    _settle(session, payment, payment.ledger_transfer_id)


def _settle(session: Session, payment: PaymentTransfer, hold_id: str) -> None:
    """The clearing house settled the payment: post its hold; it is completed."""
    ledger.post_hold(session, hold_id)
    payment.due_at = None
    _set_status(session, payment, TransferStatus.COMPLETED, "对方行已入账 / settled")


def _on_credit_transfer(session: Session, xml: str) -> None:
    for ct in clearing.read_pacs008(xml):
        if session.get(IncomingCredit, ct.transaction_id) is not None:
            continue
        reason = _incoming_refusal(session, ct)
        credit = IncomingCredit(
            id=ct.transaction_id,
            from_bank_code=ct.debtor_bank,
            from_account_number=ct.debtor_account,
            from_name=ct.debtor_name,
            to_account_number=ct.creditor_account,
            to_name=ct.creditor_name,
            amount_minor=ct.amount_minor,
            currency=ct.currency,
            status="returned" if reason else "credited",
            reason=reason,
            created_at=utcnow(),
        )
        session.add(credit)
        if reason is None:
            target = ledger.get_account_by_number(session, ct.creditor_account)
            clearing_account = ledger.bank_account(session, AccountKind.BANK_CLEARING, ct.currency)
            posted = ledger.transfer(
                session,
                ledger.TransferOrder(
                    clearing_account.id,
                    target.id,
                    Money(ct.amount_minor, ct.currency),
                    memo=f"跨行转入 {ct.debtor_name}"[:140],
                    reference=f"in:{ct.transaction_id}",
                ),
            )
            credit.ledger_transfer_id = posted.id
            status = clearing.StatusReport(
                _message_id(), ct.message_id, ct.transaction_id, "ACSC", None
            )
            _queue(
                session, status.message_id, clearing.PACS002, clearing.build_pacs002(status), None
            )
        else:
            ret = clearing.PaymentReturn(
                message_id=_message_id(),
                return_id=_message_id(),
                original_message_id=ct.message_id,
                original_transaction_id=ct.transaction_id,
                amount_minor=ct.amount_minor,
                currency=ct.currency,
                reason=reason,
                returning_bank=OUR_BANK_CODE,
                receiving_bank=ct.debtor_bank,
            )
            _queue(session, ret.message_id, clearing.PACS004, clearing.build_pacs004(ret), None)


def _incoming_refusal(session: Session, ct: clearing.CreditTransfer) -> str | None:
    """Why an incoming credit cannot be applied (an ISO return reason), or None."""
    try:
        target = ledger.get_account_by_number(session, ct.creditor_account)
    except AccountNotFound:
        return "AC01"
    if not AccountKind(target.kind).is_customer or target.currency != ct.currency:
        return "AC01"
    if target.status == AccountStatus.CLOSED:
        return "AC04"
    if target.status == AccountStatus.FULLY_FROZEN:
        return "AC06"
    if not _same_name(target.name, ct.creditor_name):
        return "BE01"
    return None


# ------------------------------------------------------------------ reconcile


@dataclass(frozen=True)
class ClearingReconciliation:
    day: date
    ours_net_minor: int  # what the clearing account lost (+) or gained (-) on the day
    theirs_net_minor: int  # what the clearing house says this bank paid out net
    matched: bool
    pending_outgoing: int  # transfers still waiting for the clearing house


def reconcile_clearing(
    session: Session, gateway: clearing.ClearingGateway, day: date, currency: str = "CNY"
) -> ClearingReconciliation:
    """End of day: the clearing account's movements against the clearing house's report."""
    from zhangyin.ledger.models import LedgerPosting

    account = ledger.bank_account(session, AccountKind.BANK_CLEARING, currency)
    start, end = business_day_bounds(day)
    # Postings are + for debits: the debit-normal clearing account grows with debits.
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerPosting.amount_minor), 0)).where(
            LedgerPosting.account_id == account.id,
            LedgerPosting.created_at >= start,
            LedgerPosting.created_at < end,
        )
    )
    ours = -int(total or 0)
    report = gateway.settlement_report(day)
    theirs = int(report.get("net_minor", {}).get(currency, 0))
    pending = session.scalar(
        select(func.count())
        .select_from(PaymentTransfer)
        .where(
            PaymentTransfer.kind == TransferKind.INTERBANK.value,
            PaymentTransfer.status == TransferStatus.PROCESSING.value,
        )
    )
    return ClearingReconciliation(day, ours, theirs, ours == theirs, int(pending or 0))
