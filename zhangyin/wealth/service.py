"""Wealth operations: suitability, orders, the confirmation batch, holdings, interest, maturity.

Money moves only through the ledger service. A subscription pays from the
customer's account into the product's settlement account when it is placed; a
NAV product's units are confirmed by the batch on the next trading day (T+1) at
the NAV of the trade date, where an order placed after 15:00 Beijing time or on
a non-trading day trades on the next trading day. Redemptions, maturities and
interest pay back to the account the holding was bought from; deposit interest
comes from the bank's interest account.

Every read of a customer's order or holding filters by the customer, so another
customer's object is not found (404) by construction. Functions take `now` so
that the calendar rules are testable; callers pass `utcnow()`.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import uuid_utils
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhangyin import events
from zhangyin.clock import SHANGHAI, business_date
from zhangyin.errors import DomainError
from zhangyin.identity import service as identity
from zhangyin.identity.service import StepUpBinding
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money, format_minor
from zhangyin.wealth import suitability
from zhangyin.wealth.calendar import is_trading_day, next_trading_day, trading_day_on_or_before
from zhangyin.wealth.catalogue import get_product
from zhangyin.wealth.errors import (
    BelowMinimum,
    DisclosureRequired,
    DocumentVersionStale,
    HoldingNotFound,
    InsufficientUnits,
    InvalidProduct,
    OrderNotCancellable,
    OrderNotFound,
    OutsideSubscriptionWindow,
    PensionAccountRequired,
    PensionOnly,
    ProductNotOnSale,
    RedemptionNotAllowed,
    RiskAssessmentRequired,
    StepUpRequired,
    SuitabilityMismatch,
    WealthAccountNotFound,
)
from zhangyin.wealth.models import (
    DisclosureAck,
    HoldingStatus,
    OrderSide,
    OrderStatus,
    PensionAccount,
    ProductKind,
    ProductStatus,
    RiskAssessment,
    SuitabilityRefusal,
    WealthHolding,
    WealthNav,
    WealthOrder,
    WealthProduct,
)
from zhangyin.wealth.nav import NavFeed, NavModel

CUTOFF = time(15, 0)
#: Deposit interest: a year of 360 days (人民银行计息规则); fixed-term wealth products: 365.
DEPOSIT_DAYS = 360
WMP_DAYS = 365
MICRO = 1_000_000
#: Demand deposits settle interest on the 20th of the last month of each quarter (结息日).
SETTLEMENT_MONTHS = (3, 6, 9, 12)
SETTLEMENT_DAY = 20
#: Where a refused customer is sent to (re)take the questionnaire; part of the refusal.
QUESTIONNAIRE_PATH = "/v1/wealth/risk-questionnaire"
#: Purchases of this much or more (in minor units) need a fresh second factor (step-up).
STEP_UP_THRESHOLD_MINOR = 5_000_000  # 50,000.00


def needs_step_up(amount: Money, in_pension: bool) -> bool:
    """Large purchases with the customer's own money are confirmed with a second factor;
    pension money cannot leave the pension, so it needs none."""
    return not in_pension and amount.minor >= STEP_UP_THRESHOLD_MINOR


@dataclass(frozen=True)
class StepUpProof:
    """The answer to a step-up challenge: an SMS code or a passkey assertion."""

    challenge_id: str
    sms_code: str | None = None
    passkey_assertion: dict[str, Any] | None = None


def step_up_binding(product_code: str, amount: Money) -> StepUpBinding:
    """What the second factor approves: this purchase of this product for this amount."""
    return StepUpBinding(
        operation="wealth.subscribe",
        amount_minor=amount.minor,
        currency=amount.currency,
        payee=product_code,
    )


def _new_id() -> str:
    return str(uuid_utils.uuid7())


def _div_round(numerator: int, denominator: int) -> int:
    """Integer division rounded half up (for non-negative numbers)."""
    return (2 * numerator + denominator) // (2 * denominator)


# --------------------------------------------------------------------- calendar rules


def trade_date_for(moment: datetime) -> date:
    """The trade date (T) of an order placed at `moment`: today before 15:00 on a trading day,
    else the next trading day."""
    local = moment.astimezone(SHANGHAI)
    day = local.date()
    if is_trading_day(day) and local.time() < CUTOFF:
        return day
    return next_trading_day(day)


def cutoff_of(day: date) -> datetime:
    """15:00 Beijing time on `day`, in UTC."""
    return datetime.combine(day, CUTOFF, tzinfo=SHANGHAI).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, month_calendar.monthrange(year, month)[1]))


# ------------------------------------------------------------------------ suitability


def current_assessment(session: Session, customer_id: str, now: datetime) -> RiskAssessment | None:
    """The customer's newest risk assessment that is still valid."""
    return session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.customer_id == customer_id, RiskAssessment.expires_at > now)
        .order_by(RiskAssessment.assessed_at.desc(), RiskAssessment.id.desc())
        .limit(1)
    ).first()


