"""Concurrent requests on real PostgreSQL: the pension cap, redemptions of the same units,
and two confirmation batches at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, time

import pytest

from tests.wealth.factories import beijing, conserved, demo_shelf, new_customer, ready_buyer
from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.money import Money
from zhangyin.wealth import pension, service
from zhangyin.wealth.models import OrderStatus

POSTGRES = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
NOW = beijing(date(2026, 3, 2), time(10))


def _race(work: Callable[[], object], workers: int = 8) -> tuple[int, list[DomainError]]:
    barrier = threading.Barrier(workers)
    done: list[object] = []
    refused: list[DomainError] = []
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            result = work()
        except DomainError as error:
            with lock:
                refused.append(error)
        else:
            with lock:
                done.append(result)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(done), refused


@POSTGRES
def test_concurrent_contributions_never_pass_the_cap(db: Database) -> None:
    customer, account = new_customer(db, 10_000_000)
    db.run(lambda s: pension.open_account(s, customer, NOW))
    succeeded, refused = _race(
        lambda: db.run(
            lambda s: pension.contribute(s, customer, account, Money(500_000, "CNY"), NOW)
        )
    )
    # 12,000 / 5,000: two fit, the others are refused
    assert succeeded == 2
    assert all(e.code == "pension_cap_exceeded" for e in refused)
    assert db.run(lambda s: pension.contributed_in(s, customer, 2026)) == 1_000_000
    conserved(db)


@POSTGRES
def test_concurrent_redemptions_never_sell_more_units_than_held(db: Database) -> None:
    demo_shelf(db, NOW.date())
    customer, account = ready_buyer(db, ["F-BOND"], NOW, minor=1_000_000)
    order = db.run(
        lambda s: service.subscribe(
            s,
            customer,
            product_code="F-BOND",
            amount=Money(1_000_000, "CNY"),
            account_id=account,
            in_pension=False,
            now=NOW,
        )
    )
    db.run(lambda s: service.record_nav(s, "F-BOND", NOW.date(), 10_000, "test", NOW))
    db.run(lambda s: service.confirm_due_orders(s, beijing(date(2026, 3, 3), time(9))))
    holding_id = db.run(lambda s: service.get_order(s, customer, order.id)).holding_id or ""
    held = db.run(lambda s: service.get_holding(s, customer, holding_id)).units_e2
    share = held // 3 + 1  # three shares do not fit; two do
    when = beijing(date(2026, 3, 3), time(10))
    succeeded, refused = _race(
        lambda: db.run(
            lambda s: service.redeem(
                s, customer, holding_id, service.RedemptionRequest(units_e2=share), when
            )
        )
    )
    assert succeeded == 2
    assert all(e.code == "insufficient_units" for e in refused)
    holding = db.run(lambda s: service.get_holding(s, customer, holding_id))
    assert holding.frozen_units_e2 == 2 * share


@POSTGRES
def test_two_batches_at_once_confirm_each_order_once(db: Database) -> None:
    demo_shelf(db, NOW.date())
    buyers = [ready_buyer(db, ["F-BAL"], NOW, minor=100_000) for _ in range(6)]
    for customer, account in buyers:
        db.run(
            lambda s, c=customer, a=account: service.subscribe(
                s,
                c,
                product_code="F-BAL",
                amount=Money(100_000, "CNY"),
                account_id=a,
                in_pension=False,
                now=NOW,
            )
        )
    db.run(lambda s: service.record_nav(s, "F-BAL", NOW.date(), 10_000, "test", NOW))
    later = beijing(date(2026, 3, 3), time(9))
    counts: list[int] = []
    lock = threading.Lock()

    def batch() -> int:
        confirmed = db.run(lambda s: service.confirm_due_orders(s, later))
        with lock:
            counts.append(confirmed)
        return confirmed

    _race(batch, workers=4)
    assert sum(counts) == 6
    for customer, _ in buyers:
        orders = db.run(lambda s, c=customer: service.list_orders(s, c))
        assert [o.status for o in orders] == [OrderStatus.CONFIRMED]
    conserved(db)
