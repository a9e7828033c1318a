"""Password login cost against its anchor, the argon2id verify alone, in one run.

    python bench/login.py [--seconds 10] [--database-url sqlite:///...]

(a) anchor: one argon2id verify with the parameters identity uses (median CPU and
    wall milliseconds over --hashes runs);
(b) a full login through the HTTP API (POST /v1/sessions from a trusted device:
    rate limits, lookup, verify, session and refresh token, signed access token),
    one client, for --seconds. Prints logins/s, CPU ms per login and the share of
    it that is the hash, then one JSON line. The budget is well under 100 ms CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from zhangyin.app import create_app
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.identity import passwords, service
from zhangyin.identity.models import SmsPurpose
from zhangyin.identity.policy import IdentityPolicy
from zhangyin.identity.ratelimit import MemoryCounters
from zhangyin.migrate import upgrade

PASSWORD = "Bench2026pass"


def measure_hash(runs: int) -> tuple[float, float]:
    """Median (CPU ms, wall ms) of one argon2id verify."""
    hashed = passwords.hash_password(PASSWORD)
    cpu, wall = [], []
    for _ in range(runs):
        c0, w0 = time.process_time(), time.perf_counter()
        assert passwords.verify_password(hashed, PASSWORD)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - w0) * 1000)
    return statistics.median(cpu), statistics.median(wall)


def make_customer(db: Database, policy: IdentityPolicy) -> tuple[str, str]:
    from sqlalchemy import select

    from zhangyin.identity.models import SmsMessage

    phone = "13900000001"
    db.run(lambda s: service.request_sms_code(s, phone, SmsPurpose.REGISTER, policy))
    text = db.run(lambda s: s.scalar(select(SmsMessage.text).where(SmsMessage.phone == phone)))
    found = re.search(r"[0-9]{6}", text or "")
    assert found is not None
    code = found.group(0)
    device = "bench-device-0001"
    db.run(
        lambda s: service.register_customer(
            s,
            phone=phone,
            sms_code=code,
            name="测试",
            id_number=_id_number(),
            password=PASSWORD,
            privacy_version=policy.privacy_policy_version,
            device_key=device,
            policy=policy,
            counters=MemoryCounters(),
        )
    )
    return phone, device


def _id_number() -> str:
    from stdnum.cn import ric

    body = "11010119900307451"
    return body + ric.calc_check_digit(body + "0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--hashes", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    hash_cpu_ms, hash_wall_ms = measure_hash(args.hashes)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/login.db"
        db = Database(url)
        upgrade(db)
        policy = IdentityPolicy(login_per_ip_per_minute=10**9, login_per_phone_per_15min=10**9)
        phone, device = make_customer(db, policy)
        settings = Settings(DATABASE_URL=url, ZHANGYIN_SECRET_KEY="bench-login-secret")
        app = create_app(settings, database=db, background_jobs=False)
        app.state.identity_policy = policy
        body = {"phone": phone, "password": PASSWORD, "device_id": device}
        with TestClient(app) as client:
            assert client.post("/v1/sessions", json=body).status_code == 201  # warm up
            logins = 0
            c0, w0 = time.process_time(), time.perf_counter()
            while time.perf_counter() - w0 < args.seconds:
                response = client.post("/v1/sessions", json=body)
                assert response.status_code == 201, response.text
                logins += 1
            wall = time.perf_counter() - w0
            cpu = time.process_time() - c0
        db.dispose()

    logins_per_s = logins / wall
    cpu_ms_per_login = cpu * 1000 / logins
    hasher = passwords.HASHER
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(
        f"argon2id m={hasher.memory_cost} KiB t={hasher.time_cost} p={hasher.parallelism}: "
        f"verify {hash_cpu_ms:.1f} ms CPU, {hash_wall_ms:.1f} ms wall (anchor)"
    )
    print(
        f"login through the API: {logins_per_s:.1f} logins/s on one client, "
        f"{cpu_ms_per_login:.1f} ms CPU per login "
        f"({hash_cpu_ms / cpu_ms_per_login:.0%} of it is the hash)"
    )
    print(
        json.dumps(
            {
                "bench": "login",
                "logins_per_s": round(logins_per_s, 1),
                "cpu_ms_per_login": round(cpu_ms_per_login, 1),
                "hash_ms_median": round(hash_wall_ms, 1),
                "hash_cpu_ms_median": round(hash_cpu_ms, 1),
                "hash_share": round(hash_cpu_ms / cpu_ms_per_login, 2),
                "argon2": {
                    "m_kib": hasher.memory_cost,
                    "t": hasher.time_cost,
                    "p": hasher.parallelism,
                },
                "budget_cpu_ms": 100,
            }
        )
    )


if __name__ == "__main__":
    main()
