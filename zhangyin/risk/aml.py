"""Anti-money-laundering reports (反洗钱): large-value and suspicious transaction reports.

Generated per Beijing business day from the risk transaction log (operations
payments reported as completed), with the PBOC thresholds held in data
(`risk_aml_thresholds`, seeded by migration 0003): cash of 50,000 CNY or more a
day; an individual's domestic transfers of 500,000 CNY or more a day; a
company's of 2,000,000 CNY or more. Generation is idempotent (one report per
day, rule, subject and currency); the console reviews and exports them.

A transaction is reported on the business day it settled (payments reported it
completed), counted exactly once: a day's run books every settled transaction no
run has counted yet (`risk_decisions.aml_business_date`) and reports on what it
booked. One that settled after its day's run (a commit racing midnight) is
booked by the next run instead of being lost; a 24-hour delayed transfer made
late on Monday settles, and is reported, on Tuesday.

The periodic job (`generate_due`, run by zhangyin.jobs) generates each business
day once after it has ended, catching up on days missed while the server was
down; `risk_aml_runs` records the days done.

Party type: operations arriving on the `enterprise` channel are a company's;
all others an individual's.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from zhangyin.clock import business_date, business_day_bounds, utcnow
from zhangyin.db import Database
from zhangyin.money import format_minor
from zhangyin.risk.errors import AmlDayNotOver, AmlReportNotFound
from zhangyin.risk.models import AmlReport, AmlRun, AmlThreshold, RiskDecision

COMPANY_CHANNELS = frozenset({"enterprise"})
#: Suspicious when a day's total sits just under a large-value threshold ...
STRUCTURING_LOWER = 0.9
#: ... spread over at least this many operations.
STRUCTURING_MIN_COUNT = 3
REVIEW_STATUSES = ("pending_review", "reported", "dismissed")
#: How far back the daily job catches up after downtime (days before are left to the CLI).
CATCH_UP_DAYS = 31


@dataclass(frozen=True)
class ReportView:
    id: int
    business_date: date
    kind: str
    rule_code: str
    customer_id: str
    currency: str
    total_minor: int
    tx_count: int
    decision_ids: list[str]
    status: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    note: str


def _view(r: AmlReport) -> ReportView:
    return ReportView(
        r.id,
        r.business_date,
        r.kind,
        r.rule_code,
        r.customer_id,
        r.currency,
        r.total_minor,
        r.tx_count,
        list(r.decision_ids),
        r.status,
        r.created_at,
        r.reviewed_by,
        r.reviewed_at,
        r.note,
    )


def thresholds(session: Session) -> list[AmlThreshold]:
    return list(session.scalars(select(AmlThreshold).order_by(AmlThreshold.code)).all())


def generate_reports(session: Session, day: date) -> list[ReportView]:
    """Generate the day's reports as the daily job does, or if the day was generated, add
    any of its reports that are missing (those already generated are kept as they are).

    Only for a business day that is over: claiming today or a later day would close it
    to its own later settlements (they would be booked to the next day's reports)."""
    if day >= business_date(utcnow()):
        raise AmlDayNotOver(business_date=day.isoformat())
    if _claim_day(session, day):
        return _generate_claimed(session, day)
    return _report_booked(session, day)


def _generate_claimed(session: Session, day: date) -> list[ReportView]:
    _book_settled(session, day)
    created = _report_booked(session, day)
    run = session.get(AmlRun, day)
    assert run is not None
    run.report_count = len(created)
    return created


def _book_settled(session: Session, day: date) -> None:
    """Book to `day` the settled transactions no run has counted: those that settled that
    day, and late ones that settled on a day whose run is over. Those of an earlier day
    still to be run (within the catch-up window) are left to that day's run."""
    _, end = business_day_bounds(day)
    d = RiskDecision
    conditions = [d.status == "completed", d.aml_business_date.is_(None), d.status_at < end]
    for first, last in _spans(days_due(session, day)):
        conditions.append(
            or_(
                d.status_at < business_day_bounds(first)[0],
                d.status_at >= business_day_bounds(last)[1],
            )
        )
    session.execute(
        update(d)
        .where(*conditions)
        .values(aml_business_date=day)
        .execution_options(synchronize_session=False)
    )


def _spans(days: list[date]) -> list[tuple[date, date]]:
    """Ascending days as runs of consecutive days (first, last)."""
    spans: list[tuple[date, date]] = []
    for day in days:
        if spans and spans[-1][1] + timedelta(days=1) == day:
            spans[-1] = (spans[-1][0], day)
        else:
            spans.append((day, day))
    return spans


def _report_booked(session: Session, day: date) -> list[ReportView]:
    """Create the reports of the transactions booked to `day` that do not exist yet."""
    start, end = business_day_bounds(day)
    d = RiskDecision
    rows = session.execute(
        select(d.id, d.customer_id, d.operation, d.channel, d.currency, d.amount_minor).where(
            d.aml_business_date == day
        )
    ).all()
    created: list[ReportView] = []
    for rule in thresholds(session):
        totals: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
        for decision_id, customer_id, operation, channel, currency, amount in rows:
            party = "company" if channel in COMPANY_CHANNELS else "individual"
            if party != rule.party or operation not in rule.operations:
                continue
            if currency != rule.currency:
                continue
            totals[(customer_id, currency)].append((decision_id, amount))
        for (customer_id, currency), items in totals.items():
            total = sum(a for _, a in items)
            ids = [i for i, _ in items]
            if total >= rule.threshold_minor:
                report = _ensure(
                    session, day, "large_value", rule.code, customer_id, currency, total, ids
                )
            elif (
                total >= rule.threshold_minor * STRUCTURING_LOWER
                and len(items) >= STRUCTURING_MIN_COUNT
            ):
                report = _ensure(
                    session,
                    day,
                    "suspicious",
                    f"STRUCTURING_{rule.code}",
                    customer_id,
                    currency,
                    total,
                    ids,
                )
            else:
                continue
            if report is not None:
                created.append(report)
    # Payees against whom fraud was confirmed or reported that day.
    frauds = session.execute(
        select(d.id, d.payee_account_number, d.currency, d.amount_minor).where(
            d.labeled_at >= start,
            d.labeled_at < end,
            d.fraud_label.is_(True),
            d.payee_account_number.is_not(None),
        )
    ).all()
    by_payee: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for decision_id, payee, currency, amount in frauds:
        by_payee[(f"payee:{payee}", currency)].append((decision_id, amount))
    for (subject, currency), items in by_payee.items():
        report = _ensure(
            session,
            day,
            "suspicious",
            "FRAUD_PAYEE",
            subject,
            currency,
            sum(a for _, a in items),
            [i for i, _ in items],
        )
        if report is not None:
            created.append(report)
    return created


def days_due(session: Session, today: date, catch_up_days: int = CATCH_UP_DAYS) -> list[date]:
    """Ended business days (up to `catch_up_days` back) whose reports were not generated yet."""
    first = today - timedelta(days=catch_up_days)
    done = set(
        session.scalars(
            select(AmlRun.business_date).where(
                AmlRun.business_date >= first, AmlRun.business_date < today
            )
        )
    )
    return [
        first + timedelta(days=n)
        for n in range(catch_up_days)
        if first + timedelta(days=n) not in done
    ]


def _claim_day(session: Session, day: date) -> bool:
    """Record the day as generated; False when another worker already has."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    claimed = session.execute(
        insert(AmlRun)
        .values(business_date=day, generated_at=utcnow(), report_count=0)
        .on_conflict_do_nothing()
        .returning(AmlRun.business_date)
    ).first()
    return claimed is not None


def generate_day_once(session: Session, day: date) -> int | None:
    """Generate one day's reports unless that was done; the number created, or None if done."""
    if not _claim_day(session, day):
        return None
    return len(_generate_claimed(session, day))


def generate_due(db: Database, now: datetime | None = None) -> dict[date, int]:
    """The daily job: generate every ended business day not yet done, each in its own transaction.

    A day's run row is inserted in the same transaction as its reports, so a crash
    leaves the day to do again, and two workers cannot both do it (the second's
    insert waits for the first's commit, then finds the row).
    """
    today = business_date(now or utcnow())
    done: dict[date, int] = {}
    for day in db.run(lambda s: days_due(s, today)):
        created = db.run(partial(generate_day_once, day=day))
        if created is not None:
            done[day] = created
    return done


def _ensure(
    session: Session,
    day: date,
    kind: str,
    rule_code: str,
    subject: str,
    currency: str,
    total: int,
    ids: list[str],
) -> ReportView | None:
    exists = session.scalar(
        select(AmlReport.id).where(
            AmlReport.business_date == day,
            AmlReport.kind == kind,
            AmlReport.rule_code == rule_code,
            AmlReport.customer_id == subject,
            AmlReport.currency == currency,
        )
    )
    if exists is not None:
        return None
    row = AmlReport(
        business_date=day,
        kind=kind,
        rule_code=rule_code,
        customer_id=subject,
        currency=currency,
        total_minor=total,
        tx_count=len(ids),
        decision_ids=ids,
        status="pending_review",
        created_at=utcnow(),
        note="",
    )
    session.add(row)
    session.flush()
    return _view(row)


def list_reports(
    session: Session, *, day: date | None = None, status: str | None = None, limit: int = 500
) -> list[ReportView]:
    query = select(AmlReport).order_by(AmlReport.business_date.desc(), AmlReport.id).limit(limit)
    if day is not None:
        query = query.where(AmlReport.business_date == day)
    if status is not None:
        query = query.where(AmlReport.status == status)
    return [_view(r) for r in session.scalars(query).all()]


def review_report(
    session: Session, report_id: int, *, status: str, reviewer: str, note: str = ""
) -> ReportView:
    row = session.get(AmlReport, report_id, with_for_update=True)
    if row is None:
        raise AmlReportNotFound()
    row.status = status
    row.reviewed_by = reviewer
    row.reviewed_at = utcnow()
    row.note = note
    return _view(row)


def export_csv(reports: list[ReportView]) -> str:
    """The reports as CSV for submission tools (amounts as decimal strings)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "id",
            "business_date",
            "kind",
            "rule_code",
            "subject",
            "currency",
            "total",
            "tx_count",
            "status",
            "decision_ids",
        ]
    )
    for r in reports:
        writer.writerow(
            [
                r.id,
                r.business_date.isoformat(),
                r.kind,
                r.rule_code,
                r.customer_id,
                r.currency,
                format_minor(r.total_minor, r.currency),
                r.tx_count,
                r.status,
                " ".join(r.decision_ids),
            ]
        )
    return out.getvalue()