def submit_assessment(
    session: Session, customer_id: str, answers: dict[str, str], now: datetime
) -> RiskAssessment:
    result = suitability.score_answers(answers)
    row = RiskAssessment(
        customer_id=customer_id,
        questionnaire_version=suitability.QUESTIONNAIRE_VERSION,
        answers=answers,
        score=result.score,
        level=result.level,
        assessed_at=now,
        expires_at=now + suitability.VALIDITY,
    )
    session.add(row)
    session.flush()
    events.emit(
        session,
        "wealth.risk_assessed",
        "customer",
        customer_id,
        {"customer_id": customer_id, "level": result.level, "score": result.score},
    )
    return row


def suitability_error(
    session: Session, customer_id: str, product: WealthProduct, now: datetime
) -> DomainError | None:
    """Why the customer may not buy `product` under the suitability rule, or None."""
    if ProductKind(product.kind).is_deposit:
        return None
    assessment = current_assessment(session, customer_id, now)
    if assessment is None:
        return RiskAssessmentRequired(
            product_risk=product.risk_level, questionnaire=QUESTIONNAIRE_PATH
        )
    if not suitability.may_buy(assessment.level, product.risk_level):
        return SuitabilityMismatch(
            customer_level=assessment.level,
            product_risk=product.risk_level,
            questionnaire=QUESTIONNAIRE_PATH,
        )
    return None


def record_refusal(
    session: Session,
    customer_id: str,
    product: WealthProduct,
    error: DomainError,
    *,
    channel: str,
    now: datetime,
) -> None:
    """Keep a refused attempt as evidence (in its own transaction: the purchase rolls back)."""
    level = error.params.get("customer_level")
    session.add(
        SuitabilityRefusal(
            customer_id=customer_id,
            product_code=product.code,
            customer_level=level if isinstance(level, int) else None,
            product_risk=product.risk_level,
            reason=error.code,
            channel=channel,
            created_at=now,
        )
    )
    events.emit(
        session,
        "wealth.suitability_refused",
        "customer",
        customer_id,
        {"customer_id": customer_id, "product_code": product.code, "reason": error.code},
    )


def screen_purchase(
    session: Session, customer_id: str, product_code: str, now: datetime, channel: str = "app"
) -> DomainError | None:
    """Check suitability before a purchase and record a refusal; returns the refusal.

    The caller commits this on its own and then raises the error, so that the
    record survives although the purchase does not happen. The purchase itself
    checks again (`subscribe`), so skipping this step cannot bypass the rule.
    """
    product = session.get(WealthProduct, product_code)
    if product is None:
        return None  # the purchase will say "not found"
    error = suitability_error(session, customer_id, product, now)
    if error is not None:
        record_refusal(session, customer_id, product, error, channel=channel, now=now)
    return error


def list_refusals(
    session: Session, customer_id: str | None = None, limit: int = 100
) -> list[SuitabilityRefusal]:
    query = select(SuitabilityRefusal).order_by(SuitabilityRefusal.id.desc()).limit(limit)
    if customer_id is not None:
        query = query.where(SuitabilityRefusal.customer_id == customer_id)
    return list(session.scalars(query).all())


def acknowledge_documents(
    session: Session, customer_id: str, product_code: str, version: str, now: datetime
) -> DisclosureAck:
    product = get_product(session, product_code)
    if version != product.document_version:
        raise DocumentVersionStale(document_version=product.document_version)
    ack = session.get(DisclosureAck, (customer_id, product_code))
    if ack is None:
        ack = DisclosureAck(customer_id=customer_id, product_code=product_code)
        session.add(ack)
    ack.document_version = version
    ack.acknowledged_at = now
    session.flush()
    return ack


def _check_disclosure(session: Session, customer_id: str, product: WealthProduct) -> None:
    ack = session.get(DisclosureAck, (customer_id, product.code))
    if ack is None or ack.document_version != product.document_version:
        raise DisclosureRequired(document_version=product.document_version)


# ---------------------------------------------------------------------------- accounts


def customer_account(session: Session, customer_id: str, account_id: int) -> ledger.AccountView:
    """One of the customer's own accounts, or not found (404) whoever else owns it."""
    try:
        account = ledger.get_account(session, account_id)
    except DomainError:
        raise WealthAccountNotFound() from None
    if account.owner_id != customer_id or not AccountKind(account.kind).is_customer:
        raise WealthAccountNotFound()
    return account


def pension_account(session: Session, customer_id: str, *, lock: bool = False) -> PensionAccount:
    query = select(PensionAccount).where(PensionAccount.customer_id == customer_id)
    if lock:
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise PensionAccountRequired()
    return row


def _fees_account(session: Session, currency: str) -> int:
    return ledger.bank_account(session, AccountKind.BANK_FEES, currency).id


def _interest_account(session: Session, currency: str) -> int:
    return ledger.bank_account(session, AccountKind.BANK_INTEREST, currency).id


