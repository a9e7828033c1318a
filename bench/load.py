"""Load test of the real server over HTTP: a mobile-banking mix on a PostgreSQL of its own.

    python bench/load.py [--seconds 30] [--users 16] [--customers 24] [--workers 2]
    python bench/load.py --soak --seconds 600      # memory must not grow

Starts a throwaway PostgreSQL cluster (Debian's initdb/pg_ctl, a free port) and
`python -m zhangyin serve` against it, registers customers over the API, then
runs `--users` concurrent clients for `--seconds`: 60% balance and history
reads, 25% transfers, 10% bill payments, 5% logins. Prints sustained requests/s,
p50/p95/p99 per operation, the error rate, the CPU used by the server and by
the database, and ends with one JSON line. In soak mode it samples the
server's memory and exits 1 if it kept growing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability import bank
from tests.reliability.stack import Stack

MIX = [("balance", 30), ("history", 30), ("transfer", 25), ("bill", 10), ("login", 5)]
OPENING = "1000000.00"


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)

    def record(self, op: str, started: float, ok: bool, status: str) -> None:
        self.latencies[op].append(time.perf_counter() - started)
        self.statuses[f"{op}:{status}"] += 1
        if not ok:
            self.errors[op] += 1


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _tree(process: psutil.Process) -> list[psutil.Process]:
    """The server and its worker processes (uvicorn forks one per `--workers`)."""
    return [process, *process.children(recursive=True)]


def api_cpu(process: psutil.Process) -> dict[int, float]:
    """CPU seconds per server process (key 0 unused: cpu_delta's slot for exited ones)."""
    seconds = {0: 0.0}
    for p in _tree(process):
        times = p.cpu_times()
        seconds[p.pid] = float(times.user + times.system)
    return seconds


def api_rss(process: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in _tree(process))


def database_cpu(stack: Stack) -> dict[int, float]:
    """CPU seconds of the cluster: each live process, and (key 0) the postmaster with the
    backends it has already reaped (their time lands in its children_* counters)."""
    pid = int((stack.pg.data / "postmaster.pid").read_text().split()[0])
    postmaster = psutil.Process(pid)
    own = postmaster.cpu_times()
    seconds = {0: own.user + own.system + own.children_user + own.children_system}
    for child in postmaster.children(recursive=True):
        try:
            times = child.cpu_times()
            seconds[child.pid] = times.user + times.system
        except psutil.Error:
            pass
    return seconds


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """Time used between two readings; a backend that exited in between is counted in key 0."""
    return after[0] - before[0] + sum(t - before.get(pid, 0.0) for pid, t in after.items() if pid)


def prepare(stack: Stack, http: httpx.Client, customers: int) -> list[bank.Customer]:
    """Customers with money, limits high enough for the run, and known payees (no step-up)."""
    people = [
        bank.register(http, stack.sql, bank.NAMES[i % len(bank.NAMES)], OPENING)
        for i in range(customers)
    ]
    # Bank configuration (the console's job): synthetic customers may transfer all day long.
    stack.sql("UPDATE identity_kyc_limits SET daily_count = 1000000, daily_amount_minor = 10^13")
    for i, payer in enumerate(people):
        for payee in (people[(i + 1) % customers], people[(i + 2) % customers]):
            answer = http.post(
                "/v1/transfers",
                json=bank.transfer_body(payer, payee, "1.00"),
                headers={**payer.headers, "Idempotency-Key": bank.key()},
            )
            bank.confirmed(http, stack.sql, payer, answer)
        paid = http.post(
            "/v1/bill-payments",
            json=bill_body(payer),
            headers={**payer.headers, "Idempotency-Key": bank.key()},
        )
        assert paid.status_code == 201, paid.text
    return people


def bill_body(payer: bank.Customer) -> dict[str, object]:
    return {
        "biller_id": "china-mobile",
        "bill_account": payer.phone,
        "from_account_id": payer.account_id,
        "amount": "30.00",
    }


async def client_loop(
    base_url: str,
    people: list[bank.Customer],
    deadline: float,
    results: Results,
    seed: int,
) -> None:
    rng = random.Random(seed)
    ops = [op for op, weight in MIX for _ in range(weight)]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        while time.monotonic() < deadline:
            op = rng.choice(ops)
            index = rng.randrange(len(people))
            me = people[index]
            started = time.perf_counter()
            try:
                if op == "balance":
                    r = await http.get(f"/v1/accounts/{me.account_id}", headers=me.headers)
                elif op == "history":
                    r = await http.get(
                        f"/v1/accounts/{me.account_id}/transactions", headers=me.headers
                    )
                elif op == "transfer":
                    payee = people[(index + rng.choice((1, 2))) % len(people)]
                    amount = f"{rng.randint(1, 5000) / 100:.2f}"
                    r = await http.post(
                        "/v1/transfers",
                        json=bank.transfer_body(me, payee, amount),
                        headers={**me.headers, "Idempotency-Key": uuid.uuid4().hex},
                    )
                elif op == "bill":
                    r = await http.post(
                        "/v1/bill-payments",
                        json=bill_body(me),
                        headers={**me.headers, "Idempotency-Key": uuid.uuid4().hex},
                    )
                else:
                    r = await http.post(
                        "/v1/sessions",
                        json={
                            "phone": me.phone,
                            "password": bank.PASSWORD,
                            "device_id": me.device_id,
                        },
                    )
                    http.cookies.clear()
                status = str(r.status_code)
                if op == "transfer" and r.status_code == 201:
                    status = r.json()["status"]
                results.record(op, started, r.status_code < 400, status)
            except httpx.HTTPError as exc:
                results.record(op, started, False, type(exc).__name__)


def run_load(
    stack: Stack, people: list[bank.Customer], users: int, seconds: float, soak: bool
) -> dict[str, object]:
    """Warm up (a quarter of the time, at least 10 s, not measured), then measure."""
    api = psutil.Process(stack.api.proc.pid if stack.api.proc else 0)
    rss: list[tuple[float, int]] = []
    results = Results()

    async def sample_memory(deadline: float) -> None:
        while time.monotonic() < deadline:
            rss.append((time.monotonic(), api_rss(api)))
            await asyncio.sleep(min(10.0, max(1.0, seconds / 30)))

    async def phase(duration: float, into: Results, watch: bool) -> None:
        deadline = time.monotonic() + duration
        loops = [client_loop(stack.api.url, people, deadline, into, i) for i in range(users)]
        await asyncio.gather(*([sample_memory(deadline)] if watch else []), *loops)

    asyncio.run(phase(max(10.0, seconds / 4), Results(), watch=False))
    cpu_api, cpu_db = api_cpu(api), database_cpu(stack)
    started = time.monotonic()
    asyncio.run(phase(seconds, results, watch=True))
    elapsed = time.monotonic() - started
    api_seconds = cpu_delta(cpu_api, api_cpu(api))
    db_seconds = cpu_delta(cpu_db, database_cpu(stack))
    total = sum(len(v) for v in results.latencies.values())
    errors = sum(results.errors.values())
    report: dict[str, object] = {
        "bench": "soak" if soak else "load",
        "seconds": round(elapsed, 1),
        "users": users,
        "customers": len(people),
        "requests": total,
        "rps": round(total / elapsed, 1),
        "error_rate": round(errors / total, 5) if total else None,
        "server_cpu_pct": round(100 * api_seconds / elapsed, 1),
        "db_cpu_pct": round(100 * db_seconds / elapsed, 1),
        "cores": psutil.cpu_count(),
        "ops": {
            op: {
                "count": len(values),
                "p50_ms": round(1000 * percentile(values, 0.50), 1),
                "p95_ms": round(1000 * percentile(values, 0.95), 1),
                "p99_ms": round(1000 * percentile(values, 0.99), 1),
                "errors": results.errors[op],
            }
            for op, values in sorted(results.latencies.items())
        },
        "statuses": dict(sorted(results.statuses.items())),
    }
    if rss:
        report.update(memory_verdict(rss))
    return report


def memory_verdict(rss: list[tuple[float, int]]) -> dict[str, object]:
    """Memory in the first third of the measured run (after the warm-up) against the last."""
    values = [r for _, r in rss]
    warm = values
    early = statistics.median(warm[: max(1, len(warm) // 3)])
    late = statistics.median(warm[-max(1, len(warm) // 3) :])
    growth = (late - early) / early if early else 0.0
    # Allow allocator noise: growth must stay under 20% or under 40 MB.
    grows = growth > 0.20 and late - early > 40 * 2**20
    return {
        "rss_mb_start": round(values[0] / 2**20, 1),
        "rss_mb_warm": round(early / 2**20, 1),
        "rss_mb_end": round(late / 2**20, 1),
        "rss_growth_pct": round(100 * growth, 1),
        "memory_grows": grows,
        "rss_samples": len(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--users", type=int, default=16, help="concurrent clients")
    parser.add_argument("--customers", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2, help="API worker processes")
    parser.add_argument("--soak", action="store_true", help="watch memory; exit 1 if it grows")
    args = parser.parse_args()
    stack = Stack()
    try:
        stack.api.start(workers=args.workers)
        with httpx.Client(base_url=stack.api.url, timeout=30) as http:
            people = prepare(stack, http, args.customers)
        report = run_load(stack, people, args.users, args.seconds, args.soak)
        reconciled = "reconciled: no differences" in _reconcile(stack)
    finally:
        stack.close()
    report["reconciled"] = reconciled
    report["workers"] = args.workers
    report["machine"] = (
        f"{platform.machine()} {psutil.cpu_count()} cores {platform.python_version()}"
    )
    print(
        f"{report['bench']}: {report['requests']} requests in {report['seconds']} s "
        f"= {report['rps']} req/s, error rate {report['error_rate']}, "
        f"server CPU {report['server_cpu_pct']}%, database CPU {report['db_cpu_pct']}%"
    )
    ops = report["ops"]
    assert isinstance(ops, dict)
    for op, figures in ops.items():
        print(
            f"  {op:<9} n={figures['count']:<6} p50 {figures['p50_ms']} ms  "
            f"p95 {figures['p95_ms']} ms  p99 {figures['p99_ms']} ms  "
            f"errors {figures['errors']}"
        )
    if "rss_mb_end" in report:
        print(
            f"  memory   {report['rss_mb_warm']} MB after warm-up -> {report['rss_mb_end']} MB "
            f"({report['rss_growth_pct']}%), grows: {report['memory_grows']}"
        )
    print(json.dumps(report, ensure_ascii=False))
    failed = not reconciled or (args.soak and bool(report.get("memory_grows")))
    return 1 if failed else 0


def _reconcile(stack: Stack) -> str:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "zhangyin", "ledger", "reconcile"],
        env=stack.api._environment(),
        cwd=stack.root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout


if __name__ == "__main__":
    raise SystemExit(main())
