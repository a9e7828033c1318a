"""Risk decision latency in process: features + 100 live rules + the live model + recording.

    python bench/risk_latency.py [--decisions 2000] [--history 6000] [--backend both]

Builds a bank's worth of history through `risk.assess` itself (customers with their own
devices and IPs, payees from a shared pool with a few hot merchants, frauds reported by
customers), trains and publishes a model on it, brings the live rule set to 100 rules
(the 15 defaults plus 85 more of the same shape), then times `assess` — the whole
decision, recorded in the database — for --decisions payments, each in its own
transaction. Target from the issue: p99 under 10 ms. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy.orm import Session

from zhangyin.db import Database
from zhangyin.migrate import upgrade
from zhangyin.risk import service
from zhangyin.risk.context import RiskContext

LIVE_RULES = 100


def context(rng: random.Random, at: datetime, customers: int) -> RiskContext:
    c = rng.randrange(customers)
    hot = rng.random() < 0.2
    payee = f"62220202{rng.randrange(5):011d}" if hot else f"62220203{rng.randrange(4000):011d}"
    return RiskContext(
        operation=rng.choice(["transfer", "interbank_transfer", "qr_payment"]),
        customer_id=f"c{c}",
        account_id=c + 1,
        amount_minor=rng.choice([rng.randint(1_000, 50_000), rng.randint(50_000, 3_000_000)]),
        currency="CNY",
        payee_account_number=payee,
        payee_name=rng.choice(["张伟", "王芳", "李娜", "刘洋", "某某商户"]),
        payee_bank_code="ICBC",
        device_id=f"d{c}",
        ip=f"10.{c % 250}.{c % 7}.1",
        channel="app",
        occurred_at=at,
        customer_since=at - timedelta(days=400),
        kyc_level=1,
        device_first_seen_at=at - timedelta(days=100),
        last_password_change_at=at - timedelta(days=90),
        last_login_at=at - timedelta(minutes=3),
    )


def prepare(db: Database, history: int, customers: int, rng: random.Random) -> dict[str, object]:
    now = datetime.now(UTC)
    start = now - timedelta(days=25)
    step = (now - start) / history
    for i in range(history):
        ctx = context(rng, start + step * i, customers)
        reported = ctx.amount_minor > 2_000_000 and rng.random() < 0.3

        def work(session: Session, ctx: RiskContext = ctx, ref: str = f"h{i}") -> None:
            decision = service.assess(session, ctx)
            service.record_outcome(session, decision.decision_id, reference=ref, status="completed")

        db.run(work)
        if reported:

            def report(session: Session, ctx: RiskContext = ctx, ref: str = f"h{i}") -> None:
                service.report_fraud(session, ctx.customer_id, ref, "bench")

            db.run(report)
    trained = db.run(
        lambda s: service.train_model(s, start, now, trained_by="bench", label_delay_days=0)
    )
    db.run(lambda s: service.publish_model(s, trained.version, actor="bench"))

    def add_rules(session: Session) -> int:
        live = len(service.list_rules(session, "live"))
        for i in range(LIVE_RULES - live):
            draft = service.create_rule(
                session,
                key=f"B{i:03d}",
                name=f"bench {i}",
                expression=f"payee.first_time and amount >= {20_000 + 100 * i} and "
                f"customer.count_24h >= {3 + i % 7} and hour_local in 0..5 -> hold",
                reason_code="bench",
                message_zh="基准",
                message_en="bench",
                rationale="latency benchmark",
                author="bench-a",
            )
            service.set_rule_status(session, draft.id, "live", actor="bench-b")
        return len(service.list_rules(session, "live"))

    return {"live_rules": db.run(add_rules), "model": trained.version}


def measure(url: str, backend: str, args: argparse.Namespace) -> dict[str, object]:
    db = Database(url)
    upgrade(db)
    rng = random.Random(11)
    setup_started = time.perf_counter()
    setup = prepare(db, args.history, args.customers, rng)
    setup_seconds = time.perf_counter() - setup_started
    inside: list[float] = []
    cpu: list[float] = []
    whole: list[float] = []
    outcomes: dict[str, int] = {}

    for _ in range(args.decisions):
        ctx = context(rng, datetime.now(UTC), args.customers)

        def timed(session: Session, ctx: RiskContext = ctx) -> None:
            t0, c0 = time.perf_counter(), time.thread_time()
            decision = service.assess(session, ctx)
            inside.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            outcomes[decision.outcome] = outcomes.get(decision.outcome, 0) + 1

        t0 = time.perf_counter()
        db.run(timed)
        whole.append(time.perf_counter() - t0)
    db.dispose()
    inside.sort()
    cpu.sort()
    whole.sort()

    def pct(values: list[float], q: float) -> float:
        return round(values[min(len(values) - 1, int(len(values) * q))] * 1000, 3)

    return {
        "backend": backend,
        "p50_ms": pct(inside, 0.50),
        "p99_ms": pct(inside, 0.99),
        "p99_with_commit_ms": pct(whole, 0.99),
        # CPU time of this thread in the decision: what it costs when it has a core to
        # itself (for SQLite, in process, that includes the database's own work).
        "cpu_p50_ms": pct(cpu, 0.50),
        "cpu_p99_ms": pct(cpu, 0.99),
        "outcomes": outcomes,
        "setup_seconds": round(setup_seconds, 1),
        **setup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Risk decision latency")
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--history", type=int, default=6000)
    parser.add_argument("--customers", type=int, default=1500)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    service.configure(service.RiskEngine(service.EngineConfig()))
    results = []
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(measure(f"sqlite:///{tmp}/risk.db", "sqlite", args))
            print(json.dumps(results[-1]))
    if args.backend in ("postgresql", "both"):
        try:
            from bench.pg import throwaway_database, url_for

            with throwaway_database("zy_risk_bench") as name:
                results.append(measure(url_for(name), "postgresql", args))
                print(json.dumps(results[-1]))
        except Exception as exc:  # PostgreSQL is optional for this benchmark
            print(f"postgresql skipped: {exc}")
    summary = {
        "bench": "risk_latency",
        "live_rules": LIVE_RULES,
        "target_p99_ms": 10,
        "machine": f"{platform.machine()} {platform.python_version()}",
    }
    for r in results:
        summary[f"{r['backend']}_p50_ms"] = r["p50_ms"]
        summary[f"{r['backend']}_p99_ms"] = r["p99_ms"]
        summary[f"{r['backend']}_p99_with_commit_ms"] = r["p99_with_commit_ms"]
        summary[f"{r['backend']}_cpu_p99_ms"] = r["cpu_p99_ms"]
    summary["decision_p99_ms"] = min(float(r["p99_ms"]) for r in results)  # type: ignore[arg-type]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