def _pay(
    session: Session, debit: int, credit: int, minor: int, currency: str, memo: str
) -> str | None:
    if minor <= 0:
        return None
    view = ledger.transfer(
        session, ledger.TransferOrder(debit, credit, Money(minor, currency), memo=memo[:140])
    )
    return view.id


# ------------------------------------------------------------------------------ orders


def subscribe(
    session: Session,
    customer_id: str,
    *,
    product_code: str,
    amount: Money,
    account_id: int | None,
    in_pension: bool,
    now: datetime,
    step_up: StepUpProof | None = None,
) -> WealthOrder:
    """Buy a product: checks, then the money moves to the product now; units come at T+1.

    A large purchase from the customer's own account needs `step_up`, the proof of
    a second factor bound to this product and amount (the API starts the challenge).
    """
    product = get_product(session, product_code)
    kind = ProductKind(product.kind)
    if product.status != ProductStatus.ON_SALE:
        raise ProductNotOnSale()
    if amount.currency != product.currency:
        raise BelowMinimum(minimum=format_minor(product.min_amount_minor, product.currency))
    if amount.minor < product.min_amount_minor:
        raise BelowMinimum(minimum=format_minor(product.min_amount_minor, product.currency))
    today = business_date(now)
    if kind == ProductKind.WMP_FIXED:
        assert product.window_start is not None
        assert product.window_end is not None
        if not (product.window_start <= today and now < cutoff_of(product.window_end)):
            raise OutsideSubscriptionWindow(
                window_start=product.window_start.isoformat(),
                window_end=product.window_end.isoformat(),
            )
    if in_pension != product.pension_eligible:
        raise PensionOnly()
    refusal = suitability_error(session, customer_id, product, now)
    if refusal is not None:
        raise refusal
    _check_disclosure(session, customer_id, product)
    if needs_step_up(amount, in_pension):
        if step_up is None:
            raise StepUpRequired()
        identity.verify_step_up(
            session,
            customer_id,
            step_up.challenge_id,
            step_up_binding(product.code, amount),
            sms_code=step_up.sms_code,
            passkey_assertion=step_up.passkey_assertion,
        )
    if in_pension:
        paying = pension_account(session, customer_id).ledger_account_id
    else:
        if account_id is None:
            raise WealthAccountNotFound()
        paying = customer_account(session, customer_id, account_id).id

    order_id = _new_id()
    transfer_id = _pay(
        session,
        paying,
        product.settlement_account_id,
        amount.minor,
        amount.currency,
        f"{product.name_zh} 申购 {order_id[-8:]}",
    )
    order = WealthOrder(
        id=order_id,
        customer_id=customer_id,
        product_code=product.code,
        side=OrderSide.SUBSCRIBE.value,
        status=OrderStatus.PENDING.value,
        in_pension=in_pension,
        account_id=paying,
        currency=amount.currency,
        amount_minor=amount.minor,
        fee_minor=0,
        units_e2=0,
        transfer_id=transfer_id,
        created_at=now,
    )
    if product.cooling_off_hours:
        order.cooling_off_until = now + timedelta(hours=product.cooling_off_hours)
    if kind.is_deposit:
        order.trade_date = order.confirm_date = today
        session.add(order)
        _confirm_deposit(session, order, product, today, now)
    elif kind == ProductKind.WMP_FIXED:
        assert product.window_end is not None
        order.trade_date = today
        order.confirm_date = next_trading_day(product.window_end)  # 起息日
        order.cancel_deadline = cutoff_of(product.window_end)
        session.add(order)
    else:
        order.trade_date = trade_date_for(now)
        order.confirm_date = next_trading_day(order.trade_date)
        order.cancel_deadline = cutoff_of(order.trade_date)
        session.add(order)
    session.flush()
    _order_event(session, order, "placed")
    return order


