"""AML reports: PBOC large-value thresholds held in data, structuring, fraud payees, export."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.risk.factories import assess, ctx, report_outcome
from zhangyin.clock import SHANGHAI, business_date, utcnow
from zhangyin.db import Database
from zhangyin.risk import aml
from zhangyin.risk.models import AmlRun

DAY = date(2026, 11, 18)


def at(hour: int) -> datetime:
    return datetime(2026, 11, 18, hour, 0, tzinfo=SHANGHAI)


def pay(
    db: Database, status: str = "completed", settled_at: datetime | None = None, **overrides: object
) -> str:
    """A payment reported `status` at `settled_at` (by default when it was made)."""
    decision = assess(db, ctx(**overrides))
    report_outcome(db, decision.decision_id, decision.decision_id[:20], status, settled_at)
    return decision.decision_id


def test_an_individuals_transfers_over_500000_a_day_are_reported(db: Database) -> None:
    ids = [
        pay(db, amount_minor=30_000_000, occurred_at=at(9), payee_account_number=f"62220{i}")
        for i in range(2)
    ]
    pay(db, amount_minor=30_000_000, occurred_at=at(10), status="cancelled")  # never moved
    pay(db, customer_id="small", amount_minor=10_000_000, occurred_at=at(11))
    created = db.run(lambda s: aml.generate_reports(s, DAY))
    assert [(r.kind, r.rule_code, r.customer_id, r.total_minor) for r in created] == [
        ("large_value", "TRANSFER_INDIVIDUAL", "cust-1", 60_000_000)
    ]
    assert sorted(created[0].decision_ids) == sorted(ids)


def test_companies_have_their_own_threshold_and_cash_its_own(db: Database) -> None:
    pay(db, customer_id="corp", channel="enterprise", amount_minor=150_000_000, occurred_at=at(9))
    pay(db, customer_id="corp2", channel="enterprise", amount_minor=250_000_000, occurred_at=at(9))
    pay(
        db,
        customer_id="cash",
        operation="cardless_cash",
        payee_account_number=None,
        amount_minor=5_000_000,
        occurred_at=at(9),
    )
    created = db.run(lambda s: aml.generate_reports(s, DAY))
    assert sorted((r.rule_code, r.customer_id) for r in created) == [
        ("CASH_INDIVIDUAL", "cash"),
        ("TRANSFER_COMPANY", "corp2"),
    ]


def test_many_transfers_just_under_the_threshold_are_suspicious(db: Database) -> None:
    for hour in (9, 11, 14):
        pay(db, amount_minor=15_500_000, occurred_at=at(hour), payee_account_number=f"62{hour}")
    created = db.run(lambda s: aml.generate_reports(s, DAY))
    assert [(r.kind, r.rule_code, r.tx_count) for r in created] == [
        ("suspicious", "STRUCTURING_TRANSFER_INDIVIDUAL", 3)
    ]


def test_generation_is_idempotent_and_the_day_is_beijings(db: Database) -> None:
    pay(db, amount_minor=60_000_000, occurred_at=at(0) + timedelta(minutes=5))  # 16:05 UTC the 17th
    pay(db, amount_minor=60_000_000, occurred_at=at(0) - timedelta(minutes=5), customer_id="prev")
    first = db.run(lambda s: aml.generate_reports(s, DAY))
    again = db.run(lambda s: aml.generate_reports(s, DAY))
    assert [r.customer_id for r in first] == ["cust-1"]
    assert again == []
    assert len(db.run(lambda s: aml.list_reports(s, day=DAY))) == 1


def test_reports_are_reviewed_and_exported(db: Database) -> None:
    pay(db, amount_minor=60_000_000, occurred_at=at(9))
    [report] = db.run(lambda s: aml.generate_reports(s, DAY))
    reviewed = db.run(
        lambda s: aml.review_report(s, report.id, status="reported", reviewer="ana", note="ok")
    )
    assert (reviewed.status, reviewed.reviewed_by) == ("reported", "ana")
    text = aml.export_csv(db.run(lambda s: aml.list_reports(s, day=DAY)))
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (row["rule_code"], row["total"], row["status"]) == (
        "TRANSFER_INDIVIDUAL",
        "600000.00",
        "reported",
    )


# ------------------------------------------------------------- the daily job


def beijing(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=SHANGHAI)


def large(db: Database, day: date, customer_id: str) -> None:
    """A day's transfers over the individual large-value threshold (one report)."""
    for i in range(2):
        pay(
            db,
            customer_id=customer_id,
            amount_minor=30_000_000,
            occurred_at=beijing(day, 9 + i),
            payee_account_number=f"62220{i}",
        )


