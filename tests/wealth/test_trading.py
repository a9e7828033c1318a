"""Subscribe, cancel, confirm at T+1, redeem, accrue and mature, through the ledger.

Every scenario ends by proving that no money was created or lost: the ledger
reconciles and each currency's postings sum to zero.
"""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from tests.wealth.factories import balance, beijing, conserved, demo_shelf, ready_buyer
from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money
from zhangyin.wealth import catalogue, jobs, service
from zhangyin.wealth.errors import (
    BelowMinimum,
    InsufficientUnits,
    OrderNotCancellable,
    OutsideSubscriptionWindow,
    PensionOnly,
    RedemptionNotAllowed,
)
from zhangyin.wealth.models import HoldingStatus, OrderStatus, WealthOrder

SHELF_DAY = date(2025, 9, 26)
T0 = beijing(date(2025, 9, 30), time(14, 0))  # the last trading day before National Day


@pytest.fixture
def shelf(db: Database) -> Database:
    demo_shelf(db, SHELF_DAY)
    return db


def _buy(db: Database, customer: str, account: int, code: str, minor: int, now: object) -> str:
    from datetime import datetime

    assert isinstance(now, datetime)
    order = db.run(
        lambda s: service.subscribe(
            s,
            customer,
            product_code=code,
            amount=Money(minor, "CNY"),
            account_id=account,
            in_pension=False,
            now=now,
        )
    )
    return order.id


def _order(db: Database, customer: str, order_id: str) -> WealthOrder:
    return db.run(lambda s: service.get_order(s, customer, order_id))


def _settlement(db: Database, code: str) -> int:
    return db.run(lambda s: catalogue.get_product(s, code).settlement_account_id)


def _set_nav(db: Database, code: str, day: date, nav_e4: int) -> None:
    db.run(lambda s: service.record_nav(s, code, day, nav_e4, "test", T0))


def test_fund_subscription_moves_money_now_and_confirms_units_at_the_next_nav(
    shelf: Database,
) -> None:
    db = shelf
    customer, account = ready_buyer(db, ["F-BAL"], T0, minor=5_000_000)
    order_id = _buy(db, customer, account, "F-BAL", 1_000_000, T0)
    order = _order(db, customer, order_id)
    assert (order.status, order.trade_date, order.confirm_date) == (
        OrderStatus.PENDING,
        date(2025, 9, 30),
        date(2025, 10, 9),
    )
    assert balance(db, account) == 4_000_000
    assert balance(db, _settlement(db, "F-BAL")) == 1_000_000

    # No confirmation during the holiday, nor without the trade date's NAV.
    assert (
        db.run(lambda s: service.confirm_due_orders(s, beijing(date(2025, 10, 8), time(20)))) == 0
    )
    assert _order(db, customer, order_id).status == OrderStatus.PENDING
    _set_nav(db, "F-BAL", date(2025, 9, 30), 12_345)  # 1.2345
    assert db.run(lambda s: service.confirm_due_orders(s, beijing(date(2025, 10, 9), time(9)))) == 1
    confirmed = _order(db, customer, order_id)
    # fee = 10,000.00 - 10,000.00 / 1.015 = 147.78; units = 9,852.22 / 1.2345 = 7,980.73(6)
    assert confirmed.fee_minor == 14_778
    assert confirmed.units_e2 == 798_073  # rounded down: the fraction stays in the fund
    assert confirmed.nav_e4 == 12_345
    fees = db.run(lambda s: ledger.bank_account(s, AccountKind.BANK_FEES).id)
    assert balance(db, fees) == 14_778
    holding = db.run(lambda s: service.get_holding(s, customer, confirmed.holding_id or ""))
    assert (holding.units_e2, holding.cost_minor) == (798_073, 1_000_000)
    conserved(db)


