"""The product catalogue: creating, listing and reading products, and the demo shelf.

Each product gets its own settlement account in the ledger (code
`wealth:product:<code>`): subscriptions pay into it and redemptions and
maturities pay out of it, so the product's money is always visible in the books.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin import events
from zhangyin.clock import business_date, utcnow
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import check_currency
from zhangyin.wealth.errors import InvalidProduct, ProductExists, ProductNotFound
from zhangyin.wealth.models import AssetClass, ProductKind, ProductStatus, WealthProduct


@dataclass(frozen=True)
class ProductSpec:
    code: str
    name_zh: str
    name_en: str
    kind: ProductKind
    asset_class: AssetClass
    risk_level: int
    min_amount_minor: int
    currency: str = "CNY"
    rate_bp: int = 0
    early_rate_bp: int | None = None
    term_days: int | None = None
    subscription_fee_bp: int = 0
    redemption_fee_bp: int = 0
    cooling_off_hours: int = 0
    window_start: date | None = None
    window_end: date | None = None
    pension_eligible: bool = False
    description_zh: str = ""
    description_en: str = ""
    drift_bp: int = 0
    volatility_bp: int = 0
    document_version: str = "v1"
    documents: list[dict[str, Any]] = field(default_factory=list)


def settlement_code(product_code: str) -> str:
    return f"wealth:product:{product_code}"


def _validate(spec: ProductSpec) -> None:
    def refuse(reason: str) -> None:
        raise InvalidProduct(reason=reason)

    check_currency(spec.currency)
    if not 1 <= spec.risk_level <= 5:
        refuse("risk_level must be 1..5")
    if spec.min_amount_minor <= 0:
        refuse("min_amount must be positive")
    if spec.kind == ProductKind.TERM_DEPOSIT and (
        not spec.term_days or spec.term_days % 30 or spec.rate_bp <= 0
    ):
        refuse("a term deposit needs a rate and a term of whole months (30 days each)")
    if spec.kind == ProductKind.WMP_FIXED and (
        not spec.term_days or spec.window_start is None or spec.window_end is None
    ):
        refuse("a fixed-term product needs a term and a subscription window")
    if spec.window_start and spec.window_end and spec.window_start > spec.window_end:
        refuse("the subscription window ends before it starts")
    if spec.kind.uses_nav and spec.term_days:
        refuse("a NAV product has no term")
    if spec.kind == ProductKind.PENSION_FUND and not spec.pension_eligible:
        refuse("a pension fund is on the pension list")
    for bp in (spec.rate_bp, spec.subscription_fee_bp, spec.redemption_fee_bp):
        if not 0 <= bp <= 5000:
            refuse("rates and fees are 0..5000 basis points")


def default_documents(code: str, version: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": kind,
            "title_zh": zh,
            "title_en": en,
            "url": f"/v1/wealth/products/{code}/documents/{kind}-{version}.pdf",
        }
        for kind, zh, en in (
            ("prospectus", "产品说明书", "Product prospectus"),
            ("risk_disclosure", "风险揭示书", "Risk disclosure"),
            ("sales_agreement", "销售协议书", "Sales agreement"),
        )
    ]


def create_product(session: Session, spec: ProductSpec) -> WealthProduct:
    _validate(spec)
    if session.get(WealthProduct, spec.code) is not None:
        raise ProductExists()
    account = ledger.open_account(
        session,
        kind=AccountKind.BANK_SETTLEMENT,
        currency=spec.currency,
        name=f"Wealth settlement {spec.code}",
        code=settlement_code(spec.code),
    )
    now = utcnow()
    product = WealthProduct(
        code=spec.code,
        name_zh=spec.name_zh,
        name_en=spec.name_en,
        kind=spec.kind.value,
        asset_class=spec.asset_class.value,
        risk_level=spec.risk_level,
        currency=spec.currency,
        min_amount_minor=spec.min_amount_minor,
        rate_bp=spec.rate_bp,
        early_rate_bp=spec.early_rate_bp,
        term_days=spec.term_days,
        subscription_fee_bp=spec.subscription_fee_bp,
        redemption_fee_bp=spec.redemption_fee_bp,
        cooling_off_hours=spec.cooling_off_hours,
        window_start=spec.window_start,
        window_end=spec.window_end,
        pension_eligible=spec.pension_eligible,
        status=ProductStatus.ON_SALE.value,
        document_version=spec.document_version,
        documents=spec.documents or default_documents(spec.code, spec.document_version),
        description_zh=spec.description_zh,
        description_en=spec.description_en,
        settlement_account_id=account.id,
        drift_bp=spec.drift_bp,
        volatility_bp=spec.volatility_bp,
        created_at=now,
        updated_at=now,
    )
    session.add(product)
    session.flush()
    events.emit(
        session,
        "wealth.product.created",
        "wealth_product",
        spec.code,
        {"code": spec.code, "kind": spec.kind.value, "risk_level": spec.risk_level},
    )
    return product


def get_product(session: Session, code: str) -> WealthProduct:
    product = session.get(WealthProduct, code)
    if product is None:
        raise ProductNotFound()
    return product


def list_products(
    session: Session,
    *,
    kind: ProductKind | None = None,
    pension: bool | None = None,
    on_sale_only: bool = True,
) -> list[WealthProduct]:
    query = select(WealthProduct).order_by(WealthProduct.risk_level, WealthProduct.code)
    if kind is not None:
        query = query.where(WealthProduct.kind == kind.value)
    if pension is not None:
        query = query.where(WealthProduct.pension_eligible == pension)
    if on_sale_only:
        query = query.where(WealthProduct.status == ProductStatus.ON_SALE.value)
    return list(session.scalars(query).all())


def set_status(session: Session, code: str, status: ProductStatus) -> WealthProduct:
    product = get_product(session, code)
    product.status = status.value
    product.updated_at = utcnow()
    events.emit(session, f"wealth.product.{status.value}", "wealth_product", code, {"code": code})
    return product


def publish_documents(session: Session, code: str, version: str) -> WealthProduct:
    """New documents: every customer must read them again before the next purchase."""
    product = get_product(session, code)
    product.document_version = version
    product.documents = default_documents(code, version)
    product.updated_at = utcnow()
    return product


def demo_specs(today: date) -> list[ProductSpec]:
    """The demo shelf: deposits by term, wealth products, funds R1-R5 and pension products."""
    term_rates = [(3, 65), (6, 85), (12, 95), (24, 105), (36, 125), (60, 130)]
    specs = [
        ProductSpec(
            "DD-SAVE",
            "活期储蓄",
            "Demand savings",
            ProductKind.DEMAND_DEPOSIT,
            AssetClass.CASH,
            1,
            100,
            rate_bp=5,
            description_zh="随存随取，按日计息，按季结息（每季末月 20 日）",
            description_en="Withdraw any time; interest accrues daily, paid quarterly on the 20th",
        ),
        *[
            ProductSpec(
                f"TD-{months}M",
                f"整存整取 {months} 个月",
                f"Term deposit {months} months",
                ProductKind.TERM_DEPOSIT,
                AssetClass.DEPOSIT,
                1,
                5_000,
                rate_bp=rate,
                early_rate_bp=5,
                term_days=months * 30,
                description_zh="提前支取按活期利率计息",
                description_en="Early withdrawal earns the demand rate",
            )
            for months, rate in term_rates
        ],
        ProductSpec(
            "WM-180",
            "稳健添利 180 天",
            "Steady Income 180 days",
            ProductKind.WMP_FIXED,
            AssetClass.FIXED_INCOME,
            2,
            100_000,
            rate_bp=260,
            term_days=180,
            window_start=today - timedelta(days=3),
            window_end=today + timedelta(days=10),
            description_zh="业绩比较基准 2.60%（年化），不代表实际收益",
            description_en="Performance benchmark 2.60% a year; not a promised return",
        ),
        ProductSpec(
            "WM-365P",
            "增利精选一年期（私募）",
            "Select Income 1 year (private)",
            ProductKind.WMP_FIXED,
            AssetClass.FIXED_INCOME,
            3,
            1_000_000,
            rate_bp=340,
            term_days=365,
            cooling_off_hours=24,
            window_start=today - timedelta(days=1),
            window_end=today + timedelta(days=14),
            description_zh="私募产品，投资冷静期 24 小时，冷静期内可撤单",
            description_en="Private product: 24-hour cooling-off during which you may cancel",
        ),
        ProductSpec(
            "WM-DAILY",
            "天天利开放式理财",
            "Daily Open wealth product",
            ProductKind.WMP_OPEN,
            AssetClass.FIXED_INCOME,
            1,
            100,
            drift_bp=210,
            volatility_bp=40,
        ),
        ProductSpec(
            "F-BOND",
            "掌银纯债债券 A",
            "Zhangyin Pure Bond A",
            ProductKind.FUND,
            AssetClass.FIXED_INCOME,
            2,
            1_000,
            subscription_fee_bp=60,
            redemption_fee_bp=10,
            drift_bp=340,
            volatility_bp=220,
        ),
        ProductSpec(
            "F-BAL",
            "掌银平衡混合 A",
            "Zhangyin Balanced Hybrid A",
            ProductKind.FUND,
            AssetClass.EQUITY,
            3,
            1_000,
            subscription_fee_bp=150,
            redemption_fee_bp=50,
            drift_bp=560,
            volatility_bp=1200,
        ),
        ProductSpec(
            "F-CSI300",
            "沪深 300 指数增强 A",
            "CSI 300 Enhanced Index A",
            ProductKind.FUND,
            AssetClass.EQUITY,
            4,
            1_000,
            subscription_fee_bp=120,
            redemption_fee_bp=50,
            drift_bp=700,
            volatility_bp=2200,
        ),
        ProductSpec(
            "F-TECH",
            "科技创新成长 A",
            "Tech Innovation Growth A",
            ProductKind.FUND,
            AssetClass.EQUITY,
            5,
            1_000,
            subscription_fee_bp=150,
            redemption_fee_bp=50,
            drift_bp=900,
            volatility_bp=3300,
        ),
        ProductSpec(
            "P-TDF2045",
            "养老目标日期 2045 三年持有 Y",
            "Target Date 2045 (3-year hold) Y",
            ProductKind.PENSION_FUND,
            AssetClass.EQUITY,
            3,
            100,
            pension_eligible=True,
            drift_bp=520,
            volatility_bp=1000,
        ),
        ProductSpec(
            "P-BOND",
            "养老稳健债券 Y",
            "Pension Steady Bond Y",
            ProductKind.PENSION_FUND,
            AssetClass.FIXED_INCOME,
            2,
            100,
            pension_eligible=True,
            drift_bp=320,
            volatility_bp=200,
        ),
        ProductSpec(
            "PD-1Y",
            "个人养老金储蓄 1 年",
            "Pension savings 1 year",
            ProductKind.TERM_DEPOSIT,
            AssetClass.DEPOSIT,
            1,
            100,
            rate_bp=120,
            early_rate_bp=5,
            term_days=360,
            pension_eligible=True,
        ),
    ]
    return specs


def install_demo_products(session: Session) -> int:
    """Create the demo shelf's missing products; returns how many were created."""
    today = business_date(utcnow())
    created = 0
    for spec in demo_specs(today):
        if session.get(WealthProduct, spec.code) is None:
            create_product(session, spec)
            created += 1
    return created
