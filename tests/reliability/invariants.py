"""What must hold after any fault: each answer matches the books, and the books balance."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterable

import httpx

from tests.reliability.bank import Customer, balance_minor, to_minor
from tests.reliability.load import Attempt, Outcomes
from tests.reliability.stack import Stack


def reconcile_cli(stack: Stack) -> str:
    """`python -m zhangyin ledger reconcile` against the stack's database: must exit 0."""
    result = subprocess.run(
        [sys.executable, "-m", "zhangyin", "ledger", "reconcile"],
        env=stack.api._environment(),
        cwd=stack.root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reconciled: no differences" in result.stdout
    return result.stdout


def check_answers_match_the_books(stack: Stack, attempts: Iterable[Attempt]) -> None:
    """Every 2xx answer is exactly one transfer in that state; every 4xx left nothing behind."""
    attempts = list(attempts)
    memos = [a.key for a in attempts]
    rows = stack.sql(
        "SELECT p.memo, p.id, p.status, l.status, l.posted_amount_minor, l.amount_minor "
        "FROM payments_transfers p LEFT JOIN ledger_transfers l ON l.id = p.ledger_transfer_id "
        "WHERE p.memo = ANY(%s)",
        memos,
    )
    by_memo: dict[str, list[tuple[object, ...]]] = {}
    for row in rows:
        by_memo.setdefault(str(row[0]), []).append(row)
    doubled = {m: len(r) for m, r in by_memo.items() if len(r) > 1}
    assert not doubled, f"one request made several transfers: {doubled}"
    for attempt in attempts:
        assert attempt.status is not None and attempt.answer is not None
        found = by_memo.get(attempt.key, [])
        if attempt.status < 300:
            assert len(found) == 1, f"told ok but {len(found)} transfers: {attempt.answer}"
            _, payment_id, status, ledger_status, posted, amount = found[0]
            assert payment_id == attempt.answer["id"]
            assert status == attempt.answer["status"]
            if status == "completed":
                assert ledger_status == "posted" and posted == amount
        else:
            assert found == [], f"told {attempt.status} but a transfer exists: {found}"


def check_balances(
    http: httpx.Client, customers: list[Customer], opening_minor: int, ok: Iterable[Attempt]
) -> None:
    """Each account's balance is its opening balance plus what the clients were told moved."""
    expected: Counter[int] = Counter({c.account_id: opening_minor for c in customers})
    numbers = {c.number: c.account_id for c in customers}
    for attempt in ok:
        assert attempt.answer is not None
        if attempt.answer["status"] != "completed":
            continue
        amount = to_minor(attempt.body["amount"])
        expected[attempt.payer.account_id] -= amount
        expected[numbers[attempt.body["to_account_number"]]] += amount
    actual = {c.account_id: balance_minor(http, c) for c in customers}
    assert actual == dict(expected)
    assert sum(actual.values()) == opening_minor * len(customers)


def final_answers(outcomes: Outcomes) -> list[Attempt]:
    return outcomes.told_ok + outcomes.told_failed + outcomes.in_doubt