def test_cancel_before_the_cut_off_refunds_and_after_it_is_refused(shelf: Database) -> None:
    db = shelf
    customer, account = ready_buyer(db, ["F-BOND"], T0, minor=2_000_000)
    first = _buy(db, customer, account, "F-BOND", 500_000, T0)
    cancelled = db.run(
        lambda s: service.cancel_order(s, customer, first, beijing(T0.date(), time(14, 59)))
    )
    assert cancelled.status == OrderStatus.CANCELLED
    assert balance(db, account) == 2_000_000

    second = _buy(db, customer, account, "F-BOND", 500_000, T0)
    with pytest.raises(OrderNotCancellable):
        db.run(lambda s: service.cancel_order(s, customer, second, beijing(T0.date(), time(15))))
    assert balance(db, account) == 1_500_000
    assert _order(db, customer, second).status == OrderStatus.PENDING
    # an order placed after the cut-off can be cancelled until the next trading day's 15:00
    late = _buy(db, customer, account, "F-BOND", 100_000, beijing(T0.date(), time(16)))
    db.run(lambda s: service.cancel_order(s, customer, late, beijing(date(2025, 10, 9), time(14))))
    assert balance(db, account) == 1_500_000
    # the batch never confirms a cancelled order
    _set_nav(db, "F-BOND", date(2025, 9, 30), 10_000)
    db.run(lambda s: service.confirm_due_orders(s, beijing(date(2025, 10, 10), time(9))))
    assert _order(db, customer, first).status == OrderStatus.CANCELLED
    conserved(db)


def test_redemption_freezes_units_and_pays_at_t_plus_one(shelf: Database) -> None:
    db = shelf
    customer, account = ready_buyer(db, ["F-BOND"], T0, minor=1_000_000)
    order_id = _buy(db, customer, account, "F-BOND", 1_000_000, T0)
    _set_nav(db, "F-BOND", date(2025, 9, 30), 10_000)
    db.run(lambda s: service.confirm_due_orders(s, beijing(date(2025, 10, 9), time(9))))
    bought = _order(db, customer, order_id)
    # fee 0.6%: net = 10,000.00 / 1.006 = 9,940.36 -> 9,940.36 units at 1.0000
    assert (bought.fee_minor, bought.units_e2) == (5_964, 994_036)
    holding_id = bought.holding_id or ""

    when = beijing(date(2025, 10, 10), time(11))  # Friday before the cut-off
    redeem = db.run(
        lambda s: service.redeem(
            s, customer, holding_id, service.RedemptionRequest(units_e2=500_000), when
        )
    )
    assert (redeem.trade_date, redeem.confirm_date) == (date(2025, 10, 10), date(2025, 10, 13))
    with pytest.raises(InsufficientUnits):
        db.run(
            lambda s: service.redeem(
                s, customer, holding_id, service.RedemptionRequest(units_e2=500_000), when
            )
        )
    _set_nav(db, "F-BOND", date(2025, 10, 10), 10_200)
    # the make-up Saturday is no trading day: nothing confirms until Monday
    db.run(lambda s: service.confirm_due_orders(s, beijing(date(2025, 10, 11), time(9))))
    assert _order(db, customer, redeem.id).status == OrderStatus.PENDING
    db.run(lambda s: service.confirm_due_orders(s, beijing(date(2025, 10, 13), time(9))))
    paid = _order(db, customer, redeem.id)
    # gross 5,000.00 units x 1.02 = 5,100.00; fee 0.1% = 5.10; net 5,094.90
    assert (paid.amount_minor, paid.fee_minor) == (509_490, 510)
    assert balance(db, account) == 509_490
    holding = db.run(lambda s: service.get_holding(s, customer, holding_id))
    assert (holding.units_e2, holding.frozen_units_e2) == (494_036, 0)
    # cost out = 10,000.00 x 5,000 / 9,940.36 = 5,029.99(68), rounded down
    assert holding.cost_minor == 1_000_000 - 502_999
    assert holding.realized_minor == 509_490 - 502_999
    conserved(db)


