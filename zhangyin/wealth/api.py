"""The wealth API: catalogue, risk questionnaire, orders, holdings, pension, check-up and
model portfolios for the signed-in customer; product management under /v1/console/wealth.

Every customer read goes through a service query filtered by the caller, so another
customer's order or holding is a 404. Purchases are screened for suitability first
in a transaction of their own, so that a refused attempt stays on record, and
checked again inside the purchase itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from zhangyin.clock import business_date, utcnow
from zhangyin.http import DbDep, IdempotencyKey, LanguageDep, idempotent_json
from zhangyin.identity import service as identity
from zhangyin.identity.auth import CurrentCustomer, StaffPrincipal, audit, require_staff
from zhangyin.money import Money, format_minor, parse_amount
from zhangyin.wealth import catalogue, checkup, pension, portfolio, report_pdf, service
from zhangyin.wealth.catalogue import ProductSpec
from zhangyin.wealth.errors import InvalidProduct, RiskAssessmentRequired, StepUpRequired
from zhangyin.wealth.jobs import run_wealth_jobs
from zhangyin.wealth.models import PensionMovement, ProductKind, ProductStatus
from zhangyin.wealth.schemas import (
    AcknowledgementCreate,
    AcknowledgementOut,
    AssessmentCreate,
    AssessmentOut,
    BatchOut,
    CheckupOut,
    ContributionCreate,
    DocumentsUpdate,
    HoldingDetailOut,
    HoldingOut,
    HoldingsOut,
    ModelPortfolioOut,
    NavCreate,
    NavHistoryOut,
    NavPointOut,
    OrderOut,
    PensionMovementOut,
    PensionOpenOut,
    PensionOut,
    ProductCreate,
    ProductOut,
    ProductStatusUpdate,
    QuestionnaireOut,
    RedemptionCreate,
    RefusalOut,
    StaffWithdrawalCreate,
    SubscriptionCreate,
    TaxStatementOut,
    WithdrawalCreate,
    nav,
)

router = APIRouter(prefix="/v1/wealth", tags=["wealth"])
console_router = APIRouter(prefix="/v1/console/wealth", tags=["console", "wealth"])

ProductCodePath = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
UuidPath = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
WealthRead = Annotated[StaffPrincipal, Depends(require_staff("wealth.read"))]
WealthManage = Annotated[StaffPrincipal, Depends(require_staff("wealth.manage"))]


def _scope(customer: CurrentCustomer, what: str) -> str:
    return f"wealth:{what}:{customer.customer_id}"


def _units_e2(text: str | None) -> int | None:
    return None if text is None else parse_amount(text, "CNY").minor


# ---------------------------------------------------------------------------- catalogue


@router.get("/products", response_model=list[ProductOut], summary="Product catalogue")
def list_products(
    customer: CurrentCustomer,
    db: DbDep,
    kind: ProductKind | None = None,
    pension_only: Annotated[bool | None, Query(alias="pension")] = None,
) -> list[ProductOut]:
    """Products on sale with risk level, minimum, rates or latest NAV, and documents."""
    today = business_date(utcnow())

    def work(s: Session) -> list[ProductOut]:
        return [
            ProductOut.of(p, service.latest_nav(s, p.code, today))
            for p in catalogue.list_products(s, kind=kind, pension=pension_only)
        ]

    return db.run(work)


@router.get("/products/{product_code}", response_model=ProductOut, summary="One product")
def get_product(product_code: ProductCodePath, customer: CurrentCustomer, db: DbDep) -> ProductOut:
    today = business_date(utcnow())

    def work(s: Session) -> ProductOut:
        p = catalogue.get_product(s, product_code)
        return ProductOut.of(p, service.latest_nav(s, p.code, today))

    return db.run(work)


@router.get("/products/{product_code}/navs", response_model=NavHistoryOut, summary="NAV history")
def product_navs(
    product_code: ProductCodePath,
    customer: CurrentCustomer,
    db: DbDep,
    days: Annotated[int, Query(ge=1, le=1100)] = 90,
) -> NavHistoryOut:
    today = business_date(utcnow())

    def work(s: Session) -> NavHistoryOut:
        catalogue.get_product(s, product_code)
        points = service.nav_history(s, product_code, today - timedelta(days=days), today)
        return NavHistoryOut(
            product_code=product_code,
            points=[NavPointOut(date=d, nav=nav(v) or "") for d, v in points],
        )

    return db.run(work)


@router.post(
    "/products/{product_code}/acknowledgements",
    status_code=201,
    response_model=AcknowledgementOut,
    summary="Acknowledge the product documents (read before the first purchase)",
)
def acknowledge(
    product_code: ProductCodePath,
    body: AcknowledgementCreate,
    request: Request,
    customer: CurrentCustomer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    now = utcnow()

    def work(s: Session) -> tuple[int, BaseModel]:
        ack = service.acknowledge_documents(
            s, customer.customer_id, product_code, body.document_version, now
        )
        return 201, AcknowledgementOut(
            product_code=ack.product_code,
            document_version=ack.document_version,
            acknowledged_at=ack.acknowledged_at,
        )

    return idempotent_json(
        request, scope=_scope(customer, "ack"), key=idempotency_key, body=body, work=work
    )


# -------------------------------------------------------------------------- suitability


@router.get(
    "/risk-questionnaire", response_model=QuestionnaireOut, summary="The risk questionnaire"
)
def questionnaire(customer: CurrentCustomer) -> QuestionnaireOut:
    return QuestionnaireOut.current()


@router.post(
    "/risk-assessments",
    status_code=201,
    response_model=AssessmentOut,
    summary="Answer the risk questionnaire (风险测评): level C1-C5 for one year",
)
def assess(
    body: AssessmentCreate,
    request: Request,
    customer: CurrentCustomer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    now = utcnow()

    def work(s: Session) -> tuple[int, BaseModel]:
        row = service.submit_assessment(s, customer.customer_id, dict(body.answers), now)
        return 201, AssessmentOut.of(row)

    return idempotent_json(
        request, scope=_scope(customer, "assess"), key=idempotency_key, body=body, work=work
    )


@router.get("/risk-assessment", response_model=AssessmentOut, summary="My current risk assessment")
def my_assessment(customer: CurrentCustomer, db: DbDep) -> AssessmentOut:
    """404-free: a customer without a valid assessment gets `risk_assessment_required`."""
    row = db.run(lambda s: service.current_assessment(s, customer.customer_id, utcnow()))
    if row is None:
        raise RiskAssessmentRequired()
    return AssessmentOut.of(row)


# ------------------------------------------------------------------------------- orders


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    summary="Buy a product (申购): money moves now, units are confirmed at T+1",
)
def subscribe(
    body: SubscriptionCreate,
    request: Request,
    customer: CurrentCustomer,
    db: DbDep,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    amount: Money = parse_amount(body.amount, body.currency)
    now = utcnow()
    refusal = db.run(
        lambda s: service.screen_purchase(s, customer.customer_id, body.product_code, now)
    )
    if refusal is not None:
        raise refusal
    proof = None
    if service.needs_step_up(amount, body.from_pension):
        if body.challenge_id is None:
            # Start the challenge outside the idempotent unit: the retry that carries the
            # code may then reuse the same Idempotency-Key.
            challenge = db.run(
                lambda s: identity.start_step_up(
                    s, customer.customer_id, service.step_up_binding(body.product_code, amount)
                )
            )
            raise StepUpRequired(
                challenge_id=challenge.challenge_id,
                methods=list(challenge.methods),
                expires_at=challenge.expires_at.isoformat(),
            )
        proof = service.StepUpProof(body.challenge_id, body.sms_code, body.passkey_assertion)

    def work(s: Session) -> tuple[int, BaseModel]:
        order = service.subscribe(
            s,
            customer.customer_id,
            product_code=body.product_code,
            amount=amount,
            account_id=body.account_id,
            in_pension=body.from_pension,
            now=now,
            step_up=proof,
        )
        return 201, OrderOut.of(order, now)

    return idempotent_json(
        request, scope=_scope(customer, "orders"), key=idempotency_key, body=body, work=work
    )


@router.get("/orders", response_model=list[OrderOut], summary="My orders, newest first")
def list_orders(customer: CurrentCustomer, db: DbDep) -> list[OrderOut]:
    now = utcnow()
    return [
        OrderOut.of(o, now) for o in db.run(lambda s: service.list_orders(s, customer.customer_id))
    ]


@router.get("/orders/{order_id}", response_model=OrderOut, summary="One of my orders")
def get_order(order_id: UuidPath, customer: CurrentCustomer, db: DbDep) -> OrderOut:
    order = db.run(lambda s: service.get_order(s, customer.customer_id, order_id))
    return OrderOut.of(order, utcnow())


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    summary="Cancel an order before the 15:00 cut-off of its trade date (撤单)",
)
def cancel_order(
    order_id: UuidPath,
    request: Request,
    customer: CurrentCustomer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    now = utcnow()

    def work(s: Session) -> tuple[int, BaseModel]:
        order = service.cancel_order(s, customer.customer_id, order_id, now)
        return 200, OrderOut.of(order, now)

    return idempotent_json(
        request, scope=_scope(customer, "cancel"), key=idempotency_key, body={}, work=work
    )


# ----------------------------------------------------------------------------- holdings


@router.get("/holdings", response_model=HoldingsOut, summary="My holdings with profit and loss")
def list_holdings(customer: CurrentCustomer, db: DbDep) -> HoldingsOut:
    now = utcnow()

    def work(s: Session) -> HoldingsOut:
        valuations = service.list_holdings(s, customer.customer_id, now)
        transit = sum(
            o.amount_minor for o in service.pending_subscriptions(s, customer.customer_id)
        )
        return HoldingsOut(
            currency="CNY",
            total_market_value=format_minor(sum(v.market_value_minor for v in valuations), "CNY"),
            total_profit=format_minor(sum(v.pnl_minor for v in valuations), "CNY"),
            total_profit_today=format_minor(sum(v.today_pnl_minor for v in valuations), "CNY"),
            in_transit=format_minor(transit, "CNY"),
            holdings=[HoldingOut.of(v) for v in valuations],
        )

    return db.run(work)


@router.get(
    "/holdings/{holding_id}",
    response_model=HoldingDetailOut,
    summary="One holding with its orders and NAV history",
)
def get_holding(holding_id: UuidPath, customer: CurrentCustomer, db: DbDep) -> HoldingDetailOut:
    now = utcnow()
    today = business_date(now)

    def work(s: Session) -> HoldingDetailOut:
        valuation = service.holding_valuation(s, customer.customer_id, holding_id, now)
        orders = service.list_orders(s, customer.customer_id, holding_id=holding_id)
        points = service.nav_history(
            s, valuation.product.code, valuation.holding.start_date - timedelta(days=30), today
        )
        return HoldingDetailOut(
            holding=HoldingOut.of(valuation),
            orders=[OrderOut.of(o, now) for o in orders],
            navs=[NavPointOut(date=d, nav=nav(v) or "") for d, v in points],
        )

    return db.run(work)


@router.post(
    "/holdings/{holding_id}/redemptions",
    status_code=201,
    response_model=OrderOut,
    summary="Redeem units (T+1), withdraw a deposit, or withdraw a term deposit early",
)
def redeem(
    holding_id: UuidPath,
    body: RedemptionCreate,
    request: Request,
    customer: CurrentCustomer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    now = utcnow()
    wanted = service.RedemptionRequest(
        units_e2=_units_e2(body.units), amount_minor=_units_e2(body.amount)
    )

    def work(s: Session) -> tuple[int, BaseModel]:
        order = service.redeem(s, customer.customer_id, holding_id, wanted, now)
        return 201, OrderOut.of(order, now)

    return idempotent_json(
        request, scope=_scope(customer, "redeem"), key=idempotency_key, body=body, work=work
    )


# ------------------------------------------------------------------------------ pension


@router.post(
    "/pension",
    status_code=201,
    response_model=PensionOpenOut,
    summary="Open my personal pension account (个人养老金)",
)
def open_pension(
    request: Request, customer: CurrentCustomer, idempotency_key: IdempotencyKey
) -> JSONResponse:
    now = utcnow()

    def work(s: Session) -> tuple[int, BaseModel]:
        row = pension.open_account(s, customer.customer_id, now)
        return 201, PensionOpenOut(account_id=row.ledger_account_id, opened_at=row.opened_at)

    return idempotent_json(
        request, scope=_scope(customer, "pension"), key=idempotency_key, body={}, work=work
    )


@router.get("/pension", response_model=PensionOut, summary="My personal pension account")
def get_pension(customer: CurrentCustomer, db: DbDep) -> PensionOut:
    summary = db.run(lambda s: pension.summary(s, customer.customer_id, utcnow()))
    return PensionOut.of(summary, pension.ANNUAL_CAP_MINOR)


@router.post(
    "/pension/contributions",
    status_code=201,
    response_model=PensionMovementOut,
    summary="Pay into the pension account (at most 12,000 CNY a calendar year)",
)
def contribute(
    body: ContributionCreate,
    request: Request,
    customer: CurrentCustomer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    amount = parse_amount(body.amount, "CNY")
    now = utcnow()

    def work(s: Session) -> tuple[int, BaseModel]:
        m = pension.contribute(s, customer.customer_id, body.from_account_id, amount, now)
        return 201, _movement(m)

    return idempotent_json(
        request, scope=_scope(customer, "contrib"), key=idempotency_key, body=body, work=work
    )


@router.post(
    "/pension/withdrawals",
    status_code=201,
    response_model=PensionMovementOut,
    summary="Withdraw from the pension account on reaching pension age (3% tax withheld)",
)
def withdraw(
    body: WithdrawalCreate,
    request: Request,
    customer: CurrentCustomer,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    amount = parse_amount(body.amount, "CNY")
    now = utcnow()

    def work(s: Session) -> tuple[int, BaseModel]:
        m = pension.withdraw(s, customer.customer_id, body.to_account_id, amount, body.reason, now)
        return 201, _movement(m)

    return idempotent_json(
        request, scope=_scope(customer, "withdraw"), key=idempotency_key, body=body, work=work
    )


def _movement(m: PensionMovement) -> PensionMovementOut:
    return PensionMovementOut(
        id=m.id,
        kind=m.kind,
        tax_year=m.tax_year,
        amount=format_minor(m.amount_minor, "CNY"),
        tax_withheld=format_minor(m.tax_minor, "CNY"),
        reason=m.reason,
        created_at=m.created_at,
    )


@router.get(
    "/pension/tax-statement",
    response_model=TaxStatementOut,
    summary="The year's tax-deduction statement (个人养老金缴费凭证)",
)
def tax_statement(
    customer: CurrentCustomer,
    db: DbDep,
    year: Annotated[int | None, Query(ge=2022, le=2100)] = None,
) -> TaxStatementOut:
    tax_year = year or business_date(utcnow()).year
    return TaxStatementOut.of(
        db.run(lambda s: pension.tax_statement(s, customer.customer_id, tax_year))
    )


# ------------------------------------------------------------------ check-up and advice


@router.get("/checkup", response_model=CheckupOut, summary="My wealth check-up (财富体检)")
def get_checkup(customer: CurrentCustomer, db: DbDep) -> CheckupOut:
    data = db.run(lambda s: checkup.gather_inputs(s, customer.customer_id, utcnow()))
    return CheckupOut.of(checkup.build_report(data))


@router.get(
    "/checkup.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="My wealth check-up as a PDF",
)
def get_checkup_pdf(customer: CurrentCustomer, db: DbDep, language: LanguageDep) -> Response:
    def work(s: Session) -> tuple[checkup.CheckupInput, str]:
        name = identity.get_customer(s, customer.customer_id).name
        return checkup.gather_inputs(s, customer.customer_id, utcnow()), name

    data, name = db.run(work)
    pdf = report_pdf.render(checkup.build_report(data), name, language)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="wealth-checkup.pdf"'},
    )


@router.get(
    "/model-portfolios",
    response_model=list[ModelPortfolioOut],
    summary="Model portfolios for C1-C5 (estimates from demo NAV histories)",
)
def model_portfolios(customer: CurrentCustomer, db: DbDep) -> list[ModelPortfolioOut]:
    products = db.run(lambda s: catalogue.list_products(s))
    today = business_date(utcnow())
    return [ModelPortfolioOut.of(p) for p in portfolio.model_portfolios(products, today)]


# ------------------------------------------------------------------------------ console


@console_router.get("/products", response_model=list[ProductOut], summary="All products")
def console_products(staff: WealthRead, db: DbDep) -> list[ProductOut]:
    return [
        ProductOut.of(p) for p in db.run(lambda s: catalogue.list_products(s, on_sale_only=False))
    ]


@console_router.post(
    "/products", status_code=201, response_model=ProductOut, summary="Create a product"
)
def console_create_product(
    body: ProductCreate, request: Request, staff: WealthManage, idempotency_key: IdempotencyKey
) -> JSONResponse:
    spec = ProductSpec(
        code=body.code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        kind=body.kind,
        asset_class=body.asset_class,
        risk_level=body.risk_level,
        min_amount_minor=parse_amount(body.min_amount, body.currency).minor,
        currency=body.currency,
        rate_bp=body.rate_bp,
        early_rate_bp=body.early_rate_bp,
        term_days=body.term_days,
        subscription_fee_bp=body.subscription_fee_bp,
        redemption_fee_bp=body.redemption_fee_bp,
        cooling_off_hours=body.cooling_off_hours,
        window_start=body.window_start,
        window_end=body.window_end,
        pension_eligible=body.pension_eligible,
        description_zh=body.description_zh,
        description_en=body.description_en,
        drift_bp=body.drift_bp,
        volatility_bp=body.volatility_bp,
    )

    def work(s: Session) -> tuple[int, BaseModel]:
        product = catalogue.create_product(s, spec)
        audit(s, staff, "wealth.product.create", f"wealth_product:{product.code}", {})
        return 201, ProductOut.of(product)

    return idempotent_json(
        request,
        scope=f"wealth:console:{staff.staff_id}",
        key=idempotency_key,
        body=body,
        work=work,
    )


@console_router.put(
    "/products/{product_code}/status",
    response_model=ProductOut,
    summary="Put a product on sale or suspend it",
)
def console_product_status(
    product_code: ProductCodePath, body: ProductStatusUpdate, staff: WealthManage, db: DbDep
) -> ProductOut:
    def work(s: Session) -> ProductOut:
        product = catalogue.set_status(s, product_code, ProductStatus(body.status))
        audit(
            s,
            staff,
            "wealth.product.status",
            f"wealth_product:{product_code}",
            {"status": body.status},
        )
        return ProductOut.of(product)

    return db.run(work)


@console_router.put(
    "/products/{product_code}/documents",
    response_model=ProductOut,
    summary="Publish a new version of the product documents (customers must read it again)",
)
def console_product_documents(
    product_code: ProductCodePath, body: DocumentsUpdate, staff: WealthManage, db: DbDep
) -> ProductOut:
    def work(s: Session) -> ProductOut:
        product = catalogue.publish_documents(s, product_code, body.document_version)
        audit(
            s,
            staff,
            "wealth.product.documents",
            f"wealth_product:{product_code}",
            {"version": body.document_version},
        )
        return ProductOut.of(product)

    return db.run(work)


@console_router.post(
    "/products/{product_code}/navs",
    status_code=201,
    response_model=NavPointOut,
    summary="Record a NAV by hand (a correction or a late feed)",
)
def console_record_nav(
    product_code: ProductCodePath, body: NavCreate, staff: WealthManage, db: DbDep
) -> NavPointOut:
    whole, frac = body.nav.split(".")
    value = int(whole) * 10_000 + int(frac)
    if value <= 0:
        raise InvalidProduct(reason="a NAV is positive")

    def work(s: Session) -> NavPointOut:
        row = service.record_nav(s, product_code, body.nav_date, value, "console", utcnow())
        audit(s, staff, "wealth.nav.record", f"wealth_product:{product_code}", {"nav": body.nav})
        return NavPointOut(date=row.nav_date, nav=nav(row.nav_e4) or "")

    return db.run(work)


@console_router.get(
    "/suitability-refusals",
    response_model=list[RefusalOut],
    summary="Purchases refused by the suitability rule (evidence for the regulator)",
)
def console_refusals(
    staff: WealthRead,
    db: DbDep,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[RefusalOut]:
    rows = db.run(lambda s: service.list_refusals(s, customer_id))
    return [
        RefusalOut(
            id=r.id,
            customer_id=r.customer_id,
            product_code=r.product_code,
            customer_level=r.customer_level,
            product_risk=r.product_risk,
            reason=r.reason,
            channel=r.channel,
            created_at=r.created_at,
        )
        for r in rows
    ]


@console_router.post(
    "/batch", response_model=BatchOut, summary="Run the daily batch now (NAVs, T+1, interest)"
)
def console_batch(staff: WealthManage, db: DbDep) -> BatchOut:
    result = run_wealth_jobs(db)
    return BatchOut(**result.__dict__)


@console_router.post(
    "/pension/{customer_id}/withdrawals",
    status_code=201,
    response_model=PensionMovementOut,
    summary="Pay a pension withdrawal after checking the customer's documents",
)
def console_pension_withdrawal(
    customer_id: UuidPath,
    body: StaffWithdrawalCreate,
    request: Request,
    staff: WealthManage,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    amount = parse_amount(body.amount, "CNY")
    now = utcnow()

    def work(s: Session) -> tuple[int, BaseModel]:
        m = pension.withdraw(
            s, customer_id, body.to_account_id, amount, body.reason, now, verified_by_staff=True
        )
        audit(
            s,
            staff,
            "wealth.pension.withdrawal",
            f"customer:{customer_id}",
            {"amount": body.amount, "reason": body.reason},
        )
        return 201, _movement(m)

    return idempotent_json(
        request,
        scope=f"wealth:console:{staff.staff_id}",
        key=idempotency_key,
        body=body,
        work=work,
    )


def install(app: FastAPI) -> None:
    """Mount the customer and console routers."""
    app.include_router(router)
    app.include_router(console_router)
