"""One customer's intra-bank transfers in process: SQL statements and CPU per transfer.

    python bench/payments_profile.py [--transfers 200] [--sqlite] [--show-sql]

On a throwaway PostgreSQL database (or a temporary SQLite file), two registered
customers; the app is driven through FastAPI's TestClient (no network, no
uvicorn), so the figures are the server's own work per request: statements
counted with a `before_cursor_execute` listener, process CPU time per transfer,
and the same for an authenticated GET /v1/accounts. Prints one JSON line at
the end. (The app runs in TestClient's threads, so a per-thread profiler such
as cProfile sees nothing there; use a whole-process one such as yappi.)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import event

from bench.payments import SECRET, make_customers
from bench.pg import throwaway_database, url_for
from zhangyin.app import create_app
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.migrate import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transfers", type=int, default=200)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--show-sql", action="store_true", help="print one transfer's statements")
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
        client = stack.enter_context(TestClient(app))

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

        def transfer() -> None:
            response = client.post(
                "/v1/transfers", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
            )
            assert response.status_code == 201, response.text
            assert response.json()["status"] == "completed", response.text

        for _ in range(20):  # warm-up: caches, the payee becomes a known one
            transfer()
        statements.clear()
        transfer()
        per_transfer = len(statements)
        if args.show_sql:
            for sql in statements:
                print(" ".join(sql.split())[:160])
        cpu = time.process_time()
        wall = time.perf_counter()
        for _ in range(args.transfers):
            transfer()
        transfer_cpu = (time.process_time() - cpu) / args.transfers * 1000
        transfer_wall = (time.perf_counter() - wall) / args.transfers * 1000

        statements.clear()
        assert client.get("/v1/accounts", headers=headers).status_code == 200
        get_statements = len(statements)
        cpu = time.process_time()
        for _ in range(args.transfers):
            client.get("/v1/accounts", headers=headers)
        get_cpu = (time.process_time() - cpu) / args.transfers * 1000

    print(
        f"transfer: {per_transfer} statements, {transfer_cpu:.2f} ms CPU, "
        f"{transfer_wall:.2f} ms wall; GET /v1/accounts: {get_statements} statements, "
        f"{get_cpu:.2f} ms CPU"
    )
    print(
        json.dumps(
            {
                "bench": "payments_profile",
                "backend": "sqlite" if args.sqlite else "postgresql",
                "transfer_statements": per_transfer,
                "transfer_cpu_ms": round(transfer_cpu, 2),
                "transfer_wall_ms": round(transfer_wall, 2),
                "accounts_statements": get_statements,
                "accounts_cpu_ms": round(get_cpu, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
