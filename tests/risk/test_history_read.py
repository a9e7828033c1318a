"""The database event store reads a decision's whole history, payee facts included, at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from tests.risk.factories import assess, complete, ctx, history
from tests.risk.test_payee_lookup import counted
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.risk import service
from zhangyin.risk.features import DatabaseEventStore, History


def test_history_with_payee_facts_is_one_statement_and_sees_known_payee_and_frauds(
    db: Database,
) -> None:
    now = utcnow()
    mine = ctx(occurred_at=now)
    history(db, mine, [3, 10])  # this customer paid the payee 10 and 3 days ago
    victim = assess(db, ctx(customer_id="victim", account_id=7, occurred_at=now - timedelta(1)))
    complete(db, victim, reference="victim-ref")
    db.run(lambda s: service.report_fraud(s, "victim", "victim-ref", "冒充客服诈骗"))

    def read(session: Session) -> History:
        session.connection()  # the transaction's own statements are not the history's
        with counted(db) as statements:
            found = DatabaseEventStore().history(session, ctx(occurred_at=utcnow()))
        assert len(statements) == 1, statements
        return found

    found = db.run(read)
    assert found.payee_known_since_us is not None
    assert found.payee_fraud_reports_30d == 1
    assert found.payee_fraud_reports_7d == 1
    assert len(found.events["customer"]) == 2
    # Without a payee there are no payee facts, and still one statement.
    no_payee = db.run(
        lambda s: DatabaseEventStore().history(
            s, ctx(occurred_at=utcnow(), payee_account_number=None)
        )
    )
    assert no_payee.payee_known_since_us is None and no_payee.payee_fraud_reports_30d == 0
