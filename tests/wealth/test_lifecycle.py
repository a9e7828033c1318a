"""Random sequences of subscribe, cancel, redeem and daily batches across every kind of
product: whatever happens, the books reconcile, units stay consistent, and once every
term has run out nothing is left pending."""

from __future__ import annotations

from datetime import date, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wealth.factories import beijing, conserved, demo_shelf, ready_buyer
from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.money import Money
from zhangyin.wealth import jobs, service
from zhangyin.wealth.models import HoldingStatus, OrderStatus

START = date(2025, 9, 22)
CODES = ["DD-SAVE", "TD-3M", "WM-180", "WM-DAILY", "F-BOND", "F-BAL", "F-TECH"]

step = st.tuples(
    st.sampled_from(["buy", "buy", "cancel", "redeem", "redeem_part"]),
    st.sampled_from(CODES),
    st.integers(min_value=100_000, max_value=2_000_000),
    st.integers(min_value=0, max_value=4),  # days to wait before the step
    st.sampled_from([time(9, 30), time(14, 59), time(15, 0), time(20, 0)]),
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=4, max_size=14))
def test_any_sequence_keeps_the_books(db: Database, steps: list[tuple]) -> None:  # type: ignore[type-arg]
    from zhangyin.wealth.models import WealthProduct

    if db.run(lambda s: s.get(WealthProduct, "F-BOND")) is None:
        demo_shelf(db, START)
    customer, account = ready_buyer(db, CODES, beijing(START), minor=20_000_000)
    day = START
    for action, code, minor, wait, at in steps:
        day += timedelta(days=wait)
        now = beijing(day, at)
        jobs.run_wealth_jobs(db, now)
        try:
            if action == "buy":
                db.run(
                    lambda s, c=code, m=minor, n=now: service.subscribe(
                        s,
                        customer,
                        product_code=c,
                        amount=Money(m, "CNY"),
                        account_id=account,
                        in_pension=False,
                        now=n,
                    )
                )
            elif action == "cancel":
                pending = [
                    o
                    for o in db.run(lambda s: service.list_orders(s, customer))
                    if o.status == OrderStatus.PENDING
                ]
                if pending:
                    db.run(
                        lambda s, o=pending[0], n=now: service.cancel_order(s, customer, o.id, n)
                    )
            else:
                held = db.run(lambda s, n=now: service.list_holdings(s, customer, n))
                if held:
                    target = held[minor % len(held)].holding
                    request = (
                        service.RedemptionRequest()
                        if action == "redeem"
                        else service.RedemptionRequest(
                            units_e2=max(1, target.units_e2 // 3) if target.units_e2 else None,
                            amount_minor=max(1, target.principal_minor // 3)
                            if not target.units_e2
                            else None,
                        )
                    )
                    db.run(
                        lambda s, h=target.id, r=request, n=now: service.redeem(
                            s, customer, h, r, n
                        )
                    )
        except DomainError:
            pass  # refusals (window closed, not cancellable, closed product...) move nothing
        conserved(db)
    # a year later every order is settled and every term has run out
    for offset in (1, 2, 5, 40, 200, 400):
        jobs.run_wealth_jobs(db, beijing(day + timedelta(days=offset), time(20)))
    orders = db.run(lambda s: service.list_orders(s, customer))
    assert all(o.status != OrderStatus.PENDING for o in orders)
    for valuation in db.run(
        lambda s: service.list_holdings(
            s, customer, beijing(day + timedelta(days=400)), include_closed=True
        )
    ):
        h = valuation.holding
        assert 0 <= h.frozen_units_e2 <= h.units_e2
        if h.maturity_date is not None:
            assert h.status == HoldingStatus.MATURED or h.status == HoldingStatus.CLOSED
    conserved(db)
