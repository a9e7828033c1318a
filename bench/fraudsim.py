"""A transaction simulator with three fraud scenarios, written from the published description
of the simulator in Le Borgne, Siblini, Lebichot, Bontempi, "Reproducible Machine Learning
for Credit Card Fraud Detection - Practical Handbook" (Université Libre de Bruxelles, 2022),
chapter 3.2 "Transaction data simulator":
https://fraud-detection-handbook.github.io/fraud-detection-handbook/Chapter_3_GettingStarted/SimulatedDataset.html

Re-implemented here from that description (no code copied), vectorised with numpy:

* customer profiles: a location (x, y) uniform on a 100 x 100 grid; a mean amount uniform
  in [5, 100] with standard deviation half the mean; a mean number of transactions per day
  uniform in [0, 4];
* terminal profiles: a location uniform on the same grid;
* each customer uses the terminals within radius r (5) of their location;
* each day a customer makes Poisson(mean per day) transactions, at a time drawn from a
  normal around noon (sd 20,000 s) kept within the day, with an amount drawn from their
  normal (a negative draw is replaced by a uniform in [0, 2 x mean]), at a terminal
  drawn uniformly from the ones they use;
* fraud scenario 1: any amount above 220 is fraud;
* fraud scenario 2: each day two terminals are compromised, and all their transactions in
  the next 28 days are fraud;
* fraud scenario 3: each day three customers' credentials leak, and in the next 14 days a
  third of their transactions have their amount multiplied by 5 and are fraud.

    python bench/fraudsim.py --days 30    # prints the dataset's summary
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

START = datetime(2018, 4, 1, tzinfo=UTC)
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Transactions:
    """Transactions in time order (columns as numpy arrays)."""

    seconds: np.ndarray  # since START
    customer: np.ndarray
    terminal: np.ndarray
    amount: np.ndarray  # in currency units, 2 decimals
    fraud: np.ndarray  # 0/1
    scenario: np.ndarray  # 0 genuine, 1, 2 or 3

    @property
    def day(self) -> np.ndarray:
        return self.seconds // DAY_SECONDS

    def __len__(self) -> int:
        return len(self.seconds)


def simulate(
    n_customers: int = 5000,
    n_terminals: int = 10000,
    n_days: int = 183,
    radius: float = 5.0,
    seed: int = 0,
) -> Transactions:
    rng = np.random.default_rng(seed)
    cust_xy = rng.uniform(0, 100, size=(n_customers, 2))
    mean_amount = rng.uniform(5, 100, size=n_customers)
    std_amount = mean_amount / 2
    per_day = rng.uniform(0, 4, size=n_customers)
    term_xy = rng.uniform(0, 100, size=(n_terminals, 2))

    # Terminals within the radius of each customer (grid cells keep this cheap).
    cell = np.floor(term_xy / radius).astype(int)
    buckets: dict[tuple[int, int], list[int]] = {}
    for index, (cx, cy) in enumerate(cell):
        buckets.setdefault((int(cx), int(cy)), []).append(index)
    available: list[np.ndarray] = []
    for x, y in cust_xy:
        cx, cy = int(x // radius), int(y // radius)
        near = [
            t for dx in (-1, 0, 1) for dy in (-1, 0, 1) for t in buckets.get((cx + dx, cy + dy), [])
        ]
        near_arr = np.asarray(near, dtype=np.int64)
        if len(near_arr):
            dist = np.hypot(*(term_xy[near_arr] - (x, y)).T)
            near_arr = near_arr[dist < radius]
        available.append(near_arr)

    counts = rng.poisson(per_day[:, None], size=(n_customers, n_days))
    customer = np.repeat(np.repeat(np.arange(n_customers), n_days), counts.ravel())
    day = np.repeat(np.tile(np.arange(n_days), n_customers), counts.ravel())
    n = len(customer)
    second_of_day = np.rint(rng.normal(DAY_SECONDS / 2, 20_000, size=n)).astype(np.int64)
    amount = rng.normal(mean_amount[customer], std_amount[customer])
    negative = amount < 0
    amount[negative] = rng.uniform(0, 2 * mean_amount[customer[negative]])
    amount = np.round(amount, 2)
    keep = (second_of_day > 0) & (second_of_day < DAY_SECONDS)
    has_terminal = np.asarray([len(a) > 0 for a in available])[customer]
    keep &= has_terminal
    customer, day, second_of_day, amount = (
        customer[keep],
        day[keep],
        second_of_day[keep],
        amount[keep],
    )
    sizes = np.asarray([len(a) for a in available])
    pick = np.floor(rng.uniform(0, 1, size=len(customer)) * sizes[customer]).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    flat = np.concatenate([a for a in available if len(a)] or [np.asarray([], dtype=np.int64)])
    terminal = flat[offsets[customer] + pick]
    seconds = day * DAY_SECONDS + second_of_day
    order = np.argsort(seconds, kind="stable")
    seconds, customer, terminal, amount, day = (
        seconds[order],
        customer[order],
        terminal[order],
        amount[order],
        day[order],
    )

    fraud = np.zeros(len(seconds), dtype=np.int8)
    scenario = np.zeros(len(seconds), dtype=np.int8)
    # Scenario 1: large amounts.
    big = amount > 220
    fraud[big], scenario[big] = 1, 1
    # Scenario 2: compromised terminals, 28 days.
    for d in range(n_days):
        hit = rng.choice(n_terminals, size=2, replace=False)
        window = (day >= d) & (day < d + 28) & np.isin(terminal, hit)
        fraud[window], scenario[window] = 1, 2
    # Scenario 3: leaked credentials, 14 days, a third of the transactions x5.
    for d in range(n_days):
        hit = rng.choice(n_customers, size=3, replace=False)
        leaked = np.flatnonzero((day >= d) & (day < d + 14) & np.isin(customer, hit))
        if len(leaked) == 0:
            continue
        chosen = rng.choice(leaked, size=len(leaked) // 3, replace=False)
        amount[chosen] = np.round(amount[chosen] * 5, 2)
        fraud[chosen], scenario[chosen] = 1, 3
    return Transactions(seconds, customer, terminal, amount, fraud, scenario)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--terminals", type=int, default=10000)
    parser.add_argument("--days", type=int, default=183)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tx = simulate(args.customers, args.terminals, args.days, seed=args.seed)
    summary = {
        "bench": "fraudsim",
        "transactions": len(tx),
        "frauds": int(tx.fraud.sum()),
        "fraud_rate": round(float(tx.fraud.mean()), 5),
        "by_scenario": {str(s): int((tx.scenario == s).sum()) for s in (1, 2, 3)},
        "per_day": round(len(tx) / args.days, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
