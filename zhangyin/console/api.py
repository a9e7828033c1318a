"""Console API under /v1/console: dashboards, customer 360, app home configuration, billers,
transfer limits per KYC level, and staff roles.

Staff authenticate with identity's staff login (POST /v1/console/sessions); each route
declares the permission it needs, and every staff action is written to identity's audit
log. The risk review queue and rule editor are the risk domain's (/v1/console/risk/...);
creating a staff member and the audit log are identity's (POST /v1/console/staff,
/v1/console/audit-log); listing, re-roling and disabling staff are here.
The app reads its home page from the public GET /v1/app/home-config.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from zhangyin.analytics import service as analytics
from zhangyin.analytics.errors import DateRangeInvalid
from zhangyin.clock import business_date, utcnow
from zhangyin.console import service
from zhangyin.console.schemas import (
    AggregateIn,
    AppBannerOut,
    AppHomeConfigOut,
    AppNoticeOut,
    BillerIn,
    BillerOut,
    BreakdownRow,
    CohortOut,
    Customer360Out,
    CustomerHitOut,
    DefinitionIn,
    FunnelStepOut,
    HomeItemIn,
    HomeItemOut,
    HomeItemUpdate,
    LevelLimitsIn,
    LevelLimitsOut,
    OverviewOut,
    PeriodOut,
    RevealedOut,
    RevealIn,
    ReviewIn,
    RoleOut,
    Segment,
    SeriesOut,
    StaffEntryOut,
    StaffRolesIn,
    VersionIn,
)
from zhangyin.http import DbDep, IdempotencyKey, idempotent_json
from zhangyin.identity.auth import PUBLIC, CurrentStaff, StaffPrincipal, audit, require_staff

router = APIRouter(prefix="/v1/console", tags=["console"])
app_router = APIRouter(prefix="/v1/app", tags=["app"])

AnalyticsReader = Annotated[StaffPrincipal, Depends(require_staff("analytics.read"))]
AnalyticsAdmin = Annotated[StaffPrincipal, Depends(require_staff("analytics.define"))]
CustomersReader = Annotated[StaffPrincipal, Depends(require_staff("customers.read"))]
CustomersRevealer = Annotated[StaffPrincipal, Depends(require_staff("customers.reveal"))]
HomeReader = Annotated[StaffPrincipal, Depends(require_staff("home.read"))]
HomeEditor = Annotated[StaffPrincipal, Depends(require_staff("home.edit"))]
HomePublisher = Annotated[StaffPrincipal, Depends(require_staff("home.publish"))]
ConfigReader = Annotated[StaffPrincipal, Depends(require_staff("config.read"))]
BillerManager = Annotated[StaffPrincipal, Depends(require_staff("billers.manage"))]
#: Only admins hold these (through "*"): limits move every customer's money, staff roles
#: decide who may do anything.
LimitsEditor = Annotated[StaffPrincipal, Depends(require_staff("limits.edit"))]
StaffAdmin = Annotated[StaffPrincipal, Depends(require_staff("staff.manage"))]

DateParam = Annotated[date | None, Query(description="YYYY-MM-DD, Beijing business day")]


def _range(start: date | None, end: date | None) -> tuple[date, date]:
    """Default: the 30 days ending yesterday."""
    end = end or business_date(utcnow()) - timedelta(days=1)
    start = start or end - timedelta(days=29)
    analytics.check_range(start, end)
    return start, end


def _analytics_key(request: Request) -> str:
    key: str = request.app.state.settings.resolved_secret_key()
    return key


# --------------------------------------------------------------------------- dashboards


@router.get(
    "/analytics/overview",
    response_model=OverviewOut,
    summary="Overview figures vs the period before",
)
def analytics_overview(
    staff: AnalyticsReader,
    db: DbDep,
    start: DateParam = None,
    end: DateParam = None,
    segment: Annotated[Segment | None, Query()] = None,
) -> OverviewOut:
    first, last = _range(start, end)

    def work(session: Session) -> tuple[analytics.Overview, tuple[date, date] | None]:
        return analytics.overview(session, first, last, segment), analytics.aggregated_range(
            session
        )

    found, available = db.run(work)
    return OverviewOut(
        current=PeriodOut(
            start=str(found.current.start),
            end=str(found.current.end),
            figures=found.current.figures,
        ),
        previous=PeriodOut(
            start=str(found.previous.start),
            end=str(found.previous.end),
            figures=found.previous.figures,
        ),
        changes=found.changes,
        segment=segment,
        aggregated_from=str(available[0]) if available else None,
        aggregated_to=str(available[1]) if available else None,
    )


def _days(first: date, last: date) -> list[str]:
    return [str(first + timedelta(days=i)) for i in range((last - first).days + 1)]


MetricsParam = Annotated[
    str, Query(max_length=400, pattern=r"^[a-z_.]+(,[a-z_.]+)*$", description="Comma-separated")
]
DimensionParam = Annotated[str, Query(max_length=20, pattern=r"^[a-z_]*$")]
ValueParam = Annotated[str | None, Query(max_length=60)]


@router.get("/analytics/series", response_model=SeriesOut, summary="Daily values of metrics")
def analytics_series(
    staff: AnalyticsReader,
    db: DbDep,
    metrics_: Annotated[MetricsParam, Query(alias="metrics")] = "dau,mau",
    start: DateParam = None,
    end: DateParam = None,
    dimension: DimensionParam = "",
    value: ValueParam = None,
) -> SeriesOut:
    first, last = _range(start, end)
    names = metrics_.split(",")[:12]
    found = db.run(lambda s: analytics.series(s, names, first, last, dimension, value))
    return SeriesOut(days=_days(first, last), series=found)


@router.get(
    "/analytics/breakdown",
    response_model=list[BreakdownRow],
    summary="A metric by channel, type (product), segment, biller, scenario...",
)
def analytics_breakdown(
    staff: AnalyticsReader,
    db: DbDep,
    metric: Annotated[str, Query(max_length=40, pattern=r"^[a-z_.]+$")],
    dimension: Annotated[str, Query(max_length=20, pattern=r"^[a-z_]+$")],
    start: DateParam = None,
    end: DateParam = None,
) -> list[BreakdownRow]:
    first, last = _range(start, end)
    rows = db.run(lambda s: analytics.breakdown(s, metric, dimension, first, last))
    return [BreakdownRow(key=k, value=v) for k, v in rows]


@router.get(
    "/analytics/funnel",
    response_model=list[FunnelStepOut],
    summary="Register → first login → first transfer",
)
def analytics_funnel(
    staff: AnalyticsReader, db: DbDep, start: DateParam = None, end: DateParam = None
) -> list[FunnelStepOut]:
    first, last = _range(start, end)
    steps = db.run(lambda s: analytics.funnel(s, first, last))
    return [FunnelStepOut(step=x.step, customers=x.customers) for x in steps]


@router.get(
    "/analytics/cohorts", response_model=list[CohortOut], summary="Weekly retention cohorts"
)
def analytics_cohorts(
    staff: AnalyticsReader, db: DbDep, start: DateParam = None, end: DateParam = None
) -> list[CohortOut]:
    first, last = _range(start, end)
    found = db.run(lambda s: analytics.cohorts(s, first, last))
    return [
        CohortOut(week_start=str(c.week_start), size=c.size, retained=c.retained) for c in found
    ]


@router.get("/analytics/metrics", summary="Metric definitions and their parameters")
def analytics_metrics(staff: AnalyticsReader, db: DbDep) -> dict[str, Any]:
    rows = db.run(
        lambda s: [
            {"key": r.key, "value": r.value, "description": r.description}
            for r in analytics.list_definitions(s)
        ]
    )
    return {"metrics": analytics.metric_catalogue(), "definitions": rows}


@router.put(
    "/analytics/definitions/{key}", summary="Change a definition parameter (e.g. dormant_days)"
)
def analytics_set_definition(
    key: Annotated[str, Path(max_length=40)],
    body: DefinitionIn,
    staff: AnalyticsAdmin,
    db: DbDep,
) -> dict[str, str]:
    def work(session: Session) -> dict[str, str]:
        row = analytics.set_definition(session, key, body.value)
        audit(session, staff, "analytics.definition", f"definition:{key}", {"value": row.value})
        return {"key": row.key, "value": row.value}

    return db.run(work)


@router.post("/analytics/aggregations", summary="Recompute the daily aggregates of a range of days")
def analytics_aggregate(body: AggregateIn, staff: AnalyticsAdmin, db: DbDep) -> dict[str, Any]:
    try:
        first, last = date.fromisoformat(body.start), date.fromisoformat(body.end)
    except ValueError as exc:
        raise DateRangeInvalid() from exc
    analytics.check_range(first, last)
    result = analytics.aggregate(db, first, last)
    db.run(
        lambda s: audit(
            s, staff, "analytics.aggregate", "analytics", {"start": body.start, "end": body.end}
        )
    )
    return {"start": body.start, "end": body.end, "rows": result.rows, "seconds": result.seconds}


ExportReport = Literal["overview", "series", "breakdown", "funnel", "cohorts"]


def _table(
    session: Session,
    report: str,
    first: date,
    last: date,
    metric: str,
    dimension: str,
    names: list[str],
    segment: str | None,
) -> tuple[list[str], list[Sequence[Any]]]:
    if report == "overview":
        found = analytics.overview(session, first, last, segment)
        return ["figure", "current", "previous", "change"], [
            (k, v, found.previous.figures.get(k), found.changes.get(k))
            for k, v in found.current.figures.items()
        ]
    if report == "series":
        values = analytics.series(session, names, first, last)
        days = _days(first, last)
        return ["day", *names], [(d, *(values[n][i] for n in names)) for i, d in enumerate(days)]
    if report == "breakdown":
        found_rows: list[Sequence[Any]] = list(
            analytics.breakdown(session, metric, dimension, first, last)
        )
        return [dimension, metric], found_rows
    if report == "funnel":
        return ["step", "customers"], [
            (x.step, x.customers) for x in analytics.funnel(session, first, last)
        ]
    cohorts = analytics.cohorts(session, first, last)
    weeks = max((len(c.retained) for c in cohorts), default=0)
    return ["week_start", "size", *(f"week_{k}" for k in range(weeks))], [
        (str(c.week_start), c.size, *c.retained, *([""] * (weeks - len(c.retained))))
        for c in cohorts
    ]


@router.get(
    "/analytics/export",
    summary="Download a dashboard table as CSV or Excel",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/vnd.ms-excel": {}}}},
)
def analytics_export(
    staff: AnalyticsReader,
    db: DbDep,
    report: Annotated[ExportReport, Query()] = "overview",
    file_format: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
    start: DateParam = None,
    end: DateParam = None,
    metric: Annotated[str, Query(max_length=40, pattern=r"^[a-z_.]+$")] = "tx.count",
    dimension: Annotated[str, Query(max_length=20, pattern=r"^[a-z_]+$")] = "channel",
    metrics_: Annotated[MetricsParam, Query(alias="metrics")] = "dau,mau",
    segment: Annotated[Segment | None, Query()] = None,
) -> Response:
    first, last = _range(start, end)
    names = metrics_.split(",")[:12]

    def work(session: Session) -> tuple[list[str], list[Sequence[Any]]]:
        table = _table(session, report, first, last, metric, dimension, names, segment)
        audit(
            session,
            staff,
            "analytics.export",
            f"report:{report}",
            {"start": str(first), "end": str(last), "format": file_format},
        )
        return table

    header, rows = db.run(work)
    filename = f"zhangyin-{report}-{first}-{last}.{file_format}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if file_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
        # A BOM so that Excel opens the UTF-8 file with Chinese text intact.
        return Response(
            "\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8", headers=disposition
        )
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = report
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=disposition,
    )


# --------------------------------------------------------------------------- customer 360


@router.get(
    "/customer-search",
    response_model=list[CustomerHitOut],
    summary="Find customers by mobile number, masked mobile number (138****5678) or account "
    "number (masked results)",
)
def customer_search(
    staff: CustomersReader,
    db: DbDep,
    q: Annotated[str, Query(min_length=1, max_length=30)],
) -> list[CustomerHitOut]:
    def work(session: Session) -> list[service.CustomerHit]:
        hits = service.search_customers(session, q)
        kind = service.search_kind(q)
        audit(session, staff, "customer.search", "customers", {"by": kind, "hits": len(hits)})
        return hits

    return [CustomerHitOut(**h.__dict__) for h in db.run(work)]


@router.get(
    "/customers/{customer_id}/360",
    response_model=Customer360Out,
    summary="Customer 360: profile, accounts, transfers, devices, risk events, messages, app "
    "activity (masked)",
)
def customer_360(
    customer_id: Annotated[str, Path(max_length=36)],
    request: Request,
    staff: CustomersReader,
    db: DbDep,
) -> Customer360Out:
    key = _analytics_key(request)

    def work(session: Session) -> service.Customer360:
        found = service.customer_360(session, customer_id, key)
        audit(session, staff, "customer.view_360", f"customer:{customer_id}", {})
        return found

    return Customer360Out.of(db.run(work))


@router.post(
    "/customers/{customer_id}/reveal",
    response_model=RevealedOut,
    summary="Reveal a customer's full personal data (permission-checked, audited with a reason)",
)
def customer_reveal(
    customer_id: Annotated[str, Path(max_length=36)],
    body: RevealIn,
    staff: CustomersRevealer,
    db: DbDep,
) -> RevealedOut:
    def work(session: Session) -> service.RevealedCustomer:
        revealed = service.reveal_customer(session, customer_id)
        audit(
            session,
            staff,
            "customer.reveal",
            f"customer:{customer_id}",
            {"reason": body.reason, "fields": ["name", "phone", "id_number"]},
        )
        return revealed

    return RevealedOut(**db.run(work).__dict__)


# --------------------------------------------------------------------------- home config


@router.get("/home-items", response_model=list[HomeItemOut], summary="Home-page items")
def home_items(
    staff: HomeReader,
    db: DbDep,
    status: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z_]+$")] = None,
) -> list[HomeItemOut]:
    return [HomeItemOut.of(v) for v in db.run(lambda s: service.list_home_items(s, status))]


@router.post(
    "/home-items", status_code=201, response_model=HomeItemOut, summary="Draft a home-page item"
)
def home_item_create(
    body: HomeItemIn, request: Request, staff: HomeEditor, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, HomeItemOut]:
        view = service.create_home_item(session, staff.staff_id, body.fields())
        audit(session, staff, "home.create", f"home_item:{view.id}", {"kind": view.kind})
        return 201, HomeItemOut.of(view)

    return idempotent_json(
        request,
        scope=f"console:home-items:{staff.staff_id}",
        key=idempotency_key,
        body=body,
        work=work,
    )


@router.get("/home-items/{item_id}", response_model=HomeItemOut, summary="A home-page item")
def home_item(item_id: str, staff: HomeReader, db: DbDep) -> HomeItemOut:
    return HomeItemOut.of(db.run(lambda s: service.get_home_item(s, item_id[:36])))


@router.put("/home-items/{item_id}", response_model=HomeItemOut, summary="Edit a draft")
def home_item_update(
    item_id: str, body: HomeItemUpdate, staff: HomeEditor, db: DbDep
) -> HomeItemOut:
    def work(session: Session) -> service.HomeItemView:
        view = service.update_home_item(session, item_id[:36], body.version, body.fields())
        audit(session, staff, "home.update", f"home_item:{view.id}", {"version": view.version})
        return view

    return HomeItemOut.of(db.run(work))


@router.post(
    "/home-items/{item_id}/submit", response_model=HomeItemOut, summary="Submit for approval"
)
def home_item_submit(item_id: str, body: VersionIn, staff: HomeEditor, db: DbDep) -> HomeItemOut:
    def work(session: Session) -> service.HomeItemView:
        view = service.submit_home_item(session, item_id[:36], body.version, staff.staff_id)
        audit(session, staff, "home.submit", f"home_item:{view.id}", {})
        return view

    return HomeItemOut.of(db.run(work))


def _review(item_id: str, body: ReviewIn, staff: StaffPrincipal, db: Any, approve: bool) -> Any:
    def work(session: Session) -> service.HomeItemView:
        view = service.review_home_item(
            session, item_id[:36], body.version, staff.staff_id, approve=approve, note=body.note
        )
        audit(
            session,
            staff,
            "home.approve" if approve else "home.reject",
            f"home_item:{view.id}",
            {"note": body.note},
        )
        return view

    return HomeItemOut.of(db.run(work))


@router.post(
    "/home-items/{item_id}/approve",
    response_model=HomeItemOut,
    summary="Approve: the item goes live (by someone other than its submitter)",
)
def home_item_approve(item_id: str, body: ReviewIn, staff: HomePublisher, db: DbDep) -> HomeItemOut:
    result: HomeItemOut = _review(item_id, body, staff, db, approve=True)
    return result


@router.post(
    "/home-items/{item_id}/reject", response_model=HomeItemOut, summary="Reject with a note"
)
def home_item_reject(item_id: str, body: ReviewIn, staff: HomePublisher, db: DbDep) -> HomeItemOut:
    result: HomeItemOut = _review(item_id, body, staff, db, approve=False)
    return result


@router.post(
    "/home-items/{item_id}/withdraw",
    response_model=HomeItemOut,
    summary="Take a live or pending item down at once",
)
def home_item_withdraw(item_id: str, body: VersionIn, staff: HomeEditor, db: DbDep) -> HomeItemOut:
    def work(session: Session) -> service.HomeItemView:
        view = service.withdraw_home_item(session, item_id[:36], body.version)
        audit(session, staff, "home.withdraw", f"home_item:{view.id}", {})
        return view

    return HomeItemOut.of(db.run(work))


def _app_config(config: service.HomeConfig, language: str) -> AppHomeConfigOut:
    english = language == "en-US"
    return AppHomeConfigOut(
        banners=[
            AppBannerOut(
                id=b.id,
                title=(b.title_en or b.title_zh) if english else b.title_zh,
                body=(b.body_en or b.body_zh) if english else b.body_zh,
                image_url=b.image_url,
                link=b.link,
            )
            for b in config.banners
        ],
        notices=[
            AppNoticeOut(
                id=n.id,
                title=(n.title_en or n.title_zh) if english else n.title_zh,
                body=(n.body_en or n.body_zh) if english else n.body_zh,
                link=n.link,
            )
            for n in config.notices
        ],
        shortcuts=config.shortcuts,
        version=config.version,
    )


@router.get(
    "/home-preview",
    response_model=AppHomeConfigOut,
    summary="Preview the app's home page for a segment / elder mode, optionally with a draft",
)
def home_preview(
    request: Request,
    staff: HomeReader,
    db: DbDep,
    segment: Annotated[Segment | None, Query()] = None,
    elder_mode: Annotated[bool, Query()] = False,
    item_id: Annotated[str | None, Query(max_length=36)] = None,
) -> AppHomeConfigOut:
    from zhangyin.http import get_language

    config = db.run(
        lambda s: service.home_config(
            s, segment=segment, elder_mode=elder_mode, include_item=item_id
        )
    )
    return _app_config(config, get_language(request))


@app_router.get(
    "/home-config",
    response_model=AppHomeConfigOut,
    summary="The app's home page: live banners, notices and shortcut order for this customer",
    openapi_extra=PUBLIC,
)
def app_home_config(
    request: Request,
    db: DbDep,
    segment: Annotated[Segment | None, Query()] = None,
    elder_mode: Annotated[bool, Query()] = False,
) -> JSONResponse:
    from zhangyin.http import get_language

    config = db.run(lambda s: service.home_config(s, segment=segment, elder_mode=elder_mode))
    body = _app_config(config, get_language(request))
    # Short cache: a published change reaches every phone within a minute.
    return JSONResponse(body.model_dump(mode="json"), headers={"Cache-Control": "max-age=30"})


# --------------------------------------------------------------------------- billers, roles


@router.get("/billers", response_model=list[BillerOut], summary="Billers (payments domain)")
def billers(staff: ConfigReader, db: DbDep) -> list[BillerOut]:
    from zhangyin.payments import billers as payments_billers

    return [BillerOut(**b.__dict__) for b in db.run(payments_billers.list_billers)]


@router.post("/billers", status_code=201, response_model=BillerOut, summary="Add a biller")
def biller_create(
    body: BillerIn, request: Request, staff: BillerManager, idempotency_key: IdempotencyKey
) -> JSONResponse:
    import re

    from zhangyin.console.errors import HomeItemInvalid
    from zhangyin.payments import billers as payments_billers

    try:
        re.compile(body.account_pattern)
    except re.error as exc:
        raise HomeItemInvalid(reason="account_pattern") from exc

    def work(session: Session) -> tuple[int, BillerOut]:
        view = payments_billers.add_biller(
            session,
            biller_id=body.id,
            category=body.category,
            name=body.name,
            name_en=body.name_en,
            account_label=body.account_label,
            account_pattern=body.account_pattern,
            fixed_amounts_minor=list(body.fixed_amounts_minor),
        )
        audit(session, staff, "biller.create", f"biller:{view.id}", {})
        return 201, BillerOut(**view.__dict__)

    return idempotent_json(
        request, scope="console:billers", key=idempotency_key, body=body, work=work
    )


@router.get("/roles", response_model=list[RoleOut], summary="Console roles and permissions")
def roles(staff: ConfigReader, db: DbDep) -> list[RoleOut]:
    found = db.run(service.role_map)
    return [RoleOut(role=r, permissions=p) for r, p in found.items()]


@router.get("/me", summary="The logged-in staff member's roles and permissions")
def me(staff: CurrentStaff) -> dict[str, Any]:
    return {
        "staff_id": staff.staff_id,
        "roles": list(staff.roles),
        "permissions": sorted(staff.permissions),
    }


# --------------------------------------------------------------------------- limits by KYC level

KycLevelParam = Annotated[Literal["I", "II", "III"], Path(description="KYC level (账户类别)")]


@router.get(
    "/limits",
    response_model=list[LevelLimitsOut],
    summary="Transfer limits per KYC level (per transaction, daily amount, daily count)",
)
def limits(staff: ConfigReader, db: DbDep) -> list[LevelLimitsOut]:
    from zhangyin.identity import service as identity

    return [LevelLimitsOut.of(v) for v in db.run(identity.list_level_limits)]


@router.put(
    "/limits/{level}",
    response_model=LevelLimitsOut,
    summary="Change a KYC level's limits (admin; applies to the next transfer; audited)",
)
def limits_update(
    level: KycLevelParam, body: LevelLimitsIn, staff: LimitsEditor, db: DbDep
) -> LevelLimitsOut:
    def work(session: Session) -> Any:
        before, after = service.set_level_limits(
            session,
            level,
            per_transaction=body.per_transaction,
            daily_amount=body.daily_amount,
            daily_count=body.daily_count,
        )
        audit(
            session,
            staff,
            "limits.update",
            f"kyc_level:{level}",
            {"before": _limits_details(before), "after": _limits_details(after)},
        )
        return after

    return LevelLimitsOut.of(db.run(work))


def _limits_details(v: Any) -> dict[str, int]:
    return {
        "per_transaction_minor": v.per_transaction_minor,
        "daily_amount_minor": v.daily_amount_minor,
        "daily_count": v.daily_count,
    }


# --------------------------------------------------------------------------- staff

StaffIdParam = Annotated[str, Path(max_length=36)]


def _staff_out(v: Any) -> StaffEntryOut:
    return StaffEntryOut(
        id=v.id,
        username=v.username,
        name=v.name,
        roles=list(v.roles),
        active=v.active,
        totp_enabled=v.totp_enabled,
        created_at=getattr(v, "created_at", None),
        last_login_at=getattr(v, "last_login_at", None),
    )


@router.get(
    "/staff",
    response_model=list[StaffEntryOut],
    summary="Staff members: roles, active, last login (admin)",
)
def staff_list(staff: StaffAdmin, db: DbDep) -> list[StaffEntryOut]:
    from zhangyin.identity import staff as staff_accounts

    return [_staff_out(v) for v in db.run(staff_accounts.list_staff)]


@router.put(
    "/staff/{staff_id}/roles",
    response_model=StaffEntryOut,
    summary="Replace a staff member's roles (admin; not one's own admin role; audited)",
)
def staff_roles(
    staff_id: StaffIdParam, body: StaffRolesIn, staff: StaffAdmin, db: DbDep
) -> StaffEntryOut:
    def work(session: Session) -> Any:
        before, view = service.set_staff_roles(session, staff.staff_id, staff_id, list(body.roles))
        audit(
            session,
            staff,
            "staff.roles",
            f"staff:{staff_id}",
            {"before": list(before), "after": list(view.roles)},
        )
        return view

    return _staff_out(db.run(work))


@router.post(
    "/staff/{staff_id}/disable",
    response_model=StaffEntryOut,
    summary="Disable a staff member: no more logins, open sessions end (admin; not oneself)",
)
def staff_disable(staff_id: StaffIdParam, staff: StaffAdmin, db: DbDep) -> StaffEntryOut:
    def work(session: Session) -> Any:
        view = service.disable_staff(session, staff.staff_id, staff_id)
        audit(session, staff, "staff.disable", f"staff:{staff_id}", {})
        return view

    return _staff_out(db.run(work))


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(app_router)
