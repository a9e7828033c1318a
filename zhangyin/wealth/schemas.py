"""Wealth request and response types. Amounts and units are decimal strings at this edge;
rates and shares are basis points as integers and as percent strings for display."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from zhangyin.api_types import CurrencyCode, DecimalAmount, Identifier, PlainText, StrictBody
from zhangyin.money import format_minor
from zhangyin.wealth import suitability
from zhangyin.wealth.checkup import CheckupReport
from zhangyin.wealth.models import (
    AssetClass,
    ProductKind,
    RiskAssessment,
    WealthOrder,
    WealthProduct,
)
from zhangyin.wealth.pension import PensionSummary, TaxStatement
from zhangyin.wealth.portfolio import ModelPortfolio
from zhangyin.wealth.service import Valuation

ProductCode = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]


def pct(bp: int | None) -> str | None:
    return None if bp is None else f"{bp / 100:.2f}"


def units(e2: int) -> str:
    return format_minor(e2, "CNY")


def nav(e4: int | None) -> str | None:
    return None if e4 is None else f"{e4 // 10_000}.{e4 % 10_000:04d}"


class DocumentOut(BaseModel):
    kind: str
    title_zh: str
    title_en: str
    url: str


class ProductOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    kind: str
    asset_class: str
    risk_level: str = Field(examples=["R2"])
    risk_level_number: int
    currency: str
    min_amount: str
    rate_percent: str | None = Field(
        description="Deposit rate or a fixed-term product's benchmark (业绩比较基准), not a promise"
    )
    early_withdrawal_rate_percent: str | None
    term_days: int | None
    subscription_fee_percent: str
    redemption_fee_percent: str
    cooling_off_hours: int
    window_start: date | None
    window_end: date | None
    pension_eligible: bool
    status: str
    needs_risk_assessment: bool
    document_version: str
    documents: list[DocumentOut]
    description_zh: str
    description_en: str
    latest_nav: str | None = None
    latest_nav_date: date | None = None

    @classmethod
    def of(cls, p: WealthProduct, latest: tuple[date, int] | None = None) -> ProductOut:
        kind = ProductKind(p.kind)
        return cls(
            code=p.code,
            name_zh=p.name_zh,
            name_en=p.name_en,
            kind=p.kind,
            asset_class=p.asset_class,
            risk_level=f"R{p.risk_level}",
            risk_level_number=p.risk_level,
            currency=p.currency,
            min_amount=format_minor(p.min_amount_minor, p.currency),
            rate_percent=pct(p.rate_bp) if not kind.uses_nav else None,
            early_withdrawal_rate_percent=pct(p.early_rate_bp),
            term_days=p.term_days,
            subscription_fee_percent=pct(p.subscription_fee_bp) or "0.00",
            redemption_fee_percent=pct(p.redemption_fee_bp) or "0.00",
            cooling_off_hours=p.cooling_off_hours,
            window_start=p.window_start,
            window_end=p.window_end,
            pension_eligible=p.pension_eligible,
            status=p.status,
            needs_risk_assessment=not kind.is_deposit,
            document_version=p.document_version,
            documents=[DocumentOut(**d) for d in p.documents],
            description_zh=p.description_zh,
            description_en=p.description_en,
            latest_nav=nav(latest[1]) if latest else None,
            latest_nav_date=latest[0] if latest else None,
        )


class NavPointOut(BaseModel):
    date: date
    nav: str


class NavHistoryOut(BaseModel):
    product_code: str
    points: list[NavPointOut]


class OptionOut(BaseModel):
    key: str
    zh: str
    en: str


class QuestionOut(BaseModel):
    key: str
    zh: str
    en: str
    options: list[OptionOut]


class QuestionnaireOut(BaseModel):
    version: str
    questions: list[QuestionOut]

    @classmethod
    def current(cls) -> QuestionnaireOut:
        return cls(
            version=suitability.QUESTIONNAIRE_VERSION,
            questions=[
                QuestionOut(
                    key=q.key,
                    zh=q.zh,
                    en=q.en,
                    options=[OptionOut(key=o.key, zh=o.zh, en=o.en) for o in q.options],
                )
                for q in suitability.QUESTIONS
            ],
        )


class AssessmentCreate(StrictBody):
    answers: dict[
        Annotated[str, Field(max_length=20, pattern=r"^[a-z_]+$")],
        Annotated[str, Field(pattern=r"^[A-D]$")],
    ] = Field(max_length=20, examples=[{"age": "D", "loss": "B"}])


class AssessmentOut(BaseModel):
    level: str = Field(examples=["C3"])
    level_number: int
    level_name_zh: str
    level_name_en: str
    score: int
    assessed_at: datetime
    expires_at: datetime
    may_buy_up_to: str = Field(examples=["R3"])

    @classmethod
    def of(cls, a: RiskAssessment) -> AssessmentOut:
        zh, en = suitability.LEVEL_NAMES[a.level]
        return cls(
            level=f"C{a.level}",
            level_number=a.level,
            level_name_zh=zh,
            level_name_en=en,
            score=a.score,
            assessed_at=a.assessed_at,
            expires_at=a.expires_at,
            may_buy_up_to=f"R{a.level}",
        )


class AcknowledgementCreate(StrictBody):
    document_version: Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[\w.-]+$")]


class AcknowledgementOut(BaseModel):
    product_code: str
    document_version: str
    acknowledged_at: datetime


class SubscriptionCreate(StrictBody):
    product_code: ProductCode
    amount: DecimalAmount
    currency: CurrencyCode = "CNY"
    account_id: Identifier | None = Field(
        default=None, description="The paying account; leave out when paying from the pension"
    )
    from_pension: StrictBool = False
    challenge_id: Annotated[str, Field(pattern=r"^[0-9a-f-]{36}$")] | None = Field(
        default=None,
        description="Purchases of 50,000.00 or more: the step-up challenge from the first try",
    )
    sms_code: Annotated[str, Field(pattern=r"^[0-9]{6}$")] | None = None
    passkey_assertion: dict[str, Any] | None = Field(default=None, max_length=20)


class RedemptionCreate(StrictBody):
    units: DecimalAmount | None = Field(
        default=None, description="NAV products: units to redeem (two decimals); default all"
    )
    amount: DecimalAmount | None = Field(
        default=None, description="Demand deposits: amount to withdraw; default all"
    )


class OrderOut(BaseModel):
    id: str
    product_code: str
    side: str
    status: str
    from_pension: bool
    account_id: int
    currency: str
    amount: str
    fee: str
    units: str
    nav: str | None
    holding_id: str | None
    trade_date: date
    confirm_date: date
    cancel_deadline: datetime | None
    cooling_off_until: datetime | None
    cancellable: bool
    created_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None

    @classmethod
    def of(cls, o: WealthOrder, now: datetime) -> OrderOut:
        deadlines = [d for d in (o.cancel_deadline, o.cooling_off_until) if d is not None]
        return cls(
            id=o.id,
            product_code=o.product_code,
            side=o.side,
            status=o.status,
            from_pension=o.in_pension,
            account_id=o.account_id,
            currency=o.currency,
            amount=format_minor(o.amount_minor, o.currency),
            fee=format_minor(o.fee_minor, o.currency),
            units=units(o.units_e2),
            nav=nav(o.nav_e4),
            holding_id=o.holding_id,
            trade_date=o.trade_date,
            confirm_date=o.confirm_date,
            cancel_deadline=o.cancel_deadline,
            cooling_off_until=o.cooling_off_until,
            cancellable=o.status == "pending" and bool(deadlines) and now < max(deadlines),
            created_at=o.created_at,
            confirmed_at=o.confirmed_at,
            cancelled_at=o.cancelled_at,
        )


class HoldingOut(BaseModel):
    id: str
    product_code: str
    product_name_zh: str
    product_name_en: str
    kind: str
    asset_class: str
    risk_level: str
    status: str
    from_pension: bool
    currency: str
    units: str
    frozen_units: str
    principal: str
    cost: str
    market_value: str
    accrued_interest: str
    profit: str = Field(description="Since purchase: unrealised plus realised (收益)")
    profit_today: str
    annualised_return_percent: str | None = Field(
        description="Simple annualised return since purchase"
    )
    value_is_estimate: bool
    nav: str | None
    nav_date: date | None
    start_date: date
    maturity_date: date | None
    payout_account_id: int

    @classmethod
    def of(cls, v: Valuation) -> HoldingOut:
        h, p = v.holding, v.product
        c = h.currency
        return cls(
            id=h.id,
            product_code=p.code,
            product_name_zh=p.name_zh,
            product_name_en=p.name_en,
            kind=p.kind,
            asset_class=p.asset_class,
            risk_level=f"R{p.risk_level}",
            status=h.status,
            from_pension=h.in_pension,
            currency=c,
            units=units(h.units_e2),
            frozen_units=units(h.frozen_units_e2),
            principal=format_minor(h.principal_minor, c),
            cost=format_minor(h.cost_minor, c),
            market_value=format_minor(v.market_value_minor, c),
            accrued_interest=format_minor(v.accrued_minor, c),
            profit=format_minor(v.pnl_minor, c),
            profit_today=format_minor(v.today_pnl_minor, c),
            annualised_return_percent=pct(v.annualised_bp),
            value_is_estimate=v.estimated,
            nav=nav(v.nav_e4),
            nav_date=v.nav_date,
            start_date=h.start_date,
            maturity_date=h.maturity_date,
            payout_account_id=h.payout_account_id,
        )


class HoldingsOut(BaseModel):
    currency: str
    total_market_value: str
    total_profit: str
    total_profit_today: str
    in_transit: str = Field(description="Subscriptions paid and not yet confirmed (在途)")
    holdings: list[HoldingOut]


class HoldingDetailOut(BaseModel):
    holding: HoldingOut
    orders: list[OrderOut]
    navs: list[NavPointOut]


class PensionOpenOut(BaseModel):
    account_id: int
    opened_at: datetime


class PensionOut(BaseModel):
    account_id: int
    opened_at: datetime
    balance: str
    available: str
    tax_year: int
    annual_cap: str
    contributed_this_year: str
    remaining_this_year: str

    @classmethod
    def of(cls, s: PensionSummary, cap_minor: int) -> PensionOut:
        return cls(
            account_id=s.account.ledger_account_id,
            opened_at=s.account.opened_at,
            balance=format_minor(s.balance_minor, "CNY"),
            available=format_minor(s.available_minor, "CNY"),
            tax_year=s.tax_year,
            annual_cap=format_minor(cap_minor, "CNY"),
            contributed_this_year=format_minor(s.contributed_minor, "CNY"),
            remaining_this_year=format_minor(s.remaining_minor, "CNY"),
        )


class ContributionCreate(StrictBody):
    from_account_id: Identifier
    amount: DecimalAmount


class WithdrawalCreate(StrictBody):
    to_account_id: Identifier
    amount: DecimalAmount
    reason: Literal["retirement"] = "retirement"


class StaffWithdrawalCreate(StrictBody):
    to_account_id: Identifier
    amount: DecimalAmount
    reason: Literal["retirement", "disability", "emigration"]


class PensionMovementOut(BaseModel):
    id: int
    kind: str
    tax_year: int
    amount: str
    tax_withheld: str
    reason: str | None
    created_at: datetime


class TaxStatementOut(BaseModel):
    statement_number: str
    tax_year: int
    contributed: str
    deductible: str = Field(description="Deductible from taxable income (at most 12,000.00)")
    withdrawn: str
    tax_withheld: str
    contributions: list[PensionMovementOut]

    @classmethod
    def of(cls, t: TaxStatement) -> TaxStatementOut:
        return cls(
            statement_number=t.statement_number,
            tax_year=t.tax_year,
            contributed=format_minor(t.contributed_minor, "CNY"),
            deductible=format_minor(t.deductible_minor, "CNY"),
            withdrawn=format_minor(t.withdrawn_minor, "CNY"),
            tax_withheld=format_minor(t.tax_withheld_minor, "CNY"),
            contributions=[
                PensionMovementOut(
                    id=m.id,
                    kind=m.kind,
                    tax_year=m.tax_year,
                    amount=format_minor(m.amount_minor, "CNY"),
                    tax_withheld=format_minor(m.tax_minor, "CNY"),
                    reason=m.reason,
                    created_at=m.created_at,
                )
                for m in t.contributions
            ],
        )


class AllocationLineOut(BaseModel):
    asset_class: str
    value: str
    share_percent: str
    target_percent: str
    deviation_percent: str


class SuggestionOut(BaseModel):
    code: str
    title_zh: str
    title_en: str
    detail_zh: str
    detail_en: str
    product_code: str | None
    amount: str | None


class CheckupOut(BaseModel):
    as_of: date
    score: int
    total: str
    risk_level: str | None
    age: int
    allocation: list[AllocationLineOut]
    by_risk_level: dict[str, str]
    largest_position: str | None
    largest_share_percent: str
    concentrated: bool
    liquid: str
    monthly_spending: str
    months_covered: str | None
    idle_cash: str
    maturing: list[dict[str, Any]]
    above_risk_level: list[str]
    suggestions: list[SuggestionOut]

    @classmethod
    def of(cls, r: CheckupReport) -> CheckupOut:
        def m(minor: int) -> str:
            return format_minor(minor, "CNY")

        return cls(
            as_of=r.as_of,
            score=r.score,
            total=m(r.total_minor),
            risk_level=f"C{r.risk_level}" if r.risk_level else None,
            age=r.age,
            allocation=[
                AllocationLineOut(
                    asset_class=line.asset_class,
                    value=m(line.value_minor),
                    share_percent=pct(line.share_bp) or "0.00",
                    target_percent=pct(line.target_bp) or "0.00",
                    deviation_percent=pct(line.deviation_bp) or "0.00",
                )
                for line in r.allocation
            ],
            by_risk_level={f"R{k}": m(v) for k, v in r.by_risk.items()},
            largest_position=r.largest_position,
            largest_share_percent=pct(r.largest_share_bp) or "0.00",
            concentrated=r.concentrated,
            liquid=m(r.liquid_minor),
            monthly_spending=m(r.monthly_spending_minor),
            months_covered=(
                f"{r.months_covered_e1 / 10:.1f}" if r.months_covered_e1 is not None else None
            ),
            idle_cash=m(r.idle_cash_minor),
            maturing=[
                {
                    "product_code": p.product_code,
                    "name": p.name,
                    "value": m(p.value_minor),
                    "maturity_date": p.maturity_date.isoformat() if p.maturity_date else None,
                }
                for p in r.maturing
            ],
            above_risk_level=[p.product_code or p.name for p in r.above_level],
            suggestions=[
                SuggestionOut(
                    code=s.code,
                    title_zh=s.title_zh,
                    title_en=s.title_en,
                    detail_zh=s.detail_zh,
                    detail_en=s.detail_en,
                    product_code=s.product_code,
                    amount=m(s.amount_minor) if s.amount_minor is not None else None,
                )
                for s in r.suggestions
            ],
        )


class WeightOut(BaseModel):
    product_code: str
    name: str
    risk_level: str
    weight_percent: str


class ModelPortfolioOut(BaseModel):
    risk_level: str
    weights: list[WeightOut]
    expected_return_percent: str
    volatility_percent: str
    max_drawdown_percent: str
    bad_year_return_percent: str = Field(description="A 1-in-20 bad year: expected - 1.645 vol")
    history_start: date | None
    history_end: date | None
    observations: int
    disclaimer_zh: str = "以上为基于历史（演示）净值的估算，不代表未来收益，投资有风险。"
    disclaimer_en: str = (
        "Estimates from past (demo) NAVs; not a forecast or a promise. Investments carry risk."
    )

    @classmethod
    def of(cls, p: ModelPortfolio) -> ModelPortfolioOut:
        return cls(
            risk_level=f"C{p.level}",
            weights=[
                WeightOut(
                    product_code=w.code,
                    name=w.name,
                    risk_level=f"R{w.risk_level}",
                    weight_percent=pct(w.weight_bp) or "0.00",
                )
                for w in p.weights
            ],
            expected_return_percent=pct(p.expected_return_bp) or "0.00",
            volatility_percent=pct(p.volatility_bp) or "0.00",
            max_drawdown_percent=pct(p.max_drawdown_bp) or "0.00",
            bad_year_return_percent=pct(p.bad_year_bp) or "0.00",
            history_start=p.window_start,
            history_end=p.window_end,
            observations=p.observations,
        )


# ------------------------------------------------------------------------------ console


class ProductCreate(StrictBody):
    code: ProductCode
    name_zh: Annotated[PlainText, Field(min_length=1, max_length=100)]
    name_en: Annotated[PlainText, Field(min_length=1, max_length=100)]
    kind: ProductKind
    asset_class: AssetClass
    risk_level: Annotated[StrictInt, Field(ge=1, le=5)]
    min_amount: DecimalAmount
    currency: CurrencyCode = "CNY"
    rate_bp: Annotated[StrictInt, Field(ge=0, le=5000)] = 0
    early_rate_bp: Annotated[StrictInt, Field(ge=0, le=5000)] | None = None
    term_days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None
    subscription_fee_bp: Annotated[StrictInt, Field(ge=0, le=5000)] = 0
    redemption_fee_bp: Annotated[StrictInt, Field(ge=0, le=5000)] = 0
    cooling_off_hours: Annotated[StrictInt, Field(ge=0, le=720)] = 0
    window_start: date | None = None
    window_end: date | None = None
    pension_eligible: StrictBool = False
    description_zh: Annotated[PlainText, Field(max_length=500)] = ""
    description_en: Annotated[PlainText, Field(max_length=500)] = ""
    drift_bp: Annotated[StrictInt, Field(ge=-5000, le=5000)] = 0
    volatility_bp: Annotated[StrictInt, Field(ge=0, le=10000)] = 0


class ProductStatusUpdate(StrictBody):
    status: Literal["on_sale", "suspended"]


class DocumentsUpdate(StrictBody):
    document_version: Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[\w.-]+$")]


class NavCreate(StrictBody):
    nav_date: date
    nav: Annotated[str, Field(pattern=r"^\d{1,4}\.\d{4}$", examples=["1.0234"])]


class RefusalOut(BaseModel):
    id: int
    customer_id: str
    product_code: str
    customer_level: int | None
    product_risk: int
    reason: str
    channel: str
    created_at: datetime


class BatchOut(BaseModel):
    navs_published: int
    orders_confirmed: int
    holdings_accrued: int
    holdings_matured: int