def _confirm_deposit(
    session: Session, order: WealthOrder, product: WealthProduct, today: date, now: datetime
) -> None:
    kind = ProductKind(product.kind)
    holding: WealthHolding | None = None
    if kind == ProductKind.DEMAND_DEPOSIT:
        holding = _open_holding(session, order.customer_id, product.code, order.in_pension)
        if holding is not None:
            accrue_holding(session, holding, product, today)
            holding.principal_minor += order.amount_minor
            holding.cost_minor += order.amount_minor
            holding.updated_at = now
    if holding is None:
        maturity = None
        if kind == ProductKind.TERM_DEPOSIT:
            assert product.term_days is not None
            maturity = add_months(today, product.term_days // 30)
        holding = _new_holding(order, product, start=today, maturity=maturity, now=now)
        holding.principal_minor = holding.cost_minor = order.amount_minor
        session.add(holding)
    order.status = OrderStatus.CONFIRMED.value
    order.confirmed_at = now
    order.holding_id = holding.id


def _new_holding(
    order: WealthOrder,
    product: WealthProduct,
    *,
    start: date,
    maturity: date | None,
    now: datetime,
) -> WealthHolding:
    return WealthHolding(
        id=_new_id(),
        customer_id=order.customer_id,
        product_code=product.code,
        in_pension=order.in_pension,
        status=HoldingStatus.ACTIVE.value,
        currency=product.currency,
        payout_account_id=order.account_id,
        units_e2=0,
        frozen_units_e2=0,
        principal_minor=0,
        cost_minor=0,
        realized_minor=0,
        rate_bp=product.rate_bp,
        accrued_micro=0,
        interest_paid_minor=0,
        accrued_until=start if ProductKind(product.kind).is_deposit else None,
        start_date=start,
        maturity_date=maturity,
        created_at=now,
        updated_at=now,
    )


def _open_holding(
    session: Session, customer_id: str, product_code: str, in_pension: bool
) -> WealthHolding | None:
    return session.scalars(
        select(WealthHolding)
        .where(
            WealthHolding.customer_id == customer_id,
            WealthHolding.product_code == product_code,
            WealthHolding.in_pension == in_pension,
            WealthHolding.status == HoldingStatus.ACTIVE.value,
        )
        .order_by(WealthHolding.created_at)
        .limit(1)
        .with_for_update()
    ).first()


def _order_event(session: Session, order: WealthOrder, what: str) -> None:
    events.emit(
        session,
        f"wealth.order.{what}",
        "wealth_order",
        order.id,
        {
            "order_id": order.id,
            "customer_id": order.customer_id,
            "product_code": order.product_code,
            "side": order.side,
            "status": order.status,
            "amount_minor": order.amount_minor,
            "units_e2": order.units_e2,
            "currency": order.currency,
        },
    )


def get_order(session: Session, customer_id: str, order_id: str) -> WealthOrder:
    order = session.scalars(
        select(WealthOrder).where(
            WealthOrder.id == order_id, WealthOrder.customer_id == customer_id
        )
    ).first()
    if order is None:
        raise OrderNotFound()
    return order


def list_orders(
    session: Session, customer_id: str, *, holding_id: str | None = None, limit: int = 100
) -> list[WealthOrder]:
    query = (
        select(WealthOrder)
        .where(WealthOrder.customer_id == customer_id)
        .order_by(WealthOrder.created_at.desc(), WealthOrder.id.desc())
        .limit(limit)
    )
    if holding_id is not None:
        query = query.where(WealthOrder.holding_id == holding_id)
    return list(session.scalars(query).all())


def get_holding(
    session: Session, customer_id: str, holding_id: str, *, lock: bool = False
) -> WealthHolding:
    query = select(WealthHolding).where(
        WealthHolding.id == holding_id, WealthHolding.customer_id == customer_id
    )
    if lock:
        query = query.with_for_update()
    holding = session.scalars(query).first()
    if holding is None:
        raise HoldingNotFound()
    return holding


def cancel_order(session: Session, customer_id: str, order_id: str, now: datetime) -> WealthOrder:
    """Cancel before the cut-off of its trade date (or within its cooling-off period)."""
    order = session.scalars(
        select(WealthOrder)
        .where(WealthOrder.id == order_id, WealthOrder.customer_id == customer_id)
        .with_for_update()
    ).first()
    if order is None:
        raise OrderNotFound()
    if order.status != OrderStatus.PENDING:
        raise OrderNotCancellable()
    deadlines = [d for d in (order.cancel_deadline, order.cooling_off_until) if d is not None]
    if not deadlines or now >= max(deadlines):
        raise OrderNotCancellable()
    if order.side == OrderSide.SUBSCRIBE:
        assert order.transfer_id is not None
        ledger.reverse(session, order.transfer_id, memo=f"撤单退款 {order.id[-8:]}")
    else:
        assert order.holding_id is not None
        holding = get_holding(session, customer_id, order.holding_id, lock=True)
        holding.frozen_units_e2 -= order.units_e2
        holding.updated_at = now
    order.status = OrderStatus.CANCELLED.value
    order.cancelled_at = now
    session.flush()
    _order_event(session, order, "cancelled")
    return order


@dataclass(frozen=True)
class RedemptionRequest:
    units_e2: int | None = None  # NAV products
    amount_minor: int | None = None  # demand deposits; None: everything


def redeem(
    session: Session,
    customer_id: str,
    holding_id: str,
    request: RedemptionRequest,
    now: datetime,
) -> WealthOrder:
    """Redeem units (T+1 at the next NAV), withdraw a deposit, or refuse a closed product."""
    holding = get_holding(session, customer_id, holding_id, lock=True)
    if holding.status != HoldingStatus.ACTIVE:
        raise HoldingNotFound()
    product = get_product(session, holding.product_code)
    kind = ProductKind(product.kind)
    today = business_date(now)
    order = WealthOrder(
        id=_new_id(),
        customer_id=customer_id,
        product_code=product.code,
        side=OrderSide.REDEEM.value,
        status=OrderStatus.PENDING.value,
        in_pension=holding.in_pension,
        account_id=holding.payout_account_id,
        currency=holding.currency,
        amount_minor=0,
        fee_minor=0,
        units_e2=0,
        holding_id=holding.id,
        created_at=now,
    )
    if kind.uses_nav:
        available = holding.units_e2 - holding.frozen_units_e2
        units = available if request.units_e2 is None else request.units_e2
        if units <= 0 or units > available:
            raise InsufficientUnits(available=format_minor(available, "CNY"))
        holding.frozen_units_e2 += units
        holding.updated_at = now
        order.units_e2 = units
        order.trade_date = trade_date_for(now)
        order.confirm_date = next_trading_day(order.trade_date)
        order.cancel_deadline = cutoff_of(order.trade_date)
        session.add(order)
    elif kind == ProductKind.DEMAND_DEPOSIT:
        accrue_holding(session, holding, product, today)
        amount = holding.principal_minor if request.amount_minor is None else request.amount_minor
        if amount <= 0 or amount > holding.principal_minor:
            raise InsufficientUnits(available=format_minor(holding.principal_minor, "CNY"))
        order.trade_date = order.confirm_date = today
        order.amount_minor = amount
        _pay(
            session,
            product.settlement_account_id,
            holding.payout_account_id,
            amount,
            holding.currency,
            f"{product.name_zh} 支取",
        )
        holding.principal_minor -= amount
        holding.cost_minor = holding.principal_minor
        if holding.principal_minor == 0:
            _pay_accrued(session, holding, product)
            holding.status = HoldingStatus.CLOSED.value
        _finish(order, now)
        session.add(order)
    elif kind == ProductKind.TERM_DEPOSIT and product.early_rate_bp is not None:
        # 提前支取: the whole lot, at the demand rate for the days held (算头不算尾).
        days = (today - holding.start_date).days
        interest = _div_round(
            holding.principal_minor * product.early_rate_bp * days, 10_000 * DEPOSIT_DAYS
        )
        order.trade_date = order.confirm_date = today
        order.amount_minor = holding.principal_minor + interest
        _close_lot(session, holding, product, interest, from_interest_account=True, memo="提前支取")
        _finish(order, now)
        session.add(order)
    else:
        raise RedemptionNotAllowed()
    session.flush()
    _order_event(session, order, "placed" if order.status == OrderStatus.PENDING else "confirmed")
    return order


def _finish(order: WealthOrder, now: datetime) -> None:
    order.status = OrderStatus.CONFIRMED.value
    order.confirmed_at = now


def _close_lot(
    session: Session,
    holding: WealthHolding,
    product: WealthProduct,
    interest: int,
    *,
    from_interest_account: bool,
    memo: str,
) -> None:
    """Pay a lot's principal and its interest or yield back, and close it."""
    _pay(
        session,
        product.settlement_account_id,
        holding.payout_account_id,
        holding.principal_minor,
        holding.currency,
        f"{product.name_zh} {memo} 本金",
    )
    source = (
        _interest_account(session, holding.currency)
        if from_interest_account
        else product.settlement_account_id
    )
    _pay(
        session,
        source,
        holding.payout_account_id,
        interest,
        holding.currency,
        f"{product.name_zh} {memo} 利息/收益",
    )
    holding.interest_paid_minor += interest
    holding.realized_minor += interest
    holding.accrued_micro = 0
    holding.status = HoldingStatus.MATURED.value if memo == "到期" else HoldingStatus.CLOSED.value


# ------------------------------------------------------------------ confirmation batch


def nav_on(session: Session, product_code: str, day: date) -> int | None:
    return session.scalar(
        select(WealthNav.nav_e4).where(
            WealthNav.product_code == product_code, WealthNav.nav_date == day
        )
    )


def latest_nav(
    session: Session, product_code: str, on_or_before: date, *, offset: int = 0
) -> tuple[date, int] | None:
    row = session.execute(
        select(WealthNav.nav_date, WealthNav.nav_e4)
        .where(WealthNav.product_code == product_code, WealthNav.nav_date <= on_or_before)
        .order_by(WealthNav.nav_date.desc())
        .offset(offset)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def nav_history(
    session: Session, product_code: str, start: date, end: date
) -> list[tuple[date, int]]:
    rows = session.execute(
        select(WealthNav.nav_date, WealthNav.nav_e4)
        .where(
            WealthNav.product_code == product_code,
            WealthNav.nav_date >= start,
            WealthNav.nav_date <= end,
        )
        .order_by(WealthNav.nav_date)
    ).all()
    return [(r[0], r[1]) for r in rows]


def record_nav(
    session: Session, product_code: str, day: date, nav_e4: int, source: str, now: datetime
) -> WealthNav:
    """Store a NAV (or correct one not yet used by a confirmation)."""
    product = get_product(session, product_code)
    if not ProductKind(product.kind).uses_nav:
        raise InvalidProduct(reason="this product has no NAV")
    row = session.get(WealthNav, (product_code, day))
    if row is None:
        row = WealthNav(product_code=product_code, nav_date=day)
        session.add(row)
    row.nav_e4 = nav_e4
    row.source = source
    row.published_at = now
    session.flush()
    return row


def publish_navs(session: Session, feed: NavFeed, now: datetime, *, backfill_days: int = 40) -> int:
    """Fetch NAVs from `feed` for every trading day whose cut-off has passed and has none yet."""
    today = business_date(now)
    last_closed = today if now >= cutoff_of(today) else today - timedelta(days=1)
    last_closed = trading_day_on_or_before(last_closed)
    published = 0
    products = session.scalars(
        select(WealthProduct).where(
            WealthProduct.kind.in_([k.value for k in ProductKind if k.uses_nav])
        )
    ).all()
    for product in products:
        known = latest_nav(session, product.code, last_closed)
        day = known[0] + timedelta(days=1) if known else last_closed - timedelta(days=backfill_days)
        day = max(day, last_closed - timedelta(days=backfill_days))
        model = NavModel(product.code, product.drift_bp, product.volatility_bp)
        while day <= last_closed:
            if is_trading_day(day):
                value = feed.nav_for(model, day)
                if value is not None:
                    session.add(
                        WealthNav(
                            product_code=product.code,
                            nav_date=day,
                            nav_e4=value,
                            source=feed.name,
                            published_at=now,
                        )
                    )
                    published += 1
            day += timedelta(days=1)
    session.flush()
    return published


def confirm_due_orders(session: Session, now: datetime, limit: int = 500) -> int:
    """The T+1 batch: confirm every pending order whose confirmation day has come and whose
    NAV (or cooling-off end) is known. Safe to run again: a confirmed order is skipped."""
    today = business_date(now)
    query = (
        select(WealthOrder)
        .where(WealthOrder.status == OrderStatus.PENDING.value, WealthOrder.confirm_date <= today)
        .order_by(WealthOrder.created_at, WealthOrder.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    confirmed = 0
    for order in session.scalars(query).all():
        product = get_product(session, order.product_code)
        kind = ProductKind(product.kind)
        if order.cooling_off_until is not None and now < order.cooling_off_until:
            continue
        if kind == ProductKind.WMP_FIXED:
            _confirm_fixed(session, order, product, now)
        else:
            nav = nav_on(session, product.code, order.trade_date)
            if nav is None:
                continue  # the NAV is late: the next run confirms it
            if order.side == OrderSide.SUBSCRIBE:
                _confirm_nav_subscription(session, order, product, nav, now)
            else:
                _confirm_nav_redemption(session, order, product, nav, now)
        confirmed += 1
    return confirmed


def _confirm_fixed(
    session: Session, order: WealthOrder, product: WealthProduct, now: datetime
) -> None:
    assert product.term_days is not None
    start = order.confirm_date
    holding = _new_holding(
        order, product, start=start, maturity=start + timedelta(days=product.term_days), now=now
    )
    holding.principal_minor = holding.cost_minor = order.amount_minor
    session.add(holding)
    order.holding_id = holding.id
    _finish(order, now)
    session.flush()
    _order_event(session, order, "confirmed")


def subscription_split(amount_minor: int, fee_bp: int) -> tuple[int, int]:
    """(net, fee) of a gross subscription: fee = amount - amount / (1 + rate) (外扣法)."""
    net = _div_round(amount_minor * 10_000, 10_000 + fee_bp)
    return net, amount_minor - net


def _confirm_nav_subscription(
    session: Session, order: WealthOrder, product: WealthProduct, nav: int, now: datetime
) -> None:
    net, fee = subscription_split(order.amount_minor, product.subscription_fee_bp)
    units = net * 10_000 // nav  # units in hundredths; the sub-unit remainder stays in the fund
    _pay(
        session,
        product.settlement_account_id,
        _fees_account(session, order.currency),
        fee,
        order.currency,
        f"{product.name_zh} 申购费",
    )
    holding = _open_holding(session, order.customer_id, product.code, order.in_pension)
    if holding is None:
        holding = _new_holding(order, product, start=order.trade_date, maturity=None, now=now)
        session.add(holding)
    holding.units_e2 += units
    holding.cost_minor += order.amount_minor
    holding.principal_minor = holding.cost_minor
    holding.updated_at = now
    order.fee_minor = fee
    order.units_e2 = units
    order.nav_e4 = nav
    order.holding_id = holding.id
    _finish(order, now)
    session.flush()
    _order_event(session, order, "confirmed")


def _confirm_nav_redemption(
    session: Session, order: WealthOrder, product: WealthProduct, nav: int, now: datetime
) -> None:
    assert order.holding_id is not None
    holding = get_holding(session, order.customer_id, order.holding_id, lock=True)
    gross = order.units_e2 * nav // 10_000
    fee = _div_round(gross * product.redemption_fee_bp, 10_000)
    net = gross - fee
    _pay(
        session,
        product.settlement_account_id,
        order.account_id,
        net,
        order.currency,
        f"{product.name_zh} 赎回",
    )
    _pay(
        session,
        product.settlement_account_id,
        _fees_account(session, order.currency),
        fee,
        order.currency,
        f"{product.name_zh} 赎回费",
    )
    cost_out = holding.cost_minor * order.units_e2 // holding.units_e2
    holding.units_e2 -= order.units_e2
    holding.frozen_units_e2 -= order.units_e2
    holding.cost_minor -= cost_out
    holding.principal_minor = holding.cost_minor
    holding.realized_minor += net - cost_out
    if holding.units_e2 == 0:
        holding.status = HoldingStatus.CLOSED.value
        holding.realized_minor += holding.cost_minor
        holding.cost_minor = holding.principal_minor = 0
    holding.updated_at = now
    order.amount_minor = net
    order.fee_minor = fee
    order.nav_e4 = nav
    _finish(order, now)
    session.flush()
    _order_event(session, order, "confirmed")


# --------------------------------------------------------------- interest and maturity


def daily_interest_micro(principal_minor: int, rate_bp: int) -> int:
    """One day's deposit interest in millionths of a minor unit (rate / 360 a day)."""
    return principal_minor * rate_bp * (MICRO // 10_000) // DEPOSIT_DAYS


def is_settlement_day(day: date) -> bool:
    return day.month in SETTLEMENT_MONTHS and day.day == SETTLEMENT_DAY


def accrue_holding(
    session: Session, holding: WealthHolding, product: WealthProduct, today: date
) -> int:
    """Accrue a deposit's interest for each whole day before `today` not yet accrued.

    Term deposits accrue until maturity; demand deposits pay what has accrued
    after each quarterly settlement day. Returns the number of days accrued.
    """
    if holding.accrued_until is None or holding.status != HoldingStatus.ACTIVE:
        return 0
    end = today
    if holding.maturity_date is not None:
        end = min(end, holding.maturity_date)
    days = 0
    day = holding.accrued_until
    demand = product.kind == ProductKind.DEMAND_DEPOSIT
    while day < end:
        holding.accrued_micro += daily_interest_micro(holding.principal_minor, holding.rate_bp)
        if demand and is_settlement_day(day):
            _pay_accrued(session, holding, product)
        day += timedelta(days=1)
        days += 1
    if days:
        holding.accrued_until = day
    return days


def _pay_accrued(session: Session, holding: WealthHolding, product: WealthProduct) -> None:
    interest = _div_round(holding.accrued_micro, MICRO)
    _pay(
        session,
        _interest_account(session, holding.currency),
        holding.payout_account_id,
        interest,
        holding.currency,
        f"{product.name_zh} 结息",
    )
    holding.interest_paid_minor += interest
    holding.realized_minor += interest
    holding.accrued_micro = 0


def accrue_interest(session: Session, now: datetime, limit: int = 1000) -> int:
    """Daily accrual on every active deposit holding; returns the holdings touched."""
    today = business_date(now)
    deposit_codes = select(WealthProduct.code).where(
        WealthProduct.kind.in_([k.value for k in ProductKind if k.is_deposit])
    )
    holdings = session.scalars(
        select(WealthHolding)
        .where(
            WealthHolding.status == HoldingStatus.ACTIVE.value,
            WealthHolding.accrued_until < today,
            WealthHolding.product_code.in_(deposit_codes),
        )
        .order_by(WealthHolding.id)
        .limit(limit)
        .with_for_update()
    ).all()
    touched = 0
    for holding in holdings:
        if accrue_holding(session, holding, get_product(session, holding.product_code), today):
            holding.updated_at = now
            touched += 1
    session.flush()
    return touched


def contract_interest(holding: WealthHolding, product: WealthProduct) -> int:
    """What a lot pays at maturity: deposits rate x days / 360, wealth products x days / 365."""
    assert product.term_days is not None
    basis = DEPOSIT_DAYS if product.kind == ProductKind.TERM_DEPOSIT else WMP_DAYS
    return _div_round(holding.principal_minor * holding.rate_bp * product.term_days, 10_000 * basis)


def mature_holdings(session: Session, now: datetime, limit: int = 500) -> int:
    """Pay principal and interest (or yield) of every lot that has reached maturity."""
    today = business_date(now)
    holdings = session.scalars(
        select(WealthHolding)
        .where(
            WealthHolding.status == HoldingStatus.ACTIVE.value,
            WealthHolding.maturity_date <= today,
        )
        .order_by(WealthHolding.maturity_date, WealthHolding.id)
        .limit(limit)
        .with_for_update()
    ).all()
    for holding in holdings:
        product = get_product(session, holding.product_code)
        is_deposit = product.kind == ProductKind.TERM_DEPOSIT
        interest = contract_interest(holding, product)
        _close_lot(
            session, holding, product, interest, from_interest_account=is_deposit, memo="到期"
        )
        holding.updated_at = now
        events.emit(
            session,
            "wealth.holding.matured",
            "wealth_holding",
            holding.id,
            {
                "holding_id": holding.id,
                "customer_id": holding.customer_id,
                "product_code": holding.product_code,
                "principal_minor": holding.principal_minor,
                "interest_minor": interest,
            },
        )
    session.flush()
    return len(holdings)


# ----------------------------------------------------------------------------- holdings


@dataclass(frozen=True)
class Valuation:
    holding: WealthHolding
    product: WealthProduct
    market_value_minor: int
    pnl_minor: int  # since purchase, unrealised plus realised income
    today_pnl_minor: int
    annualised_bp: int | None  # simple annualised return, basis points
    nav_e4: int | None
    nav_date: date | None
    accrued_minor: int
    estimated: bool  # fixed-term yield shown before it is paid is an estimate


def value_holding(
    session: Session, holding: WealthHolding, product: WealthProduct, today: date
) -> Valuation:
    kind = ProductKind(product.kind)
    nav_e4: int | None = None
    nav_date: date | None = None
    today_pnl = 0
    accrued = 0
    estimated = False
    if holding.status != HoldingStatus.ACTIVE:
        value = 0
    elif kind.uses_nav:
        latest = latest_nav(session, product.code, today)
        if latest is None:
            value = holding.cost_minor
        else:
            nav_date, nav_e4 = latest
            value = holding.units_e2 * nav_e4 // 10_000
            previous = latest_nav(session, product.code, today, offset=1)
            if previous is not None and nav_date == trading_day_on_or_before(today):
                today_pnl = holding.units_e2 * (nav_e4 - previous[1]) // 10_000
    elif kind == ProductKind.WMP_FIXED:
        days = max(0, (min(today, holding.maturity_date or today) - holding.start_date).days)
        accrued = _div_round(holding.principal_minor * holding.rate_bp * days, 10_000 * WMP_DAYS)
        value = holding.principal_minor + accrued
        today_pnl = (
            _div_round(holding.principal_minor * holding.rate_bp, 10_000 * WMP_DAYS)
            if holding.start_date <= today
            else 0
        )
        estimated = True
    else:
        accrued = _div_round(holding.accrued_micro, MICRO)
        value = holding.principal_minor + accrued
        today_pnl = _div_round(
            daily_interest_micro(holding.principal_minor, holding.rate_bp), MICRO
        )
    unrealised = value - holding.cost_minor if holding.status == HoldingStatus.ACTIVE else 0
    pnl = unrealised + holding.realized_minor
    held_days = max(1, (today - holding.start_date).days)
    basis = holding.cost_minor or holding.principal_minor
    annualised = _div_round_signed(pnl * 10_000 * 365, basis * held_days) if basis > 0 else None
    return Valuation(
        holding,
        product,
        value,
        pnl,
        today_pnl,
        annualised,
        nav_e4,
        nav_date,
        accrued,
        estimated,
    )


def _div_round_signed(numerator: int, denominator: int) -> int:
    sign = -1 if numerator < 0 else 1
    return sign * _div_round(abs(numerator), denominator)


def list_holdings(
    session: Session, customer_id: str, now: datetime, *, include_closed: bool = False
) -> list[Valuation]:
    today = business_date(now)
    query = (
        select(WealthHolding)
        .where(WealthHolding.customer_id == customer_id)
        .order_by(WealthHolding.created_at)
    )
    if not include_closed:
        query = query.where(WealthHolding.status == HoldingStatus.ACTIVE.value)
    return [
        value_holding(session, h, get_product(session, h.product_code), today)
        for h in session.scalars(query).all()
    ]


def holding_valuation(
    session: Session, customer_id: str, holding_id: str, now: datetime
) -> Valuation:
    holding = get_holding(session, customer_id, holding_id)
    return value_holding(
        session, holding, get_product(session, holding.product_code), business_date(now)
    )


def pending_subscriptions(session: Session, customer_id: str) -> Sequence[WealthOrder]:
    """Money in transit (在途资金): subscriptions paid and not yet confirmed."""
    return session.scalars(
        select(WealthOrder).where(
            WealthOrder.customer_id == customer_id,
            WealthOrder.status == OrderStatus.PENDING.value,
            WealthOrder.side == OrderSide.SUBSCRIBE.value,
        )
    ).all()


def settlement_account_ids(session: Session) -> set[int]:
    return set(session.scalars(select(WealthProduct.settlement_account_id)).all())


def refusal_count(session: Session, customer_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(SuitabilityRefusal)
            .where(SuitabilityRefusal.customer_id == customer_id)
        )
        or 0
    )
