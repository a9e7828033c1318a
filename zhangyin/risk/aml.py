"""Anti-money-laundering reports (反洗钱): large-value and suspicious transaction reports.

Generated per Beijing business day from the risk transaction log (operations
payments reported as completed), with the PBOC thresholds held in data
(`risk_aml_thresholds`, seeded by migration 0003): cash of 50,000 CNY or more a
day; an individual's domestic transfers of 500,000 CNY or more a day; a
company's of 2,000,000 CNY or more. Generation is idempotent (one report per
day, rule, subject and currency); the console reviews and exports them.

Party type: operations arriving on the `enterprise` channel are a company's;
all others an individual's.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin.clock import business_day_bounds, utcnow
from zhangyin.money import format_minor
from zhangyin.risk.errors import AmlReportNotFound
from zhangyin.risk.models import AmlReport, AmlThreshold, RiskDecision

COMPANY_CHANNELS = frozenset({"enterprise"})
#: Suspicious when a day's total sits just under a large-value threshold ...
STRUCTURING_LOWER = 0.9
#: ... spread over at least this many operations.
STRUCTURING_MIN_COUNT = 3
REVIEW_STATUSES = ("pending_review", "reported", "dismissed")


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
    """Create the day's reports (those already generated are kept as they are)."""
    start, end = business_day_bounds(day)
    d = RiskDecision
    rows = session.execute(
        select(d.id, d.customer_id, d.operation, d.channel, d.currency, d.amount_minor).where(
            d.occurred_at >= start, d.occurred_at < end, d.status == "completed"
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
