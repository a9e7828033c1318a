"""One customer's intra-bank transfers in process: SQL statements and CPU per transfer.

    python bench/payments_profile.py [--transfers 200] [--sqlite] [--show-sql] [--profile 30]

On a throwaway PostgreSQL database (or a temporary SQLite file), two registered
customers; the app is driven through FastAPI's TestClient (no network, no
uvicorn), so the figures are the server's own work per request: statements
counted with a `before_cursor_execute` listener, process CPU time per transfer
(and the part of it spent outside the client's thread, i.e. by the app), and
the same for an authenticated GET /v1/accounts. Prints one JSON line at the end.

--profile N runs the transfers once more under cProfile and prints the top N
functions by own time and by cumulative time. The app runs in TestClient's
threads (its event loop and the threadpool), which a cProfile in the main
thread never sees, so every thread started after set-up gets its own profiler
(`threading.setprofile`), switched on only for the profiled loop, and their
statistics are merged. Times are each thread's CPU time. Profiling slows
everything down: the CPU figures come from the unprofiled loops.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
from fastapi.testclient import TestClient
from sqlalchemy import event

from bench.payments import SECRET, make_customers
from bench.pg import throwaway_database, url_for
from zhangyin.app import create_app
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.events import OutboxDispatcher
from zhangyin.migrate import upgrade


class ThreadProfiles:
    """One cProfile per thread started after `install`, recording only while `on` is set."""

    def __init__(self) -> None:
        self.on = False
        self.profiles: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def install(self) -> None:
        """Profile threads started from now on (start them after this, then set `on`)."""
        threading.setprofile(self._hook)

    def _hook(self, frame: FrameType, event: str, arg: Any) -> None:
        # Runs on every call in a new thread until profiling starts there; then the
        # thread's own profiler replaces this hook.
        if not self.on:
            return
        profile = cProfile.Profile(time.thread_time)  # CPU, not time spent waiting
        with self._lock:
            self.profiles.append(profile)
        profile.enable()

    def report(self, top: int, requests: int, dump: str | None = None) -> str:
        out = io.StringIO()
        stats: pstats.Stats | None = None
        for profile in self.profiles:
            profile.disable()  # a no-op in this thread; stops nothing elsewhere
            if stats is None:
                stats = pstats.Stats(profile, stream=out)
            else:
                stats.add(profile)
        if stats is None:
            return "no app thread was profiled\n"
        if dump:
            stats.dump_stats(dump)
        print(f"(cumulative over {requests} requests; divide by it for per request)", file=out)
        stats.strip_dirs().sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        return out.getvalue()


def thread_cpu() -> dict[str, float]:
    """CPU seconds so far of this process's live threads, summed by thread name."""
    names = {t.native_id: t.name for t in threading.enumerate()}
    totals: dict[str, float] = {}
    for t in psutil.Process().threads():
        name = names.get(t.id, "other")
        totals[name] = totals.get(name, 0.0) + t.user_time + t.system_time
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="timed loops; medians are printed")
    parser.add_argument(
        "--outbox-batch", type=int, default=20, help="dispatch the outbox every N transfers"
    )
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--show-sql", action="store_true", help="print one transfer's statements")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the top N costs under cProfile"
    )
    parser.add_argument("--profile-out", help="also save the merged profile here (pstats format)")
    args = parser.parse_args()

    with ExitStack() as stack:
        if args.sqlite:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{folder}/bench.db"
        else:
            url = url_for(stack.enter_context(throwaway_database("zy_bench_profile")))
        db = Database(url, pool_size=4)
        stack.callback(db.dispose)
        upgrade(db)
        customers = make_customers(db, 2)
        settings = Settings(DATABASE_URL=url, ZHANGYIN_SECRET_KEY=SECRET)
        app = create_app(settings, database=db, background_jobs=False)

        statements: list[str] = []

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*args: Any) -> None:
            statements.append(str(args[2]))

        payer, payee = customers
        headers = {"Authorization": f"Bearer {payer['token']}"}
        body = {
            "from_account_id": payer["account_id"],
            "to_account_number": payee["number"],
            "to_name": payee["name"],
            "amount": "1.00",
        }

        def transfer(client: TestClient) -> None:
            response = client.post(
                "/v1/transfers", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
            )
            assert response.status_code == 201, response.text
            assert response.json()["status"] == "completed", response.text

        dispatcher = OutboxDispatcher(db, app.state.publisher)

        def transfers(client: TestClient, count: int) -> None:
            for done in range(1, count + 1):
                transfer(client)
                if done % args.outbox_batch == 0 or done == count:
                    client.portal.call(dispatcher.drain)  # type: ignore[union-attr]

        transfer_cpu: list[float] = []
        app_cpu: list[float] = []
        transfer_wall: list[float] = []
        get_cpu: list[float] = []
        by_thread: dict[str, float] = {}
        with TestClient(app) as client:
            # Warm-up: caches, the payee becomes a known one.
            transfers(client, 20)
            statements.clear()
            transfer(client)
            per_transfer = len(statements)
            if args.show_sql:
                for sql in statements:
                    print(" ".join(sql.split())[:160])
            for _ in range(args.outbox_batch - 1):
                transfer(client)
            statements.clear()
            client.portal.call(dispatcher.drain)  # type: ignore[union-attr]
            outbox_per_transfer = len(statements) / args.outbox_batch
            statements.clear()
            assert client.get("/v1/accounts", headers=headers).status_code == 200
            get_statements = len(statements)

            for _ in range(args.runs):
                threads_before = thread_cpu()
                cpu = time.process_time()
                client_cpu = time.thread_time()
                wall = time.perf_counter()
                transfers(client, args.transfers)
                transfer_cpu.append((time.process_time() - cpu) / args.transfers * 1000)
                client_ms = (time.thread_time() - client_cpu) / args.transfers * 1000
                app_cpu.append(transfer_cpu[-1] - client_ms)
                transfer_wall.append((time.perf_counter() - wall) / args.transfers * 1000)
                for name, seconds in thread_cpu().items():
                    spent = (seconds - threads_before.get(name, 0.0)) / args.transfers * 1000
                    by_thread[name] = by_thread.get(name, 0.0) + spent / args.runs

                cpu = time.process_time()
                for _ in range(args.transfers):
                    client.get("/v1/accounts", headers=headers)
                get_cpu.append((time.process_time() - cpu) / args.transfers * 1000)

        if args.profile:
            # A fresh TestClient: new event loop and threadpool threads, each profiled.
            profiles = ThreadProfiles()
            profiles.install()
            profiles.on = True
            with TestClient(app) as client:
                transfers(client, args.transfers)
            threading.setprofile(None)
            print(profiles.report(args.profile, args.transfers, args.profile_out))

    result = {
        "bench": "payments_profile",
        "backend": "sqlite" if args.sqlite else "postgresql",
        "runs": args.runs,
        "transfers_per_run": args.transfers,
        "transfer_statements": per_transfer,
        "outbox_statements_per_transfer": round(outbox_per_transfer, 2),
        "transfer_cpu_ms": round(statistics.median(transfer_cpu), 2),
        "transfer_app_cpu_ms": round(statistics.median(app_cpu), 2),
        "transfer_wall_ms": round(statistics.median(transfer_wall), 2),
        "accounts_statements": get_statements,
        "accounts_cpu_ms": round(statistics.median(get_cpu), 2),
    }
    busy = sorted(by_thread.items(), key=lambda item: -item[1])
    print(
        "transfer CPU by thread (ms per request, mean of runs): "
        + ", ".join(f"{name} {ms:.2f}" for name, ms in busy if ms >= 0.05)
    )
    print(
        f"transfer: {per_transfer} statements (+{outbox_per_transfer:.2f} dispatching its "
        f"events), CPU ms per run {_fmt(transfer_cpu)} "
        f"(app threads {_fmt(app_cpu)}), wall ms {_fmt(transfer_wall)}; "
        f"GET /v1/accounts: {get_statements} statements, CPU ms {_fmt(get_cpu)}"
    )
    print(json.dumps(result))


def _fmt(values: list[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    main()
