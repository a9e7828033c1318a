"""Wealth check-up (财富体检): reads a customer's holdings and cash flow, writes a report.

`build_report` is a pure function of `CheckupInput`, so a test can hand-make a
portfolio and work out the right answer; `gather_inputs` reads the customer's
accounts, holdings and last 90 days of spending from the ledger and wealth
services. Percentages are integer basis points (1% = 100); money is minor units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from zhangyin.clock import business_date
from zhangyin.identity import service as identity
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.wealth import catalogue, service
from zhangyin.wealth.models import AssetClass, PensionAccount, ProductKind

CLASSES = tuple(c.value for c in AssetClass)

#: Target allocation (percent) by risk level C1..C5, before the age rule.
TARGETS: dict[int, dict[str, int]] = {
    1: {"cash": 20, "deposit": 50, "fixed_income": 30, "equity": 0},
    2: {"cash": 15, "deposit": 35, "fixed_income": 40, "equity": 10},
    3: {"cash": 10, "deposit": 20, "fixed_income": 40, "equity": 30},
    4: {"cash": 10, "deposit": 10, "fixed_income": 30, "equity": 50},
    5: {"cash": 5, "deposit": 5, "fixed_income": 25, "equity": 65},
}
CONCENTRATION_LIMIT_BP = 4_000  # one product above 40% of financial assets
MIN_RESERVE_MONTHS = 3
IDLE_RESERVE_MONTHS = 6
MATURING_WITHIN = timedelta(days=30)
EQUITY_BAND_BP = 1_000  # ten percentage points either side of the target
MIN_IDLE_MINOR = 100_000  # idle cash below 1,000 CNY is not worth a suggestion
SPENDING_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Position:
    name: str
    asset_class: str
    risk_level: int
    value_minor: int
    liquid: bool
    product_code: str | None = None
    maturity_date: date | None = None


@dataclass(frozen=True)
class Candidate:
    """A product the report may suggest."""

    code: str
    name: str
    asset_class: str
    risk_level: int
    yield_bp: int  # rate, expected yield or demo drift
    is_deposit: bool


@dataclass(frozen=True)
class CheckupInput:
    today: date
    age: int
    risk_level: int | None  # None: no valid assessment
    cash_minor: int
    positions: list[Position]
    monthly_spending_minor: int
    candidates: list[Candidate] = field(default_factory=list)
    pension_remaining_minor: int | None = None


@dataclass(frozen=True)
class Suggestion:
    code: str
    title_zh: str
    title_en: str
    detail_zh: str
    detail_en: str
    product_code: str | None = None
    amount_minor: int | None = None


@dataclass(frozen=True)
class ClassLine:
    asset_class: str
    value_minor: int
    share_bp: int
    target_bp: int
    deviation_bp: int


@dataclass(frozen=True)
class CheckupReport:
    as_of: date
    total_minor: int
    risk_level: int | None
    age: int
    allocation: list[ClassLine]
    by_risk: dict[int, int]
    largest_position: str | None
    largest_share_bp: int
    concentrated: bool
    liquid_minor: int
    monthly_spending_minor: int
    months_covered_e1: int | None  # tenths of a month; None when there is no spending
    idle_cash_minor: int
    maturing: list[Position]
    above_level: list[Position]
    suggestions: list[Suggestion]
    score: int


def target_allocation(level: int | None, age: int) -> dict[str, int]:
    """The target in percent: the level's mix, with equity capped at 100 - age (the rest
    goes to fixed income)."""
    base = dict(TARGETS[level or 1])
    cap = max(0, min(100, 100 - age))
    if base["equity"] > cap:
        base["fixed_income"] += base["equity"] - cap
        base["equity"] = cap
    return base


def _share(part: int, total: int) -> int:
    return (part * 10_000 + total // 2) // total if total > 0 else 0


def _yuan(minor: int) -> str:
    return f"{minor // 100:,}"


def build_report(data: CheckupInput) -> CheckupReport:
    cash_position = Position("活期/现金", "cash", 1, data.cash_minor, True)
    everything = [cash_position, *data.positions]
    total = sum(p.value_minor for p in everything)
    target = target_allocation(data.risk_level, data.age)
    by_class = {c: 0 for c in CLASSES}
    by_risk = {r: 0 for r in range(1, 6)}
    for p in everything:
        by_class[p.asset_class] += p.value_minor
        by_risk[p.risk_level] += p.value_minor
    allocation = [
        ClassLine(
            c,
            by_class[c],
            _share(by_class[c], total),
            target[c] * 100,
            _share(by_class[c], total) - target[c] * 100,
        )
        for c in CLASSES
    ]
    largest = max(data.positions, key=lambda p: p.value_minor, default=None)
    largest_share = _share(largest.value_minor, total) if largest else 0
    concentrated = largest_share > CONCENTRATION_LIMIT_BP
    liquid = sum(p.value_minor for p in everything if p.liquid)
    spending = data.monthly_spending_minor
    months_e1 = (liquid * 10 // spending) if spending > 0 else None
    idle = max(0, data.cash_minor - IDLE_RESERVE_MONTHS * spending)
    maturing = [
        p
        for p in data.positions
        if p.maturity_date is not None and p.maturity_date - data.today <= MATURING_WITHIN
    ]
    level = data.risk_level
    above = [p for p in data.positions if level is not None and p.risk_level > level]
    equity_dev = next(line.deviation_bp for line in allocation if line.asset_class == "equity")

    suggestions: list[Suggestion] = []
    if level is None:
        suggestions.append(
            Suggestion(
                "take_assessment",
                "完成风险测评",
                "Take the risk questionnaire",
                "您还没有有效的风险测评结果，完成后才能获得与您匹配的投资建议。",
                "You have no valid risk assessment; take it to get advice that suits you.",
            )
        )
    if above:
        suggestions.append(
            Suggestion(
                "review_above_level",
                "检查超出风险承受能力的持仓",
                "Review holdings above your risk level",
                f"有 {len(above)} 项持仓风险等级高于您当前的 C{level}，建议评估是否继续持有。",
                f"{len(above)} holding(s) are riskier than your level C{level}; "
                "consider whether to keep them.",
            )
        )
    if months_e1 is not None and months_e1 < MIN_RESERVE_MONTHS * 10:
        short = MIN_RESERVE_MONTHS * spending - liquid
        suggestions.append(
            Suggestion(
                "build_reserve",
                "补足应急资金",
                "Build an emergency reserve",
                f"流动资产仅够 {months_e1 / 10:.1f} 个月支出，建议保留至少 3 个月，"
                f"约需补充 {_yuan(short)} 元。",
                f"Liquid assets cover {months_e1 / 10:.1f} months of spending; keep at least "
                f"3 months (about {_yuan(short)} CNY more).",
                amount_minor=short,
            )
        )
    if idle >= MIN_IDLE_MINOR:
        pick = _best(data.candidates, level, ("deposit", "fixed_income"), idle)
        suggestions.append(
            Suggestion(
                "deploy_idle_cash",
                "闲置资金可以更好地安排",
                "Put idle cash to work",
                f"活期中约 {_yuan(idle)} 元超过 6 个月支出，"
                + (f"可考虑「{pick.name}」。" if pick else "可考虑定期存款。"),
                f"About {_yuan(idle)} CNY in your current account is beyond 6 months of "
                "spending; " + (f"consider {pick.code}." if pick else "consider a term deposit."),
                product_code=pick.code if pick else None,
                amount_minor=idle,
            )
        )
    if concentrated and largest is not None:
        suggestions.append(
            Suggestion(
                "diversify",
                "分散投资",
                "Diversify",
                f"「{largest.name}」占金融资产 {largest_share / 100:.1f}%，"
                "建议单一产品不超过 40%。",
                f"{largest.name} is {largest_share / 100:.1f}% of your financial assets; "
                "keep any one product under 40%.",
                product_code=largest.product_code,
            )
        )
    if equity_dev > EQUITY_BAND_BP:
        suggestions.append(
            Suggestion(
                "reduce_equity",
                "降低权益类占比",
                "Reduce equity",
                f"权益类资产高于目标 {equity_dev / 100:.1f} 个百分点，建议逐步调整。",
                f"Equity is {equity_dev / 100:.1f} points above your target; rebalance gradually.",
            )
        )
    elif equity_dev < -EQUITY_BAND_BP and level is not None and level >= 2:
        pick = _best(data.candidates, level, ("equity",), None)
        if pick is not None:
            suggestions.append(
                Suggestion(
                    "add_equity",
                    "适当增加权益类配置",
                    "Add some equity",
                    f"权益类低于目标 {-equity_dev / 100:.1f} 个百分点，可考虑定投「{pick.name}」。",
                    f"Equity is {-equity_dev / 100:.1f} points below target; consider a regular "
                    f"investment in {pick.code}.",
                    product_code=pick.code,
                )
            )
    if maturing:
        first = min(maturing, key=lambda p: p.maturity_date or data.today)
        suggestions.append(
            Suggestion(
                "plan_maturity",
                "到期资金提前规划",
                "Plan for maturing money",
                f"{len(maturing)} 项产品将在 30 天内到期（最早 {first.maturity_date}），"
                "到期资金将回到账户，可提前规划。",
                f"{len(maturing)} product(s) mature within 30 days (first on "
                f"{first.maturity_date}); the money returns to your account.",
                product_code=first.product_code,
            )
        )
    if data.pension_remaining_minor:
        suggestions.append(
            Suggestion(
                "pension_contribution",
                "个人养老金节税",
                "Save tax with the personal pension",
                f"今年个人养老金还可缴存 {_yuan(data.pension_remaining_minor)} 元，"
                "可在个税前扣除。",
                f"You can still pay {_yuan(data.pension_remaining_minor)} CNY into your personal "
                "pension this year and deduct it from taxable income.",
                amount_minor=data.pension_remaining_minor,
            )
        )
    fillers = [
        Suggestion(
            "annual_review",
            "每年检视一次资产配置",
            "Review your allocation once a year",
            "市场和家庭情况会变化，建议每年做一次财富体检。",
            "Markets and family needs change; run a check-up once a year.",
        ),
        Suggestion(
            "reassess_yearly",
            "风险测评每年更新",
            "Retake the questionnaire yearly",
            "风险测评有效期一年，情况变化时请及时重新测评。",
            "An assessment is valid for one year; retake it when your situation changes.",
        ),
        Suggestion(
            "beware_promises",
            "警惕保本高收益承诺",
            "Beware of guaranteed high returns",
            "理财产品的业绩比较基准不代表实际收益，投资有风险。",
            "A product's benchmark is not a promised return; investments carry risk.",
        ),
    ]
    for filler in fillers:
        if len(suggestions) >= 3:
            break
        suggestions.append(filler)
    suggestions = suggestions[:5]

    score = 100
    score -= 15 if level is None else 0
    score -= min(20, 10 * len(above))
    score -= 15 if months_e1 is not None and months_e1 < MIN_RESERVE_MONTHS * 10 else 0
    score -= 10 if idle >= MIN_IDLE_MINOR else 0
    score -= 10 if concentrated else 0
    score -= min(15, abs(equity_dev) // 200)
    return CheckupReport(
        as_of=data.today,
        total_minor=total,
        risk_level=level,
        age=data.age,
        allocation=allocation,
        by_risk=by_risk,
        largest_position=largest.name if largest else None,
        largest_share_bp=largest_share,
        concentrated=concentrated,
        liquid_minor=liquid,
        monthly_spending_minor=spending,
        months_covered_e1=months_e1,
        idle_cash_minor=idle,
        maturing=maturing,
        above_level=above,
        suggestions=suggestions,
        score=max(0, score),
    )


def _best(
    candidates: list[Candidate], level: int | None, classes: tuple[str, ...], amount: int | None
) -> Candidate | None:
    """The highest-yield candidate of `classes` the customer may buy (deposits need no level)."""
    allowed = [
        c
        for c in candidates
        if c.asset_class in classes
        and (c.is_deposit or (level is not None and c.risk_level <= level))
    ]
    return max(allowed, key=lambda c: (c.yield_bp, -c.risk_level, c.code), default=None)


# ------------------------------------------------------------------------- gathering


def monthly_spending(
    session: Session, account_ids: list[int], excluded: set[int], since: datetime
) -> int:
    """Average monthly outflow of the accounts over the window, leaving out money moved to
    the customer's own accounts and wealth products (that is saving, not spending)."""
    spent = 0
    for account_id in account_ids:
        cursor: str | None = None
        while True:
            page = ledger.statement(session, account_id, cursor=cursor, limit=200)
            for line in page.lines:
                if line.created_at < since:
                    cursor = None
                    break
                if line.amount_minor < 0 and line.counterparty_account_id not in excluded:
                    spent += -line.amount_minor
            else:
                cursor = page.next_cursor
            if cursor is None:
                break
    return spent * 30 // SPENDING_WINDOW_DAYS


