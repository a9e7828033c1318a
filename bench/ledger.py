"""Ledger throughput against pgbench on the same PostgreSQL, in one run.

    python bench/ledger.py [--seconds 15] [--accounts 100000] [--workers 8]

(a) one transfer per database transaction through the service layer
    (`ledger.post_transfer`: the transfer is the whole transaction),
(a') the same inside a caller's unit of work (`db.run(ledger.transfer)`, as the
    REST API and payments post: BEGIN and COMMIT are round trips of their own),
(b) batches of 100 independent transfers per transaction (`ledger.post_batch`:
    the batch is the whole transaction),
(b') the same inside a caller's unit of work (`db.run(ledger.transfer_batch)`),
(c) a hot account: every transfer credits the same account, in batches of 100
    (`ledger.post_batch`).
Accounts are drawn at random from --accounts. Prints transfers/s, pgbench TPS
(TPC-B-like, --workers clients, scale 10, prepared statements) and the ratios,
then one JSON line. pgbench runs before and after the ledger modes and the
ratios use the mean of the two: on a machine shared with other work the load
moves during a run, and one anchor taken at the start skews every ratio. The
1-minute load average is printed with each figure.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import os
import platform
import random
import sys
import threading
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.pg import pgbench_tps, throwaway_database, url_for
from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.migrate import upgrade
from zhangyin.money import Money

BATCH = 100
MODES = ("single", "single_unit", "batch", "batch_unit", "hot")
OPENING_BALANCE = 10_000_000  # 100,000.00 CNY each, so random transfers rarely bounce


def prepare(url: str, accounts: int) -> tuple[list[int], int]:
    db = Database(url)
    upgrade(db)
    ids: list[int] = []
    for start in range(0, accounts, 5_000):
        owners = [(f"bench-{i}", f"客户{i}") for i in range(start, min(accounts, start + 5_000))]
        ids += db.run(
            partial(ledger.open_accounts_bulk, kind=AccountKind.CUSTOMER_CURRENT, owners=owners)
        )
    cash = db.run(lambda s: ledger.bank_account(s, AccountKind.BANK_CASH)).id
    for start in range(0, len(ids), 1_000):
        orders = [
            ledger.TransferOrder(cash, i, Money(OPENING_BALANCE, "CNY"))
            for i in ids[start : start + 1_000]
        ]
        db.run(partial(ledger.transfer_batch, orders=orders, linked=False))
    hot = db.run(
        lambda s: ledger.open_account(
            s, kind=AccountKind.CUSTOMER_CURRENT, name="热点商户", owner_id="hot"
        )
    ).id
    db.dispose()
    return ids, hot


#: Orders each worker draws before the clock starts: more than a worker posts in 15 s
#: here (about 200 single or 2,000 batched transfers a second each). It cycles through
#: them if it is faster.
DRAWN_SINGLE = 6_000
DRAWN_BATCHES = 500


def draw_orders(
    rng: random.Random, ids: list[int], count: int, credit_to: int | None
) -> list[ledger.TransferOrder]:
    """`count` transfers between accounts drawn at random (all into `credit_to` if given)."""
    orders = []
    for _ in range(count):
        debit, credit = rng.sample(ids, 2)
        amount = Money(rng.randint(1, 10_000), "CNY")
        orders.append(ledger.TransferOrder(debit, credit_to or credit, amount))
    return orders


def worker(
    mode: str,
    url: str,
    ids: list[int],
    hot: int,
    seconds: float,
    seed: int,
    start: threading.Barrier,
    out: mp.Queue[int],
) -> None:
    """Post for `seconds` after every worker is ready; put the number of transfers posted.

    The orders are drawn before the start, so the figure is the ledger's and not the
    load generator's (pgbench draws its own in C, at no cost worth counting).
    """
    rng = random.Random(seed)
    db = Database(url, pool_size=1)
    done = 0
    if mode in ("single", "single_unit"):
        singles = itertools.cycle(draw_orders(rng, ids, DRAWN_SINGLE, None))
    else:
        credit_to = hot if mode == "hot" else None
        batches = itertools.cycle(
            [draw_orders(rng, ids, BATCH, credit_to) for _ in range(DRAWN_BATCHES)]
        )
    start.wait()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        if mode in ("single", "single_unit"):
            order = next(singles)
            try:
                if mode == "single":
                    ledger.post_transfer(db, order)
                else:
                    db.run(partial(ledger.transfer, order=order))
                done += 1
            except DomainError:
                pass
        else:
            orders = next(batches)
            if mode == "batch_unit":
                results = db.run(partial(ledger.transfer_batch, orders=orders, linked=False))
            else:
                results = ledger.post_batch(db, orders, linked=False)
            done += sum(1 for r in results if r.transfer is not None)
    db.dispose()
    out.put(done)


def run_mode(mode: str, url: str, ids: list[int], hot: int, seconds: float, workers: int) -> float:
    ctx = mp.get_context("fork")
    out: mp.Queue[int] = ctx.Queue()
    start = ctx.Barrier(workers + 1)
    procs = [
        ctx.Process(target=worker, args=(mode, url, ids, hot, seconds, seed, start, out))
        for seed in range(workers)
    ]
    for p in procs:
        p.start()
    start.wait()
    started = time.perf_counter()
    total: int = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    elapsed = max(seconds, time.perf_counter() - started)
    return total / elapsed


def check_books(url: str) -> bool:
    db = Database(url)
    clean = not db.run(ledger.reconcile) and not any(db.run(ledger.total_by_currency).values())
    db.dispose()
    return clean


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    machine = f"{platform.node()} {platform.machine()} {mp.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    loads: dict[str, float] = {}

    def anchor(when: str) -> float:
        tps = pgbench_tps(clients=args.workers, seconds=int(args.seconds))
        loads[f"pgbench_{when}"] = os.getloadavg()[0]
        label = f"pgbench TPC-B-like, {args.workers} clients ({when}):"
        print(f"{label:<44} {tps:10.0f} tps          load {loads[f'pgbench_{when}']:.2f}")
        return tps

    before = anchor("before")
    with throwaway_database("zy_bench_ledger") as name:
        url = url_for(name)
        ids, hot = prepare(url, args.accounts)
        results = {}
        for mode in MODES:
            results[mode] = run_mode(mode, url, ids, hot, args.seconds, args.workers)
            loads[mode] = os.getloadavg()[0]
            label = f"ledger {mode} ({args.workers} workers):"
            print(f"{label:<44} {results[mode]:10.0f} transfers/s  load {loads[mode]:.2f}")
        books_balance = check_books(url)
    after = anchor("after")
    pgbench = (before + after) / 2
    for mode in MODES:
        print(f"{f'{mode} / mean pgbench:':<44} {results[mode] / pgbench:10.2f}x")
    print(f"reconciliation after the run: {'clean' if books_balance else 'DIFFERENCES'}")
    figures = {
        "bench": "ledger",
        "seconds": args.seconds,
        "accounts": args.accounts,
        "workers": args.workers,
        "pgbench_tps": round(pgbench),
        "pgbench_before_tps": round(before),
        "pgbench_after_tps": round(after),
        "load_1min": loads,
        **{f"{mode}_tps": round(results[mode]) for mode in MODES},
        **{f"{mode}_ratio": round(results[mode] / pgbench, 3) for mode in MODES},
        "books_balance": books_balance,
    }
    print(json.dumps(figures))
    if not books_balance:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
