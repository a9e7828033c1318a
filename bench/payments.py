"""Intra-bank transfers end to end over HTTP, against the ledger alone, in one run.

    python bench/payments.py [--clients 32] [--seconds 30] [--workers 2]

On a throwaway PostgreSQL database:
(a) the real server (uvicorn, `zhangyin.asgi:app`, --workers processes) takes
    POST /v1/transfers from --clients concurrent customers for --seconds: each
    request is authenticated (session check), asks risk for a decision, checks
    limits and posts through the ledger, under an Idempotency-Key;
(b) the HTTP floor: GET /healthz (no authentication, no database) through the
    same server and the same client, for up to 10 s: what the HTTP stack alone
    serves on this machine at --clients in flight;
(c) the anchor: `zhangyin.ledger.service.transfer` called in a loop by the same
    number of threads on the same database for the same time.
Prints transfers/s, p50/p99 latency, the ratio to the ledger-only figure, and
ends with one JSON line. Set-up raises the KYC class I daily count in the
throwaway database (a benchmark customer makes thousands of transfers a day).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import httpx
import psutil
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.pg import throwaway_database, url_for
from zhangyin.db import Database
from zhangyin.identity import service as identity
from zhangyin.identity.models import KycLevel, SmsMessage, SmsPurpose
from zhangyin.identity.policy import IdentityPolicy
from zhangyin.identity.ratelimit import MemoryCounters
from zhangyin.identity.tokens import AccessClaims, TokenSigner
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.migrate import upgrade
from zhangyin.money import Money

PASSWORD = "Bench2026pass"
SECRET = "bench-payments-" + secrets.token_hex(8)


def _id_number(index: int) -> str:
    from stdnum.cn import ric

    body = f"110101199003{index % 28 + 1:02d}{index % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def make_customers(db: Database, count: int) -> list[dict[str, object]]:
    """Registered class-I customers with funded accounts and access tokens."""
    policy = IdentityPolicy()
    signer = TokenSigner(SECRET)
    db.run(
        lambda s: s.execute(
            text(
                "UPDATE identity_kyc_limits SET daily_count = 1000000, "
                "daily_amount_minor = 100000000000 WHERE level = 'I'"
            )
        )
    )
    customers: list[dict[str, object]] = []
    for i in range(count):
        phone = f"1390000{i:04d}"
        device = f"bench-device-{i:04d}"

        def send_code(s: Session, phone: str = phone) -> str:
            identity.request_sms_code(s, phone, SmsPurpose.REGISTER, policy)
            s.flush()
            message = s.scalar(
                select(SmsMessage.text)
                .where(SmsMessage.phone == phone)
                .order_by(SmsMessage.id.desc())
            )
            found = re.search(r"[0-9]{6}", message or "")
            assert found is not None
            return found.group(0)

        code = db.run(send_code)

        def enrol(
            s: Session, phone: str = phone, device: str = device, n: int = i, code: str = code
        ) -> Any:
            registration = identity.register_customer(
                s,
                phone=phone,
                sms_code=code,
                name=f"客户{n:02d}",
                id_number=_id_number(n),
                password=PASSWORD,
                privacy_version=policy.privacy_policy_version,
                device_key=device,
                policy=policy,
                counters=MemoryCounters(),
            )
            identity.set_kyc_level(s, registration.customer.id, KycLevel.I)
            cash = ledger.bank_account(s, AccountKind.BANK_CASH)
            ledger.transfer(
                s, ledger.TransferOrder(cash.id, registration.account.id, Money(10**11, "CNY"))
            )
            return registration

        registration = db.run(enrol)

        def login(s: Session, phone: str = phone, device: str = device) -> Any:
            return identity.login_with_password(
                s, phone=phone, password=PASSWORD, device_key=device, ip="127.0.0.1", policy=policy
            )

        grant = db.run(login).grant
        assert grant is not None
        token = signer.issue(
            AccessClaims(
                "customer", grant.subject_id, grant.session_id, grant.device_id, grant.auth_methods
            ),
            timedelta(hours=2),
        )
        account = registration.account
        customers.append(
            {
                "id": registration.customer.id,
                "token": token,
                "account_id": account.id,
                "number": account.number,
                "name": account.name,
            }
        )
    return customers


def start_server(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ZHANGYIN_SECRET_KEY": SECRET,
        "LOG_LEVEL": "WARNING",
        "ZHANGYIN_CLEARING_URL": "http://127.0.0.1:9",  # no clearing house: jobs back off
    }
    log = tempfile.NamedTemporaryFile(prefix="zy-bench-server-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "zhangyin.asgi:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=log,
        stderr=log,  # a file, not a pipe: a full pipe would stall the server
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"server did not start; see {log.name}")


def server_cpu(server: psutil.Process) -> float:
    """CPU seconds of the server and its worker processes so far."""
    total = 0.0
    for process in (server, *server.children(recursive=True)):
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


#: One request of a client loop: its HTTP status and, for a transfer, the transfer's status.
Send = Callable[[aiohttp.ClientSession, int], Awaitable[tuple[int, str | None]]]


async def closed_loop(
    session: aiohttp.ClientSession, clients: int, seconds: float, send: Send
) -> list[tuple[float, int, str | None]]:
    """`clients` loops, each sending its next request when the last is answered:
    (latency, HTTP status, transfer status) of every answer."""
    answers: list[tuple[float, int, str | None]] = []
    until = time.perf_counter() + seconds

    async def one_client(index: int) -> None:
        while time.perf_counter() < until:
            started = time.perf_counter()
            status, outcome = await send(session, index)
            answers.append((time.perf_counter() - started, status, outcome))

    await asyncio.gather(*(one_client(i) for i in range(clients)))
    return answers


async def http_phase(
    port: int,
    customers: list[dict[str, object]],
    clients: int,
    seconds: float,
    server: psutil.Process,
) -> tuple[int, list[float], Counter[str], float, list[float]]:
    """(completed transfers, their latencies, outcomes, server CPU seconds) of the timed run,
    then the latencies of the HTTP floor: GET /healthz through the same server and client.

    The client is aiohttp: httpx's AsyncClient spent about 6 ms of CPU per request
    at 32 connections here, a large share of a 2-core machine that the server needs.
    """
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        f"http://127.0.0.1:{port}", connector=connector, timeout=aiohttp.ClientTimeout(total=30)
    ) as session:

        async def transfer(session: aiohttp.ClientSession, index: int) -> tuple[int, str | None]:
            payer = customers[index]
            payee = customers[(index + 1) % len(customers)]
            async with session.post(
                "/v1/transfers",
                json={
                    "from_account_id": payer["account_id"],
                    "to_account_number": payee["number"],
                    "to_name": payee["name"],
                    "amount": "1.00",
                },
                headers={
                    "Authorization": f"Bearer {payer['token']}",
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            ) as response:
                body = await response.json(content_type=None)
                return response.status, body.get("status") if response.status == 201 else None

        async def healthz(session: aiohttp.ClientSession, index: int) -> tuple[int, str | None]:
            async with session.get("/healthz") as response:
                await response.read()
                return response.status, None

        # Warm up: every pair once (also makes each payee a known one for risk).
        await closed_loop(session, clients, 0.5, transfer)
        cpu = server_cpu(server)
        timed = await closed_loop(session, clients, seconds, transfer)
        cpu = server_cpu(server) - cpu
        floor = await closed_loop(session, clients, min(seconds, 10.0), healthz)
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    for elapsed, status, outcome in timed:
        if status == 201 and outcome is not None:
            statuses[outcome] += 1
            latencies.append(elapsed)
        else:
            statuses[f"http_{status}"] += 1
    return statuses["completed"], latencies, statuses, cpu, [a[0] for a in floor if a[1] == 200]


def ledger_phase(
    db: Database, customers: list[dict[str, object]], clients: int, seconds: float
) -> int:
    done = [0] * clients
    until = time.perf_counter() + seconds

    def worker(index: int) -> None:
        payer = customers[index]["account_id"]
        payee = customers[(index + 1) % len(customers)]["account_id"]
        assert isinstance(payer, int)
        assert isinstance(payee, int)
        order = ledger.TransferOrder(payer, payee, Money(100, "CNY"))
        while time.perf_counter() < until:
            db.run(lambda s: ledger.transfer(s, order))
            done[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()

    with throwaway_database("zy_bench_payments") as name:
        url = url_for(name)
        db = Database(url, pool_size=args.clients)
        upgrade(db)
        customers = make_customers(db, args.clients)
        server = start_server(url, args.port, args.workers)
        try:
            completed, latencies, statuses, cpu_seconds, floor = asyncio.run(
                http_phase(
                    args.port, customers, args.clients, args.seconds, psutil.Process(server.pid)
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        ledger_count = ledger_phase(db, customers, args.clients, args.seconds)
        problems = db.run(ledger.reconcile)
        db.dispose()

    tps = completed / args.seconds
    ledger_tps = ledger_count / args.seconds
    p50 = percentile(latencies, 0.50) * 1000
    p99 = percentile(latencies, 0.99) * 1000
    ratio = tps / ledger_tps if ledger_tps else 0.0
    answered = sum(statuses.values())
    cpu_ms = cpu_seconds * 1000 / answered if answered else float("nan")
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    print(f"outcomes: {dict(statuses)}; reconciliation: {problems if problems else 'clean'}")
    print(
        f"payments over HTTP ({args.clients} clients, {args.workers} workers, "
        f"{args.seconds:.0f} s): {tps:.1f} transfers/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(f"server CPU per answered request: {cpu_ms:.1f} ms (all its processes)")
    print(f"ledger.service.transfer alone ({args.clients} threads): {ledger_tps:.1f} transfers/s")
    print(f"load average at the end: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"ratio to the ledger-only figure: {ratio:.2f}")
    floor_seconds = min(args.seconds, 10.0)
    floor_per_s = len(floor) / floor_seconds
    floor_p50 = percentile(floor, 0.50) * 1000
    floor_p99 = percentile(floor, 0.99) * 1000
    needed = args.clients / 0.050
    print(
        f"HTTP floor, GET /healthz (no auth, no database), same server and client: "
        f"{floor_per_s:.0f}/s, p50 {floor_p50:.1f} ms, p99 {floor_p99:.1f} ms"
    )
    print(
        f"{args.clients} clients each waiting for its answer keep p99 under 50 ms only at "
        f"{needed:.0f} answers/s or more (Little's law)"
    )
    print(
        json.dumps(
            {
                "bench": "payments",
                "transfers_per_s": round(tps, 1),
                "p50_ms": round(p50, 1),
                "p99_ms": round(p99, 1),
                "ledger_only_per_s": round(ledger_tps, 1),
                "ratio_to_ledger": round(ratio, 3),
                "server_cpu_ms_per_request": round(cpu_ms, 2),
                "floor_per_s": round(floor_per_s, 1),
                "floor_p50_ms": round(floor_p50, 1),
                "floor_p99_ms": round(floor_p99, 1),
                "clients": args.clients,
                "workers": args.workers,
                "seconds": args.seconds,
            }
        )
    )


if __name__ == "__main__":
    main()
