"""PostgreSQL restarts under load: 503 problems while it is away, no 500, no hang, self-recovery."""

from __future__ import annotations

import threading
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
from tests.reliability.load import TransferLoad, resolve
from tests.reliability.stack import Stack

OPENING = "1000.00"
#: No request may take longer than this, database or not (the pool and connect timeouts).
REQUEST_BUDGET = 12.0


def test_database_restart_gives_503s_then_recovers_without_restarting_the_api(
    make_stack: Callable[..., Stack], http_for: Callable[[Stack], httpx.Client]
) -> None:
    stack = make_stack()
    stack.api.start()
    http = http_for(stack)
    customers = [bank.register(http, stack.sql, name, OPENING) for name in bank.NAMES[:6]]
    readiness: list[int] = []
    stop_probe = threading.Event()

    def probe() -> None:
        with httpx.Client(base_url=stack.api.url) as probe_http:
            deadline = time.monotonic() + 120
            while not stop_probe.is_set() and time.monotonic() < deadline:
                try:
                    readiness.append(probe_http.get("/readyz", timeout=REQUEST_BUDGET).status_code)
                except httpx.HTTPError:
                    readiness.append(0)
                time.sleep(0.1)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    load = TransferLoad(stack.api.url, customers, threads=3, timeout=REQUEST_BUDGET).start()
    try:
        load.wait_for_successes(10)
        stack.pg.stop("fast")
        # While the database is away: readiness is false, a read is a 503 problem.
        bank.wait_until_status(http, "/readyz", 503, timeout=15)
        away = http.get(
            f"/v1/accounts/{customers[0].account_id}",
            headers=customers[0].headers,
            timeout=REQUEST_BUDGET,
        )
        assert away.status_code == 503, away.text
        assert away.headers["content-type"].startswith("application/problem+json")
        assert away.json()["code"] == "service_unavailable"
        assert away.headers["retry-after"]
        time.sleep(2.0)
        stack.pg.start()
        bank.wait_until_status(http, "/readyz", 200, timeout=30)
        load.wait_for_successes(10)  # the same process serves again
    finally:
        outcomes = load.stop()
        stop_probe.set()
        prober.join(timeout=REQUEST_BUDGET + 5)

    assert stack.api.starts == 1 and stack.api.alive(), "the API had to be restarted"
    assert 503 in readiness and readiness[-1] == 200
    assert 0 not in readiness, "readiness probe got no answer"
    assert outcomes.bad == [], "\n".join(stack.api.errors())
    attempts = outcomes.told_ok + outcomes.told_failed + outcomes.in_doubt
    assert all(a.error == "" for a in attempts), {a.error for a in attempts if a.error}
    assert max(a.elapsed for a in attempts) < REQUEST_BUDGET
    refused = [a for a in outcomes.in_doubt if a.status == 503]
    assert refused, "no request met the database outage"
    assert all(a.answer and a.answer["code"] == "service_unavailable" for a in refused)

    for attempt in outcomes.in_doubt:
        resolve(http, attempt)
    answers = final_answers(outcomes)
    check_answers_match_the_books(stack, answers)
    ok = [a for a in answers if a.status is not None and a.status < 300]
    check_balances(http, customers, bank.to_minor(OPENING), ok)
    reconcile_cli(stack)
