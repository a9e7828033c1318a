"""A scheduler that was down when transfers fell due catches up once: not zero times, not many."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import httpx

from tests.reliability import bank
from tests.reliability.invariants import reconcile_cli
from tests.reliability.stack import Stack
from zhangyin.clock import business_date, utcnow


def idem(customer: bank.Customer) -> dict[str, str]:
    return {**customer.headers, "Idempotency-Key": bank.key()}


def test_jobs_missed_while_the_server_was_down_run_once_after_restarts(
    make_stack: Callable[..., Stack], http_for: Callable[[Stack], httpx.Client]
) -> None:
    stack = make_stack()
    stack.api.start()
    http = http_for(stack)
    a = bank.register(http, stack.sql, "张三")
    b = bank.register(http, stack.sql, "李四", deposit=None)
    delayed = http.post(
        "/v1/transfers",
        json={**bank.transfer_body(a, b, "10.00"), "arrival": "2h"},
        headers=idem(a),
    )
    delayed_id = bank.confirmed(http, stack.sql, a, delayed)["id"]
    assert stack.sql("SELECT status FROM payments_transfers WHERE id = %s", delayed_id) == [
        ("delayed",)
    ]
    tomorrow = business_date(utcnow()) + timedelta(days=1)
    schedules = {}
    for frequency, amount in (("daily", "5.00"), ("weekly", "7.00"), ("once", "3.00")):
        created = http.post(
            "/v1/scheduled-transfers",
            json={
                **bank.transfer_body(a, b, amount),
                "frequency": frequency,
                "start_date": tomorrow.isoformat(),
            },
            headers=idem(a),
        )
        assert created.status_code == 201, created.text
        schedules[created.json()["id"]] = (frequency, bank.to_minor(amount))

    # The server goes down; while it is down, the delayed transfer falls due and the
    # schedules miss their dates (three days for the daily one).
    stack.api.kill9()
    stack.sql("UPDATE payments_transfers SET due_at = now() - interval '1 hour' WHERE id = %s",
              delayed_id)  # fmt: skip
    stack.sql(
        "UPDATE payments_scheduled_transfers SET next_run_date = current_date - 3, "
        "start_date = current_date - 3"
    )

    def runs() -> dict[str, int]:
        rows = stack.sql("SELECT id, runs FROM payments_scheduled_transfers")
        return {str(r[0]): int(r[1]) for r in rows}

    def delayed_status() -> str:
        return str(stack.sql("SELECT status FROM payments_transfers WHERE id = %s",
                             delayed_id)[0][0])  # fmt: skip

    for _ in range(2):  # and once more: a second restart must not run anything again
        stack.api.start()
        bank.wait_until(
            lambda: delayed_status() == "completed" and set(runs().values()) == {1},
            60,
            "the first scheduler pass after the restart",
        )
        time.sleep(1.0)
        stack.api.kill9()
    stack.api.start()
    time.sleep(2.0)

    assert runs() == dict.fromkeys(schedules, 1)
    ran_on = {}
    for scheduled_id in schedules:
        made = stack.sql(
            "SELECT status, created_at FROM payments_transfers WHERE origin_key LIKE %s",
            f"sched:{scheduled_id}:%",
        )
        assert [r[0] for r in made] == ["completed"], (scheduled_id, made)
        ran_on[scheduled_id] = business_date(made[0][1])
    following = {
        str(r[0]): r[1]
        for r in stack.sql("SELECT id, next_run_date FROM payments_scheduled_transfers")
    }
    for scheduled_id, (frequency, _) in schedules.items():
        if frequency == "once":
            assert following[scheduled_id] is None
        else:
            # The next run is after the day of the catch-up run: no burst of back-payments.
            # (That day, not a clock read here: midnight in Beijing may have passed since.)
            assert following[scheduled_id] > ran_on[scheduled_id]
    paid = 1_000 + sum(amount for _, amount in schedules.values())
    assert bank.balance_minor(http, a) == 100_000 - paid
    assert bank.balance_minor(http, b) == paid
    assert stack.sql(
        "SELECT count(*) FROM ledger_transfers WHERE credit_account_id = %s AND status = 'posted'",
        b.account_id,
    )[0][0] == 1 + len(schedules)
    reconcile_cli(stack)
