"""Risk console API under /v1/console/risk: rules, decisions, cases, watch lists, AML, models.

Staff only: reading and deciding cases needs `risk.review`; writing rules,
publishing rules and models and editing watch lists needs `risk.rules.publish`.
Every staff action is written to the audit log.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session

from zhangyin.http import DbDep, IdempotencyKey, idempotent_json
from zhangyin.identity.auth import StaffPrincipal, audit, require_staff
from zhangyin.risk import aml, cases, service, watchlist
from zhangyin.risk.features import FEATURES
from zhangyin.risk.schemas import (
    AmlGenerate,
    AmlReportOut,
    AmlReview,
    BacktestOut,
    BacktestRequest,
    CaseApprove,
    CaseEscalate,
    CaseOut,
    CaseReject,
    DecisionOut,
    FeatureOut,
    MatchOut,
    ModelOut,
    RuleCheck,
    RuleCheckOut,
    RuleCreate,
    RuleOut,
    RuleStatusChange,
    ScreenRequest,
    WatchlistCreate,
    WatchlistOut,
)

router = APIRouter(prefix="/v1/console/risk", tags=["risk"])

Reviewer = Annotated[StaffPrincipal, Depends(require_staff("risk.review"))]
Publisher = Annotated[StaffPrincipal, Depends(require_staff("risk.rules.publish"))]
CaseId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
DecisionId = Annotated[str, Path(pattern=r"^[0-9a-f-]{36}$")]
ModelVersion = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,40}$")]
RowId = Annotated[int, Path(ge=1, le=2**62)]


# --------------------------------------------------------------------------- rules


@router.get("/features", response_model=list[FeatureOut], summary="Features rules can use")
def list_features(staff: Reviewer) -> list[FeatureOut]:
    return [FeatureOut(name=n, description=d) for n, d in sorted(FEATURES.items())]


@router.get("/rules", response_model=list[RuleOut], summary="Rules (every version)")
def list_rules(
    staff: Reviewer,
    db: DbDep,
    status: Annotated[str | None, Query(pattern="^(draft|shadow|live|retired)$")] = None,
) -> list[RuleOut]:
    return [RuleOut.of(r) for r in db.run(lambda s: service.list_rules(s, status))]


@router.get("/rules/{rule_id}", response_model=RuleOut, summary="One rule version")
def get_rule(rule_id: RowId, staff: Reviewer, db: DbDep) -> RuleOut:
    return RuleOut.of(db.run(lambda s: service.get_rule(s, rule_id)))


@router.post(
    "/rules/check", response_model=RuleCheckOut, summary="Check rule text without saving it"
)
def check_rule(body: RuleCheck, staff: Reviewer) -> RuleCheckOut:
    compiled = service.check_rule(body.expression)
    return RuleCheckOut(valid=True, outcome=compiled.outcome, features=sorted(compiled.names))


@router.post("/rules", status_code=201, response_model=RuleOut, summary="Write a draft rule")
def create_rule(
    body: RuleCreate, request: Request, staff: Publisher, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, RuleOut]:
        view = service.create_rule(session, author=staff.staff_id, **body.model_dump())
        audit(session, staff, "risk.rule.create", f"risk_rule:{view.id}", {"key": view.key})
        return 201, RuleOut.of(view)

    return idempotent_json(request, scope="risk:rules", key=idempotency_key, body=body, work=work)


@router.post(
    "/rules/{rule_id}/status",
    response_model=RuleOut,
    summary="Shadow, publish (live) or retire a rule: every worker within seconds",
)
def set_rule_status(
    rule_id: RowId,
    body: RuleStatusChange,
    request: Request,
    staff: Publisher,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    def work(session: Session) -> tuple[int, RuleOut]:
        view = service.set_rule_status(session, rule_id, body.status, actor=staff.staff_id)
        audit(session, staff, f"risk.rule.{body.status}", f"risk_rule:{rule_id}", {"key": view.key})
        return 200, RuleOut.of(view)

    return idempotent_json(
        request, scope="risk:rule-status", key=idempotency_key, body=body, work=work
    )


@router.post(
    "/rules/backtest",
    response_model=BacktestOut,
    summary="Replay rule text over past transactions: hits, frauds caught, good customers stopped",
)
def backtest(body: BacktestRequest, staff: Reviewer, db: DbDep) -> BacktestOut:
    result = db.run(lambda s: service.backtest(s, body.expression, body.start, body.end))
    return BacktestOut.of(result)


# --------------------------------------------------------------------------- decisions


@router.get("/decisions", response_model=list[DecisionOut], summary="Recent decisions")
def list_decisions(
    staff: Reviewer,
    db: DbDep,
    outcome: Annotated[str | None, Query(pattern="^(allow|challenge|delay|hold|block)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DecisionOut]:
    rows = db.run(lambda s: service.recent_decisions(s, outcome=outcome, limit=limit))
    return [DecisionOut.of(r) for r in rows]


@router.get(
    "/decisions/{decision_id}",
    response_model=DecisionOut,
    summary="A decision with its features and rule hits",
)
def get_decision(decision_id: DecisionId, staff: Reviewer, db: DbDep) -> DecisionOut:
    return db.run(lambda s: DecisionOut.of(service.get_decision_row(s, decision_id)))


# --------------------------------------------------------------------------- cases


@router.get("/cases", response_model=list[CaseOut], summary="Cases to review")
def list_cases(
    staff: Reviewer,
    db: DbDep,
    status: Annotated[str | None, Query(pattern="^(open|escalated|approved|rejected)$")] = None,
    kind: Annotated[
        str | None, Query(pattern="^(hold|customer_report|incoming_watchlist)$")
    ] = None,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[CaseOut]:
    found = db.run(lambda s: cases.list_cases(s, status=status, kind=kind, customer_id=customer_id))
    return [CaseOut.of(c) for c in found]


@router.get(
    "/cases/{case_id}",
    response_model=CaseOut,
    summary="A case, with the model's top contributing features",
)
def get_case(case_id: CaseId, staff: Reviewer, db: DbDep) -> CaseOut:
    return CaseOut.of(db.run(lambda s: service.explain_case(s, case_id)))


@router.post(
    "/cases/{case_id}/approve",
    response_model=CaseOut,
    summary="Not fraud: release the transfer (emits risk.case.approved)",
)
def approve_case(
    case_id: CaseId,
    body: CaseApprove,
    request: Request,
    staff: Reviewer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    def work(session: Session) -> tuple[int, CaseOut]:
        view = cases.approve_case(session, case_id, analyst=staff.staff_id, note=body.note)
        audit(session, staff, "risk.case.approve", f"risk_case:{case_id}", {})
        return 200, CaseOut.of(view)

    return idempotent_json(
        request, scope="risk:case-approve", key=idempotency_key, body=body, work=work
    )


@router.post(
    "/cases/{case_id}/reject",
    response_model=CaseOut,
    summary="Stop the transfer (emits risk.case.rejected); confirm fraud, freeze the payee",
)
def reject_case(
    case_id: CaseId,
    body: CaseReject,
    request: Request,
    staff: Reviewer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    def work(session: Session) -> tuple[int, CaseOut]:
        view = cases.reject_case(
            session,
            case_id,
            analyst=staff.staff_id,
            note=body.note,
            confirmed_fraud=body.confirmed_fraud,
            freeze_payee=body.freeze_payee,
            watchlist_payee=body.watchlist_payee,
        )
        audit(
            session,
            staff,
            "risk.case.reject",
            f"risk_case:{case_id}",
            {"confirmed_fraud": body.confirmed_fraud, "freeze_payee": body.freeze_payee},
        )
        return 200, CaseOut.of(view)

    return idempotent_json(
        request, scope="risk:case-reject", key=idempotency_key, body=body, work=work
    )


@router.post("/cases/{case_id}/escalate", response_model=CaseOut, summary="Escalate a case")
def escalate_case(
    case_id: CaseId,
    body: CaseEscalate,
    request: Request,
    staff: Reviewer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    def work(session: Session) -> tuple[int, CaseOut]:
        view = cases.escalate_case(session, case_id, analyst=staff.staff_id, note=body.note)
        audit(session, staff, "risk.case.escalate", f"risk_case:{case_id}", {})
        return 200, CaseOut.of(view)

    return idempotent_json(
        request, scope="risk:case-escalate", key=idempotency_key, body=body, work=work
    )


# --------------------------------------------------------------------------- watch lists


@router.get("/watchlist", response_model=list[WatchlistOut], summary="Watch-list entries")
def list_watchlist(staff: Reviewer, db: DbDep) -> list[WatchlistOut]:
    return [WatchlistOut.of(e) for e in db.run(watchlist.list_entries)]


@router.post(
    "/watchlist", status_code=201, response_model=WatchlistOut, summary="Add a watch-list entry"
)
def add_watchlist_entry(
    body: WatchlistCreate, request: Request, staff: Publisher, idempotency_key: IdempotencyKey
) -> JSONResponse:
    if not body.name.strip() and not body.account_number:
        from zhangyin.errors import InvalidRequest

        raise InvalidRequest(errors=[{"field": "name", "reason": "missing", "message": ""}])

    def work(session: Session) -> tuple[int, WatchlistOut]:
        view = watchlist.add_entry(
            session,
            list_name=body.list_name,
            name=body.name.strip(),
            account_number=body.account_number,
            reason=body.reason,
            added_by=staff.staff_id,
        )
        audit(session, staff, "risk.watchlist.add", f"risk_watchlist:{view.id}", {})
        return 201, WatchlistOut.of(view)

    return idempotent_json(
        request, scope="risk:watchlist", key=idempotency_key, body=body, work=work
    )


@router.delete("/watchlist/{entry_id}", response_model=WatchlistOut, summary="Deactivate an entry")
def remove_watchlist_entry(entry_id: RowId, staff: Publisher, db: DbDep) -> WatchlistOut:
    def work(session: Session) -> watchlist.EntryView:
        view = watchlist.deactivate_entry(session, entry_id)
        audit(session, staff, "risk.watchlist.remove", f"risk_watchlist:{entry_id}", {})
        return view

    return WatchlistOut.of(db.run(work))


@router.post("/watchlist/screen", response_model=list[MatchOut], summary="Screen a name or account")
def screen(body: ScreenRequest, staff: Reviewer, db: DbDep) -> list[MatchOut]:
    screener = db.run(lambda s: service.get_engine().snapshot(s).screener)
    matches = screener.screen(body.name or None, body.account_number)
    return [MatchOut(**m.__dict__) for m in matches]


# --------------------------------------------------------------------------- AML


@router.get("/aml/reports", response_model=list[AmlReportOut], summary="AML reports")
def list_aml_reports(
    staff: Reviewer,
    db: DbDep,
    business_date: Annotated[date | None, Query()] = None,
    status: Annotated[str | None, Query(pattern="^(pending_review|reported|dismissed)$")] = None,
) -> list[AmlReportOut]:
    reports = db.run(lambda s: aml.list_reports(s, day=business_date, status=status))
    return [AmlReportOut.of(r) for r in reports]


@router.get(
    "/aml/reports.csv",
    response_class=PlainTextResponse,
    summary="AML reports of a day as CSV",
)
def export_aml_reports(
    staff: Reviewer, db: DbDep, business_date: Annotated[date, Query()]
) -> PlainTextResponse:
    def work(session: Session) -> str:
        text = aml.export_csv(aml.list_reports(session, day=business_date))
        audit(session, staff, "risk.aml.export", f"aml:{business_date.isoformat()}", {})
        return text

    return PlainTextResponse(db.run(work), media_type="text/csv; charset=utf-8")


@router.post(
    "/aml/reports/generate",
    response_model=list[AmlReportOut],
    summary="Generate a day's reports (already generated ones are kept)",
)
def generate_aml_reports(
    body: AmlGenerate, request: Request, staff: Reviewer, idempotency_key: IdempotencyKey
) -> JSONResponse:
    from pydantic import RootModel

    def work(session: Session) -> tuple[int, RootModel[list[AmlReportOut]]]:
        created = aml.generate_reports(session, body.business_date)
        audit(session, staff, "risk.aml.generate", f"aml:{body.business_date.isoformat()}", {})
        return 200, RootModel[list[AmlReportOut]]([AmlReportOut.of(r) for r in created])

    return idempotent_json(
        request, scope="risk:aml-generate", key=idempotency_key, body=body, work=work
    )


@router.post(
    "/aml/reports/{report_id}/review", response_model=AmlReportOut, summary="Review a report"
)
def review_aml_report(
    report_id: RowId, body: AmlReview, staff: Reviewer, db: DbDep
) -> AmlReportOut:
    def work(session: Session) -> aml.ReportView:
        view = aml.review_report(
            session, report_id, status=body.status, reviewer=staff.staff_id, note=body.note
        )
        audit(session, staff, "risk.aml.review", f"aml_report:{report_id}", {"to": body.status})
        return view

    return AmlReportOut.of(db.run(work))


# --------------------------------------------------------------------------- models


@router.get("/models", response_model=list[ModelOut], summary="Trained model versions")
def list_models(staff: Reviewer, db: DbDep) -> list[ModelOut]:
    return [ModelOut.of(m) for m in db.run(service.list_models)]


@router.post(
    "/models/{version}/publish",
    response_model=ModelOut,
    summary="Make a model version live on every worker",
)
def publish_model(version: ModelVersion, staff: Publisher, db: DbDep) -> ModelOut:
    def work(session: Session) -> service.ModelView:
        view = service.publish_model(session, version, actor=staff.staff_id)
        audit(session, staff, "risk.model.publish", f"risk_model:{version}", {})
        return view

    return ModelOut.of(db.run(work))