def reports_by_day(db: Database) -> dict[date, list[str]]:
    found: dict[date, list[str]] = {}
    for r in db.run(lambda s: aml.list_reports(s)):
        found.setdefault(r.business_date, []).append(r.customer_id)
    return {day: sorted(customers) for day, customers in found.items()}


def reported_on(db: Database, decision_id: str) -> list[date]:
    """The business days of every report that counts the transaction."""
    return [r.business_date for r in db.run(aml.list_reports) if decision_id in r.decision_ids]


def test_the_job_generates_each_ended_day_once_and_catches_up_after_downtime(
    db: Database,
) -> None:
    monday, tuesday, wednesday = DAY - timedelta(days=2), DAY - timedelta(days=1), DAY
    large(db, monday, "mon")
    # The job ran on Tuesday: Monday is done, Tuesday (not over yet) is not.
    assert aml.generate_due(db, beijing(tuesday, 0) + timedelta(minutes=1))[monday] == 1
    assert reports_by_day(db) == {monday: ["mon"]}
    # Then the server was down from Tuesday morning to Thursday: two day boundaries.
    large(db, tuesday, "tue")
    large(db, wednesday, "wed")
    # Settled on Monday, but reported only after Monday's run (its commit raced midnight).
    late = pay(db, customer_id="mon-late", amount_minor=60_000_000, occurred_at=beijing(monday, 20))
    thursday = beijing(DAY + timedelta(days=1), 8)
    assert aml.generate_due(db, thursday) == {tuesday: 2, wednesday: 1}
    # Each day once: Monday is not generated again; its late arrival is in the next run's.
    assert reports_by_day(db) == {
        monday: ["mon"],
        tuesday: ["mon-late", "tue"],
        wednesday: ["wed"],
    }
    assert reported_on(db, late) == [tuesday]
    assert aml.generate_due(db, thursday + timedelta(hours=3)) == {}
    assert len(db.run(lambda s: aml.list_reports(s))) == 4
    runs = {
        r.business_date: r.report_count for r in db.run(lambda s: s.scalars(select(AmlRun)).all())
    }
    assert (runs[monday], runs[tuesday], runs[wednesday]) == (1, 2, 1)
    assert len(runs) == aml.CATCH_UP_DAYS + 2  # quiet days are recorded too: never re-scanned


def test_a_day_generated_by_another_worker_is_not_generated_again(db: Database) -> None:
    large(db, DAY, "cust-9")
    assert db.run(lambda s: aml.generate_day_once(s, DAY)) == 1
    assert db.run(lambda s: aml.generate_day_once(s, DAY)) is None
    assert len(db.run(lambda s: aml.list_reports(s, day=DAY))) == 1


