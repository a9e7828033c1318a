"""Case review (案件): every hold, every customer fraud report and every watch-listed credit.

An analyst approves (the caller posts the transfer), rejects (the caller voids it
and tells the customer) or escalates. Risk never calls payments: the decision
is an outbox event, `risk.case.approved` / `risk.case.rejected`, carrying the
decision id and the caller's reference. A confirmed fraud becomes a label for
the model, counts against the payee in real time, and can freeze the payee
account when it is held at this bank.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin import events
from zhangyin.clock import utcnow
from zhangyin.ledger import service as ledger
from zhangyin.ledger.errors import AccountNotFound
from zhangyin.ledger.models import AccountStatus
from zhangyin.risk import watchlist
from zhangyin.risk.errors import CaseClosed, CaseNotFound, TransferNotReportable
from zhangyin.risk.models import CaseKind, CaseStatus, RiskCase, RiskDecision


@dataclass(frozen=True)
class CaseView:
    id: str
    kind: str
    status: str
    decision_id: str | None
    customer_id: str | None
    reference: str | None
    amount_minor: int
    currency: str
    payee_account_number: str | None
    payee_name: str | None
    features: dict[str, Any]
    rule_hits: list[str]
    reasons: list[dict[str, str]]
    top_features: list[dict[str, Any]]
    description: str
    opened_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_note: str
    fraud_confirmed: bool | None
    payee_frozen: bool


def _view(row: RiskCase) -> CaseView:
    return CaseView(
        row.id,
        row.kind,
        row.status,
        row.decision_id,
        row.customer_id,
        row.reference,
        row.amount_minor,
        row.currency,
        row.payee_account_number,
        row.payee_name,
        row.features,
        row.rule_hits,
        row.reasons,
        row.top_features,
        row.description,
        row.opened_at,
        row.decided_at,
        row.decided_by,
        row.decision_note,
        row.fraud_confirmed,
        row.payee_frozen,
    )


def _new_case(kind: CaseKind, decision: RiskDecision | None, **fields: Any) -> RiskCase:
    base: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": kind.value,
        "status": CaseStatus.OPEN.value,
        "opened_at": utcnow(),
        "features": {},
        "rule_hits": [],
        "reasons": [],
        "top_features": [],
        "description": "",
        "decision_note": "",
        "payee_frozen": False,
    }
    if decision is not None:
        base.update(
            decision_id=decision.id,
            customer_id=decision.customer_id,
            reference=decision.reference,
            amount_minor=decision.amount_minor,
            currency=decision.currency,
            payee_account_number=decision.payee_account_number,
            payee_name=decision.payee_name,
            features=decision.features,
            rule_hits=list(decision.rule_hits),
            reasons=list(decision.reasons),
        )
    base.update(fields)
    return RiskCase(**base)


def open_hold_case(
    session: Session, decision: RiskDecision, top_features: list[dict[str, Any]]
) -> CaseView:
    """A held transaction waits here for an analyst, with what the engine saw."""
    row = _new_case(CaseKind.HOLD, decision, top_features=top_features)
    session.add(row)
    session.flush()
    events.emit(
        session,
        "risk.case.opened",
        "risk_case",
        row.id,
        {"case_id": row.id, "decision_id": decision.id, "kind": row.kind},
    )
    return _view(row)


def set_top_features(
    session: Session, case_id: str, top_features: list[dict[str, Any]]
) -> CaseView:
    row = session.get(RiskCase, case_id)
    if row is None:
        raise CaseNotFound()
    row.top_features = top_features
    return _view(row)


def attach_reference(session: Session, decision_id: str, reference: str) -> None:
    for row in session.scalars(
        select(RiskCase).where(RiskCase.decision_id == decision_id, RiskCase.reference.is_(None))
    ).all():
        row.reference = reference


def get_case(session: Session, case_id: str) -> CaseView:
    row = session.get(RiskCase, case_id)
    if row is None:
        raise CaseNotFound()
    return _view(row)


def list_cases(
    session: Session,
    *,
    status: str | None = None,
    kind: str | None = None,
    customer_id: str | None = None,
    limit: int = 100,
) -> list[CaseView]:
    query = select(RiskCase).order_by(RiskCase.opened_at.desc(), RiskCase.id).limit(limit)
    if status:
        query = query.where(RiskCase.status == status)
    if kind:
        query = query.where(RiskCase.kind == kind)
    if customer_id:
        query = query.where(RiskCase.customer_id == customer_id)
    return [_view(r) for r in session.scalars(query).all()]


def _open_case_for_update(session: Session, case_id: str) -> RiskCase:
    row = session.get(RiskCase, case_id, with_for_update=True)
    if row is None:
        raise CaseNotFound()
    if row.status not in (CaseStatus.OPEN, CaseStatus.ESCALATED):
        raise CaseClosed()
    return row


def _payload(row: RiskCase, **extra: Any) -> dict[str, Any]:
    return {
        "case_id": row.id,
        "kind": row.kind,
        "decision_id": row.decision_id,
        "reference": row.reference,
        "customer_id": row.customer_id,
        **extra,
    }


def approve_case(session: Session, case_id: str, *, analyst: str, note: str = "") -> CaseView:
    """Not fraud: the caller releases the held transfer (`risk.case.approved`)."""
    row = _open_case_for_update(session, case_id)
    row.status = CaseStatus.APPROVED
    row.decided_at = utcnow()
    row.decided_by = analyst
    row.decision_note = note
    row.fraud_confirmed = False
    if row.decision_id and row.kind in (CaseKind.HOLD, CaseKind.CUSTOMER_REPORT):
        decision = session.get(RiskDecision, row.decision_id)
        # A customer's report labels its transfer at once; the analyst who finds it was
        # not fraud withdraws that label (a confirmed label from a review stays).
        if decision is not None and (
            decision.fraud_label is None or decision.label_source == "customer_report"
        ):
            decision.fraud_label = False
            decision.labeled_at = row.decided_at
            decision.label_source = "case_review"
    events.emit(session, "risk.case.approved", "risk_case", row.id, _payload(row))
    return _view(row)


def reject_case(
    session: Session,
    case_id: str,
    *,
    analyst: str,
    note: str = "",
    confirmed_fraud: bool = True,
    freeze_payee: bool = False,
    watchlist_payee: bool = False,
) -> CaseView:
    """Stop it: the caller voids the transfer and tells the customer (`risk.case.rejected`)."""
    from zhangyin.risk.service import get_engine

    row = _open_case_for_update(session, case_id)
    now = utcnow()
    row.status = CaseStatus.REJECTED
    row.decided_at = now
    row.decided_by = analyst
    row.decision_note = note
    row.fraud_confirmed = confirmed_fraud
    if confirmed_fraud and row.decision_id:
        decision = session.get(RiskDecision, row.decision_id)
        if decision is not None and decision.fraud_label is not True:
            decision.fraud_label = True
            decision.labeled_at = now
            decision.label_source = "case_review"
            get_engine().store.mark_fraud(session, decision)
    if confirmed_fraud and freeze_payee and row.payee_account_number:
        row.payee_frozen = _freeze(session, row.payee_account_number)
    if confirmed_fraud and watchlist_payee and (row.payee_account_number or row.payee_name):
        watchlist.add_entry(
            session,
            list_name="internal_fraud",
            name=row.payee_name or "",
            account_number=row.payee_account_number,
            reason=f"confirmed fraud, case {row.id}",
            added_by=analyst,
        )
    events.emit(
        session,
        "risk.case.rejected",
        "risk_case",
        row.id,
        _payload(row, confirmed_fraud=confirmed_fraud, notify_customer=True),
    )
    return _view(row)


def _freeze(session: Session, account_number: str) -> bool:
    """Freeze debits on a payee account held here (只收不付); False when it is elsewhere."""
    try:
        account = ledger.get_account_by_number(session, account_number)
    except AccountNotFound:
        return False
    if account.status == AccountStatus.ACTIVE:
        ledger.set_account_status(session, account.id, AccountStatus.FROZEN)
    return True


def escalate_case(session: Session, case_id: str, *, analyst: str, note: str = "") -> CaseView:
    row = _open_case_for_update(session, case_id)
    row.status = CaseStatus.ESCALATED
    row.decision_note = note
    events.emit(
        session, "risk.case.escalated", "risk_case", row.id, _payload(row, escalated_by=analyst)
    )
    return _view(row)


def report_fraud(session: Session, customer_id: str, reference: str, description: str) -> CaseView:
    """A customer says a transfer of theirs was fraud: label it and open a case.

    Only the customer's own transfers can be reported (another's looks not found).
    Reporting twice returns the same open case.
    """
    from zhangyin.risk.service import get_engine

    decision = session.scalar(
        select(RiskDecision)
        .where(RiskDecision.reference == reference, RiskDecision.customer_id == customer_id)
        .order_by(RiskDecision.occurred_at.desc())
        .limit(1)
    )
    if decision is None:
        raise TransferNotReportable()
    existing = session.scalar(
        select(RiskCase).where(
            RiskCase.decision_id == decision.id, RiskCase.kind == CaseKind.CUSTOMER_REPORT
        )
    )
    if existing is not None:
        return _view(existing)
    if decision.fraud_label is not True:
        decision.fraud_label = True
        decision.labeled_at = utcnow()
        decision.label_source = "customer_report"
        get_engine().store.mark_fraud(session, decision)
    row = _new_case(CaseKind.CUSTOMER_REPORT, decision, description=description[:1000])
    session.add(row)
    session.flush()
    events.emit(
        session,
        "risk.fraud.reported",
        "risk_case",
        row.id,
        {"case_id": row.id, "decision_id": decision.id, "reference": reference},
    )
    return _view(row)


def screen_incoming_credit(
    session: Session,
    *,
    customer_id: str,
    payer_name: str | None,
    payer_account_number: str | None,
    amount_minor: int,
    currency: str,
    reference: str,
) -> list[watchlist.WatchlistMatch]:
    """Screen the payer of an incoming credit; a match opens a case for an analyst."""
    from zhangyin.risk.service import get_engine

    screener = get_engine().snapshot(session).screener
    matches = screener.screen(
        payer_name, payer_account_number, threshold=get_engine().config.watchlist_threshold
    )
    if matches:
        row = _new_case(
            CaseKind.INCOMING_WATCHLIST,
            None,
            customer_id=customer_id,
            reference=reference,
            amount_minor=amount_minor,
            currency=currency,
            payee_account_number=payer_account_number,
            payee_name=payer_name,
            features={"matches": [m.__dict__ for m in matches]},
            description="incoming credit from a watch-listed payer",
        )
        session.add(row)
        session.flush()
    return matches