def test_term_deposit_accrues_daily_and_pays_principal_and_interest_at_maturity(
    shelf: Database,
) -> None:
    db = shelf
    customer, account = ready_buyer(db, ["TD-3M"], T0, minor=4_000_000)
    order_id = _buy(db, customer, account, "TD-3M", 4_000_000, T0)
    order = _order(db, customer, order_id)
    assert order.status == OrderStatus.CONFIRMED
    holding_id = order.holding_id or ""
    assert balance(db, account) == 0
    # ten days later: 40,000.00 x 0.65% / 360 x 10 = 7.2222 -> 7.22 accrued
    db.run(lambda s: service.accrue_interest(s, beijing(date(2025, 10, 10))))
    valued = db.run(
        lambda s: service.holding_valuation(s, customer, holding_id, beijing(date(2025, 10, 10)))
    )
    assert valued.accrued_minor == 722
    # running the job twice the same day accrues nothing more
    assert db.run(lambda s: service.accrue_interest(s, beijing(date(2025, 10, 10), time(23)))) == 0
    # maturity 2025-12-30 pays 40,000.00 + 40,000.00 x 0.65% x 90 / 360 = 65.00
    jobs.run_wealth_jobs(db, beijing(date(2025, 12, 29)))
    assert balance(db, account) == 0
    jobs.run_wealth_jobs(db, beijing(date(2025, 12, 30)))
    assert balance(db, account) == 4_006_500
    holding = db.run(lambda s: service.get_holding(s, customer, holding_id))
    assert holding.status == HoldingStatus.MATURED
    assert balance(db, _settlement(db, "TD-3M")) == 0
    interest = db.run(lambda s: ledger.bank_account(s, AccountKind.BANK_INTEREST).id)
    assert balance(db, interest) == 6_500  # the bank's interest expense
    # a second run pays nothing twice
    jobs.run_wealth_jobs(db, beijing(date(2025, 12, 31)))
    assert balance(db, account) == 4_006_500
    conserved(db)


def test_early_withdrawal_earns_the_demand_rate(shelf: Database) -> None:
    db = shelf
    customer, account = ready_buyer(db, ["TD-12M"], T0, minor=3_600_000)
    order = _order(db, customer, _buy(db, customer, account, "TD-12M", 3_600_000, T0))
    when = beijing(date(2025, 11, 29))  # 60 days later
    out = db.run(
        lambda s: service.redeem(
            s, customer, order.holding_id or "", service.RedemptionRequest(), when
        )
    )
    # 36,000.00 x 0.05% x 60 / 360 = 3.00
    assert out.amount_minor == 3_600_300
    assert balance(db, account) == 3_600_300
    conserved(db)


def test_demand_deposit_settles_interest_on_the_quarter_day(shelf: Database) -> None:
    db = shelf
    start = beijing(date(2025, 12, 1))
    customer, account = ready_buyer(db, ["DD-SAVE"], start, minor=3_600_000)
    order = _order(db, customer, _buy(db, customer, account, "DD-SAVE", 3_600_000, start))
    # 36,000.00 x 0.05% / 360 = 0.05 a day; Dec 1..20 inclusive is 20 days, paid on the 21st
    db.run(lambda s: service.accrue_interest(s, beijing(date(2025, 12, 20))))
    assert balance(db, account) == 0
    db.run(lambda s: service.accrue_interest(s, beijing(date(2025, 12, 21))))
    assert balance(db, account) == 100
    # a partial withdrawal (Dec 21..25 accrue 0.25), then the rest with its accrued interest
    holding_id = order.holding_id or ""
    db.run(
        lambda s: service.redeem(
            s,
            customer,
            holding_id,
            service.RedemptionRequest(amount_minor=1_800_000),
            beijing(date(2025, 12, 26)),
        )
    )
    assert balance(db, account) == 100 + 1_800_000
    db.run(
        lambda s: service.redeem(
            s, customer, holding_id, service.RedemptionRequest(), beijing(date(2025, 12, 28))
        )
    )
    # Dec 26 and 27 on 18,000.00 at 0.025 a day = 0.05 more
    assert balance(db, account) == 100 + 3_600_000 + 25 + 5
    conserved(db)