def test_the_periodic_loop_runs_the_aml_job(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from zhangyin.risk.jobs import run_risk_jobs

    # One moment for both passes: a Beijing day that ended between them (16:00 UTC) was a
    # new day due, and the second pass generated it.
    frozen = utcnow()
    monkeypatch.setattr(aml, "utcnow", lambda: frozen)
    large(db, business_date(frozen) - timedelta(days=3), "recent")
    assert run_risk_jobs(db) == {"aml_days_generated": aml.CATCH_UP_DAYS}
    assert run_risk_jobs(db) == {"aml_days_generated": 0}
    assert "recent" in {r.customer_id for r in db.run(lambda s: aml.list_reports(s))}


# ------------------------------------------------- settlement day, exactly once


def delayed_transfer(db: Database, made_at: datetime, customer_id: str = "delay") -> str:
    """A 24-hour delayed transfer (延时到账) over the large-value threshold, not settled yet."""
    return pay(
        db,
        status="delayed",
        customer_id=customer_id,
        amount_minor=60_000_000,
        occurred_at=made_at,
    )


def settle(db: Database, decision_id: str, at: datetime) -> None:
    report_outcome(db, decision_id, decision_id[:20], "completed", at)


def run_at(db: Database, moment: datetime) -> dict[date, int]:
    return aml.generate_due(db, moment)


def test_a_delayed_transfer_made_before_a_run_and_settled_after_it_is_reported_once(
    db: Database,
) -> None:
    monday, tuesday = DAY - timedelta(days=2), DAY - timedelta(days=1)
    made = delayed_transfer(db, beijing(monday, 20))
    assert run_at(db, beijing(tuesday, 0) + timedelta(minutes=5))[monday] == 0
    settle(db, made, beijing(tuesday, 20))  # 24 hours later
    assert run_at(db, beijing(DAY, 0) + timedelta(minutes=5)) == {tuesday: 1}
    assert run_at(db, beijing(DAY + timedelta(days=1), 0) + timedelta(minutes=5)) == {DAY: 0}
    assert reported_on(db, made) == [tuesday]  # the day it settled
    [report] = db.run(aml.list_reports)
    assert (report.rule_code, report.total_minor, report.decision_ids) == (
        "TRANSFER_INDIVIDUAL",
        60_000_000,
        [made],
    )


def test_a_transfer_that_is_not_settled_yet_waits_for_the_run_after_it_settles(
    db: Database,
) -> None:
    monday = DAY - timedelta(days=2)
    made = delayed_transfer(db, beijing(monday, 20))
    run_at(db, beijing(DAY, 0) + timedelta(minutes=5))  # Monday and Tuesday: still delayed
    assert reported_on(db, made) == []
    settle(db, made, beijing(DAY, 9))
    run_at(db, beijing(DAY + timedelta(days=1), 0) + timedelta(minutes=5))
    assert reported_on(db, made) == [DAY]


def test_catching_up_after_missed_days_books_each_transfer_once_on_its_settlement_day(
    db: Database,
) -> None:
    monday, tuesday, wednesday = DAY - timedelta(days=2), DAY - timedelta(days=1), DAY
    # The server was down from Monday morning to Thursday morning.
    instant = pay(
        db, customer_id="instant", amount_minor=60_000_000, occurred_at=beijing(monday, 9)
    )
    overnight = delayed_transfer(db, beijing(monday, 22), customer_id="overnight")
    settle(db, overnight, beijing(tuesday, 22))
    slow = delayed_transfer(db, beijing(tuesday, 23), customer_id="slow")
    settle(db, slow, beijing(wednesday, 23))
    pending = delayed_transfer(db, beijing(wednesday, 23), customer_id="pending")
    thursday = DAY + timedelta(days=1)
    generated = run_at(db, beijing(thursday, 8))
    assert (generated[monday], generated[tuesday], generated[wednesday]) == (1, 1, 1)
    assert reported_on(db, instant) == [monday]
    assert reported_on(db, overnight) == [tuesday]
    assert reported_on(db, slow) == [wednesday]
    assert reported_on(db, pending) == []
    settle(db, pending, beijing(thursday, 23))
    run_at(db, beijing(thursday, 8) + timedelta(hours=2))  # Thursday has not ended
    run_at(db, beijing(thursday + timedelta(days=3), 8))
    assert [reported_on(db, i) for i in (instant, overnight, slow, pending)] == [
        [monday],
        [tuesday],
        [wednesday],
        [thursday],
    ]


def test_a_day_generated_by_hand_out_of_order_leaves_earlier_settlements_to_their_day(
    db: Database,
) -> None:
    tuesday = DAY - timedelta(days=1)
    run_at(db, beijing(tuesday, 0) + timedelta(minutes=5))  # up to Monday
    on_tuesday = pay(
        db, customer_id="tue", amount_minor=60_000_000, occurred_at=beijing(tuesday, 9)
    )
    on_wednesday = pay(db, customer_id="wed", amount_minor=60_000_000, occurred_at=beijing(DAY, 9))
    assert [r.customer_id for r in db.run(lambda s: aml.generate_reports(s, DAY))] == ["wed"]
    assert run_at(db, beijing(DAY + timedelta(days=1), 8)) == {tuesday: 1}
    assert (reported_on(db, on_tuesday), reported_on(db, on_wednesday)) == ([tuesday], [DAY])
    # Asking for a generated day again adds nothing and moves nothing.
    assert db.run(lambda s: aml.generate_reports(s, tuesday)) == []
    assert reported_on(db, on_tuesday) == [tuesday]
