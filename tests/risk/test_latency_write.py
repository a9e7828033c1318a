"""A decision's latency is recorded even when nothing else changes its row afterwards."""

from __future__ import annotations

import pytest

from tests.risk.factories import assess, ctx
from zhangyin.db import Database
from zhangyin.risk import service


def test_latency_is_written_when_the_transaction_commits(db: Database) -> None:
    decision = assess(db, ctx())
    row = db.run(lambda s: service.get_decision_row(s, decision.decision_id))
    assert row.latency_ms > 0
    assert row.status == "pending"  # nothing recorded an outcome: the latency came on its own


def test_a_rolled_back_decision_leaves_no_row_and_no_error(db: Database) -> None:
    class Abandon(Exception):
        pass

    decided: list[str] = []

    def work(session: object) -> None:
        decided.append(service.assess(session, ctx()).decision_id)  # type: ignore[arg-type]
        raise Abandon

    with pytest.raises(Abandon):
        db.run(work)
    assert decided
    rows = db.run(lambda s: s.get(service.DecisionRow, decided[0]))
    assert rows is None