def gather_inputs(session: Session, customer_id: str, now: datetime) -> CheckupInput:
    today = business_date(now)
    customer = identity.get_customer(session, customer_id)
    born = date.fromisoformat(customer.birth_date)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    assessment = service.current_assessment(session, customer_id, now)
    accounts = [
        a for a in ledger.list_accounts(session, customer_id) if AccountKind(a.kind).is_customer
    ]
    cash = sum(a.balance_minor for a in accounts if a.currency == "CNY")
    positions = []
    for v in service.list_holdings(session, customer_id, now):
        kind = ProductKind(v.product.kind)
        positions.append(
            Position(
                name=v.product.name_zh,
                asset_class=v.product.asset_class,
                risk_level=v.product.risk_level,
                value_minor=v.market_value_minor,
                liquid=kind.uses_nav or kind == ProductKind.DEMAND_DEPOSIT,
                product_code=v.product.code,
                maturity_date=v.holding.maturity_date,
            )
        )
    for order in service.pending_subscriptions(session, customer_id):
        product = catalogue.get_product(session, order.product_code)
        positions.append(
            Position(
                name=f"{product.name_zh}（在途）",
                asset_class=product.asset_class,
                risk_level=product.risk_level,
                value_minor=order.amount_minor,
                liquid=False,
                product_code=product.code,
            )
        )
    excluded = service.settlement_account_ids(session) | {a.id for a in accounts}
    pension_row = session.get(PensionAccount, customer_id)
    remaining = None
    if pension_row is not None:
        from zhangyin.wealth import pension

        excluded.add(pension_row.ledger_account_id)
        remaining = pension.summary(session, customer_id, now).remaining_minor
    spending = monthly_spending(
        session,
        [a.id for a in accounts],
        excluded,
        now - timedelta(days=SPENDING_WINDOW_DAYS),
    )
    candidates = [
        Candidate(
            p.code,
            p.name_zh,
            p.asset_class,
            p.risk_level,
            p.rate_bp or p.drift_bp,
            ProductKind(p.kind).is_deposit,
        )
        for p in catalogue.list_products(session, pension=False)
        if p.kind != ProductKind.DEMAND_DEPOSIT
        and (
            p.kind != ProductKind.WMP_FIXED
            or (
                (p.window_start is not None and p.window_start <= today)
                and (p.window_end is not None and today <= p.window_end)
            )
        )
    ]
    return CheckupInput(
        today=today,
        age=age,
        risk_level=assessment.level if assessment else None,
        cash_minor=cash,
        positions=positions,
        monthly_spending_minor=spending,
        candidates=candidates,
        pension_remaining_minor=remaining,
    )