def test_fixed_term_product_window_cooling_off_confirmation_and_maturity(
    shelf: Database,
) -> None:
    db = shelf
    # WM-365P: window SHELF_DAY-1 .. SHELF_DAY+14, 24-hour cooling-off, 3.40% over 365 days
    start = beijing(date(2025, 9, 26), time(10))
    customer, account = ready_buyer(db, ["WM-365P", "WM-180"], start, minor=5_000_000)
    with pytest.raises(OutsideSubscriptionWindow):
        _buy(db, customer, account, "WM-365P", 1_000_000, beijing(date(2025, 10, 10), time(15)))
    first = _buy(db, customer, account, "WM-365P", 1_000_000, start)
    # cancellable within 24 hours even after... and refunded in full
    db.run(lambda s: service.cancel_order(s, customer, first, start + timedelta(hours=23)))
    assert balance(db, account) == 5_000_000
    order_id = _buy(db, customer, account, "WM-365P", 3_650_000, start)
    # window ends 2025-10-10: value date is the next trading day, 2025-10-13
    assert _order(db, customer, order_id).confirm_date == date(2025, 10, 13)
    db.run(lambda s: service.confirm_due_orders(s, beijing(date(2025, 10, 13), time(9))))
    order = _order(db, customer, order_id)
    assert order.status == OrderStatus.CONFIRMED
    holding = db.run(lambda s: service.get_holding(s, customer, order.holding_id or ""))
    assert holding.maturity_date == date(2026, 10, 13)
    with pytest.raises(RedemptionNotAllowed):
        db.run(
            lambda s: service.redeem(
                s, customer, holding.id, service.RedemptionRequest(), beijing(date(2026, 1, 5))
            )
        )
    jobs.run_wealth_jobs(db, beijing(date(2026, 10, 13)))
    # 36,500.00 x 3.40% x 365 / 365 = 1,241.00
    assert balance(db, account) == 5_000_000 - 3_650_000 + 3_650_000 + 124_100
    conserved(db)


def test_refusals_move_nothing(shelf: Database) -> None:
    db = shelf
    customer, account = ready_buyer(db, ["F-BAL", "P-BOND"], T0, minor=100_000)
    with pytest.raises(BelowMinimum):
        _buy(db, customer, account, "F-BAL", 999, T0)
    with pytest.raises(PensionOnly):
        _buy(db, customer, account, "P-BOND", 10_000, T0)
    from zhangyin.ledger.errors import InsufficientFunds

    with pytest.raises(InsufficientFunds):
        _buy(db, customer, account, "F-BAL", 100_001, T0)
    assert balance(db, account) == 100_000
    assert db.run(lambda s: service.list_orders(s, customer)) == []
    conserved(db)


def test_another_customer_cannot_see_cancel_or_redeem(shelf: Database) -> None:
    db = shelf
    owner, account = ready_buyer(db, ["TD-3M", "F-BOND"], T0)
    intruder, _ = ready_buyer(db, ["TD-3M"], T0)
    deposit = _order(db, owner, _buy(db, owner, account, "TD-3M", 500_000, T0))
    pending = _buy(db, owner, account, "F-BOND", 500_000, T0)
    from zhangyin.wealth.errors import HoldingNotFound, OrderNotFound

    with pytest.raises(OrderNotFound):
        db.run(lambda s: service.get_order(s, intruder, pending))
    with pytest.raises(OrderNotFound):
        db.run(lambda s: service.cancel_order(s, intruder, pending, T0))
    with pytest.raises(HoldingNotFound):
        db.run(
            lambda s: service.redeem(
                s, intruder, deposit.holding_id or "", service.RedemptionRequest(), T0
            )
        )
    # nor pay with someone else's account
    from zhangyin.wealth.errors import WealthAccountNotFound

    with pytest.raises(WealthAccountNotFound):
        _buy(db, intruder, account, "TD-3M", 500_000, T0)
    assert balance(db, account) == 10_000_000 - 1_000_000


def test_a_large_purchase_without_a_second_factor_is_refused_by_the_service(
    shelf: Database,
) -> None:
    from zhangyin.wealth.errors import StepUpRequired

    db = shelf
    customer, account = ready_buyer(db, ["TD-3M"], T0, minor=10_000_000)
    with pytest.raises(StepUpRequired):
        _buy(db, customer, account, "TD-3M", service.STEP_UP_THRESHOLD_MINOR, T0)
    _buy(db, customer, account, "TD-3M", service.STEP_UP_THRESHOLD_MINOR - 1, T0)
    assert balance(db, account) == 10_000_000 - service.STEP_UP_THRESHOLD_MINOR + 1
