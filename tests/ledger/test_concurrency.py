"""Concurrent workers colliding on the same accounts, on real PostgreSQL."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest

from tests.ledger.factories import assert_books_balance, balance, customer_account
from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.ledger import service as ledger
from zhangyin.money import Money

WORKERS = 16
OPERATIONS_PER_WORKER = 40


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_sixteen_workers_colliding_keep_every_invariant(db: Database) -> None:
    accounts = [customer_account(db, 150_000, name=f"c{i}") for i in range(6)]
    hot = customer_account(db, 0, name="hot")
    start_total = sum(balance(db, a.id) for a in accounts)
    escaped: list[BaseException] = []
    into_hot = Counter[int]()
    outcomes = Counter[str]()
    lock = threading.Lock()
    barrier = threading.Barrier(WORKERS)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        barrier.wait()
        for _ in range(OPERATIONS_PER_WORKER):
            debit, credit = rng.sample(accounts, 2)
            amount = Money(rng.randint(1, 3_000), "CNY")
            kind = rng.random()
            try:
                if kind < 0.3:
                    db.run(
                        lambda s, d=debit, amt=amount: ledger.transfer(
                            s, ledger.TransferOrder(d.id, hot.id, amt)
                        )
                    )
                    with lock:
                        into_hot[seed] += amount.minor
                elif kind < 0.45:
                    held = db.run(
                        lambda s, d=debit, c=credit, amt=amount: ledger.hold(
                            s, ledger.TransferOrder(d.id, c.id, amt)
                        )
                    )
                    if rng.random() < 0.5:
                        db.run(lambda s, h=held: ledger.post_hold(s, h.id))
                    else:
                        db.run(lambda s, h=held: ledger.void_hold(s, h.id))
                elif kind < 0.55:
                    orders = [
                        ledger.TransferOrder(d.id, c.id, Money(rng.randint(1, 500), "CNY"))
                        for d, c in (rng.sample(accounts, 2) for _ in range(5))
                    ]
                    if rng.random() < 0.5:
                        db.run(lambda s, o=orders: ledger.transfer_batch(s, o, linked=True))
                    else:
                        ledger.post_batch(db, orders, linked=True)
                else:
                    db.run(
                        lambda s, d=debit, c=credit, amt=amount: ledger.transfer(
                            s, ledger.TransferOrder(d.id, c.id, amt)
                        )
                    )
                with lock:
                    outcomes["ok"] += 1
            except DomainError as refused:
                with lock:
                    outcomes[refused.code] += 1
            except BaseException as exc:  # a deadlock or serialisation error escaping is a failure
                with lock:
                    escaped.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung"
    assert escaped == []
    assert outcomes["ok"] > WORKERS * OPERATIONS_PER_WORKER // 2, (
        outcomes
    )  # collisions, not refusals
    assert set(outcomes) <= {"ok", "insufficient_funds", "batch_rejected"}, outcomes
    assert balance(db, hot.id) == sum(into_hot.values())
    assert sum(balance(db, a.id) for a in accounts) + balance(db, hot.id) == start_total
    for a in accounts:
        view = db.run(lambda s, a=a: ledger.get_account(s, a.id))
        assert view.available_minor >= 0 and view.pending_debits_minor == 0
    assert_books_balance(db)
