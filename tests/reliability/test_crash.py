"""Kill -9 the API server in the middle of a load of transfers, several times; nothing is lost."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import httpx

from tests.reliability import bank
from tests.reliability.invariants import (
    check_answers_match_the_books,
    check_balances,
    final_answers,
    reconcile_cli,
)
from tests.reliability.load import TransferLoad, resolve, send
from tests.reliability.stack import Stack

OPENING = "1000.00"
KILLS = 3


def test_kill_9_mid_load_posts_each_told_transfer_once_and_loses_none(
    make_stack: Callable[..., Stack], http_for: Callable[[Stack], httpx.Client]
) -> None:
    stack = make_stack()
    stack.api.start()
    http = http_for(stack)
    customers = [bank.register(http, stack.sql, name, OPENING) for name in bank.NAMES[:8]]
    rng = random.Random(20261123)

    load = TransferLoad(stack.api.url, customers, threads=4, timeout=5).start()
    try:
        for _ in range(KILLS):
            # Mid-load: some transfers went through since the (re)start, then a random moment.
            load.wait_for_successes(rng.randint(5, 15))
            time.sleep(rng.uniform(0.0, 1.0))
            stack.api.kill9()
            time.sleep(rng.uniform(0.0, 0.5))
            stack.api.start()
        load.wait_for_successes(5)
    finally:
        outcomes = load.stop()

    assert outcomes.bad == [], "\n".join(stack.api.errors())
    assert len(outcomes.told_ok) >= 20, "the load never got going"
    assert outcomes.in_doubt, "no request was cut by a kill: the test proved nothing"
    assert stack.api.starts == KILLS + 1

    # In doubt: the same request again, with the same key, gets one final answer...
    for attempt in outcomes.in_doubt:
        resolve(http, attempt)
        assert attempt.status is not None and attempt.status != 500, attempt.answer
    # ...and asking once more changes nothing: the answer is the same transfer.
    for attempt in outcomes.in_doubt + outcomes.told_ok[:50]:
        first = dict(attempt.answer or {})
        again = send(http, attempt, timeout=10)
        assert again.status is not None and again.answer is not None
        if again.status < 300:
            assert again.answer["id"] == first["id"]
        else:
            assert again.answer["code"] == first["code"]

    answers = final_answers(outcomes)
    check_answers_match_the_books(stack, answers)
    ok = [a for a in answers if a.status is not None and a.status < 300]
    check_balances(http, customers, bank.to_minor(OPENING), ok)
    reconcile_cli(stack)
