"""Case review: decisions become outbox events for payments; confirmed fraud becomes a label."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.risk.factories import NOON, assess, complete, ctx
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.events import OutboxEvent
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind, AccountStatus
from zhangyin.risk import cases, service, watchlist
from zhangyin.risk.errors import CaseClosed, CaseNotFound, TransferNotReportable
from zhangyin.risk.models import RiskCase


def _held(db: Database, **overrides: object) -> tuple[service.RiskDecision, cases.CaseView]:
    decision = assess(
        db,
        ctx(
            amount_minor=300_000,
            device_id="dev-new",
            device_first_seen_at=NOON - timedelta(hours=1),
            last_password_change_at=NOON - timedelta(hours=5),
            **overrides,
        ),
    )
    assert decision.outcome == "hold"
    db.run(
        lambda s: service.record_outcome(s, decision.decision_id, reference="pay-77", status="held")
    )
    case = db.run(lambda s: cases.list_cases(s, status="open"))[0]
    return decision, case


def _events(db: Database, event_type: str) -> list[OutboxEvent]:
    return list(
        db.run(
            lambda s: s.scalars(
                select(OutboxEvent).where(OutboxEvent.event_type == event_type)
            ).all()
        )
    )


def test_approving_a_case_emits_the_event_payments_releases_on(db: Database) -> None:
    decision, case = _held(db)
    assert case.reference == "pay-77"
    approved = db.run(
        lambda s: cases.approve_case(s, case.id, analyst="ana", note="called customer")
    )
    assert (approved.status, approved.decided_by, approved.fraud_confirmed) == (
        "approved",
        "ana",
        False,
    )
    [event] = _events(db, "risk.case.approved")
    assert event.payload["decision_id"] == decision.decision_id
    assert event.payload["reference"] == "pay-77"
    row = db.run(lambda s: service.get_decision_row(s, decision.decision_id))
    assert row.fraud_label is False and row.label_source == "case_review"


def test_rejecting_a_confirmed_fraud_labels_it_freezes_and_watch_lists_the_payee(
    db: Database,
) -> None:
    def mule(session):  # type: ignore[no-untyped-def]
        return ledger.open_account(
            session, kind=AccountKind.CUSTOMER_CURRENT, currency="CNY", name="骗子", owner_id="m"
        )

    payee = db.run(mule)
    decision, case = _held(db, payee_account_number=payee.number, payee_name="骗子")
    rejected = db.run(
        lambda s: cases.reject_case(
            s, case.id, analyst="ana", freeze_payee=True, watchlist_payee=True
        )
    )
    assert (rejected.status, rejected.fraud_confirmed, rejected.payee_frozen) == (
        "rejected",
        True,
        True,
    )
    [event] = _events(db, "risk.case.rejected")
    assert event.payload["decision_id"] == decision.decision_id
    assert event.payload["reference"] == "pay-77"
    assert event.payload["notify_customer"] is True
    assert db.run(lambda s: ledger.get_account(s, payee.id)).status == AccountStatus.FROZEN
    row = db.run(lambda s: service.get_decision_row(s, decision.decision_id))
    assert row.fraud_label is True
    entries = db.run(watchlist.list_entries)
    assert [(e.list_name, e.account_number) for e in entries] == [("internal_fraud", payee.number)]
    # The next customer paying that account is blocked outright.
    assert assess(db, ctx(customer_id="other", payee_account_number=payee.number)).outcome == (
        "block"
    )


def test_a_decided_case_cannot_be_decided_again_and_nothing_more_is_emitted(
    db: Database,
) -> None:
    _, case = _held(db)
    db.run(lambda s: cases.approve_case(s, case.id, analyst="ana"))
    with pytest.raises(CaseClosed):
        db.run(lambda s: cases.reject_case(s, case.id, analyst="bob"))
    assert len(_events(db, "risk.case.rejected")) == 0
    assert db.run(lambda s: cases.get_case(s, case.id)).status == "approved"


def test_escalated_case_stays_decidable(db: Database) -> None:
    _, case = _held(db)
    escalated = db.run(lambda s: cases.escalate_case(s, case.id, analyst="ana", note="senior"))
    assert escalated.status == "escalated"
    assert db.run(lambda s: cases.approve_case(s, case.id, analyst="boss")).status == "approved"


def test_unknown_case_is_not_found(db: Database) -> None:
    with pytest.raises(CaseNotFound):
        db.run(lambda s: cases.approve_case(s, "00000000-0000-0000-0000-000000000000", analyst="a"))


def test_customer_reports_fraud_once_and_it_becomes_a_label(db: Database) -> None:
    decision = assess(db, ctx(occurred_at=utcnow() - timedelta(hours=3)))
    complete(db, decision, reference="t-1")
    first = db.run(lambda s: service.report_fraud(s, "cust-1", "t-1", "对方冒充公安"))
    again = db.run(lambda s: service.report_fraud(s, "cust-1", "t-1", "again"))
    assert first.id == again.id and first.kind == "customer_report"
    assert first.description == "对方冒充公安"
    row = db.run(lambda s: service.get_decision_row(s, decision.decision_id))
    assert row.fraud_label is True and row.label_source == "customer_report"
    assert len(_events(db, "risk.fraud.reported")) == 1


def test_an_analyst_who_finds_a_report_was_not_fraud_withdraws_its_label(db: Database) -> None:
    decision = assess(db, ctx(occurred_at=utcnow() - timedelta(hours=3)))
    complete(db, decision, reference="t-3")
    reported = db.run(lambda s: service.report_fraud(s, "cust-1", "t-3", "记错了"))
    dismissed = db.run(lambda s: cases.approve_case(s, reported.id, analyst="analyst-1"))
    assert dismissed.status == "approved" and dismissed.fraud_confirmed is False
    row = db.run(lambda s: service.get_decision_row(s, decision.decision_id))
    assert row.fraud_label is False and row.label_source == "case_review"


def test_a_customer_cannot_report_someone_elses_transfer(db: Database) -> None:
    decision = assess(db, ctx())
    complete(db, decision, reference="t-2")
    with pytest.raises(TransferNotReportable):
        db.run(lambda s: service.report_fraud(s, "intruder", "t-2", "mine"))
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(RiskCase))) == 0
    assert db.run(lambda s: service.get_decision_row(s, decision.decision_id)).fraud_label is None


def test_incoming_credit_from_a_watch_listed_payer_opens_a_case(db: Database) -> None:
    db.run(
        lambda s: watchlist.add_entry(
            s,
            list_name="sanctions",
            name="欧阳娜娜",
            account_number=None,
            reason="list",
            added_by="t",
        )
    )
    matches = db.run(
        lambda s: cases.screen_incoming_credit(
            s,
            customer_id="cust-1",
            payer_name="OUYANG NANA",
            payer_account_number="9999888877776666",
            amount_minor=100_000,
            currency="CNY",
            reference="in-1",
        )
    )
    assert matches and matches[0].matched_on == "pinyin"
    [case] = db.run(lambda s: cases.list_cases(s, kind="incoming_watchlist"))
    assert case.reference == "in-1" and case.customer_id == "cust-1"
    clean = db.run(
        lambda s: cases.screen_incoming_credit(
            s,
            customer_id="cust-1",
            payer_name="张伟",
            payer_account_number=None,
            amount_minor=100_000,
            currency="CNY",
            reference="in-2",
        )
    )
    assert clean == []
    assert len(db.run(lambda s: cases.list_cases(s))) == 1
