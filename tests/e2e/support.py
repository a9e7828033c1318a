"""What the end-to-end tests and the screenshots share: the server they run against,
the browser's settings, and test data (random customers, the demo SMS inbox, deposits)."""

from __future__ import annotations

import contextlib
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.identity.factories import id_number, unused

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE_VIEWPORT = {"width": 390, "height": 844}

PASSWORD = "Zhangyin2026pass"
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华"
#: Requests of the tests' own (not the browser's): a loaded 2-core machine can take longer
#: than httpx's default of 5 s to register a customer (password hashing) or answer a poll.
HTTP_TIMEOUT = 30.0
#: The internal API token the test server is started with (billers report bills with it).
SERVICE_TOKEN = secrets.token_urlsafe(24)


class ServerDidNotStart(RuntimeError):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


#: How uvicorn says that another socket took the port first.
PORT_TAKEN = "address already in use"


def _ours_by_service_token(base: str) -> bool:
    """Our server knows SERVICE_TOKEN; another test process's server on the port would not."""
    answer = httpx.get(
        f"{base}/v1/ledger/transfers/00000000-0000-0000-0000-000000000000",
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
        timeout=10,
    )
    return answer.status_code not in (401, 403)


@contextlib.contextmanager
def running_server(
    workdir: Path,
    database_url: str,
    *,
    is_ours: Callable[[str], bool] = _ours_by_service_token,
    tries: int = 5,
) -> Iterator[str]:
    """`python -m zhangyin serve` on a free port, demo mode, a fresh migrated database.

    A port is free when asked for, not when the server binds it seconds later (it
    imports the app first): in the parallel run another worker's server or an outgoing
    connection can take it in between. Then uvicorn exits with "address already in
    use" or, worse, /healthz answers from someone else's server. So the port is picked
    last, a taken port means another try, and a server is accepted only when `is_ours`.
    """
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ZHANGYIN_DEMO": "1",
        "ZHANGYIN_SECRET_KEY": secrets.token_urlsafe(32),
        "HOST": "127.0.0.1",
        "LOG_LEVEL": "WARNING",
        "ZHANGYIN_SERVICE_TOKEN": SERVICE_TOKEN,
        # Every e2e customer of a worker's session-wide server comes from 127.0.0.1: the
        # per-IP limits (30 SMS and registrations an hour, 60 logins a minute) are for a
        # real population of phones, and the whole e2e suite on one worker exceeds them.
        "ZHANGYIN_SMS_PER_IP_PER_HOUR": "100000",
        "ZHANGYIN_LOGIN_PER_IP_PER_MINUTE": "100000",
    }
    for name in ("REDIS_URL", "NATS_URL"):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "zhangyin", "migrate"], cwd=workdir, env=env, check=True)
    for _ in range(tries):
        started = _start(workdir, env, is_ours)
        if started is not None:
            break
    else:
        raise ServerDidNotStart(f"no free port for the server after {tries} tries")
    process, base = started
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _start(
    workdir: Path, env: dict[str, str], is_ours: Callable[[str], bool]
) -> tuple[subprocess.Popen[bytes], str] | None:
    """The server up on a fresh port, or None when the port was taken before it bound."""
    port = _free_port()
    log_path = workdir / f"server-{port}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "zhangyin", "serve"],
            cwd=workdir,
            # Passkeys need a domain as the relying party: 127.0.0.1 is not one, `localhost`
            # is (and a secure context over http), so the server also accepts that origin.
            env={**env, "PORT": str(port), "ZHANGYIN_WEBAUTHN_ORIGINS": f"http://localhost:{port}"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a loaded 2-core machine starts slowly
    while True:
        if process.poll() is not None:
            if PORT_TAKEN in log_path.read_text().lower():
                return None
            raise ServerDidNotStart(f"server did not start: {log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200 and is_ours(base):
                return process, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            tail = log_path.read_text()[-2000:]
            raise ServerDidNotStart(f"server did not start in 120 s: {tail}")
        time.sleep(0.2)


# Phones and ID numbers are never handed out twice in this process (`unused`): one
# server serves all its e2e tests, so a repeated value would be a refused registration.


def random_phone() -> str:
    return unused(
        lambda: random.choice(["139", "138", "186", "177"]) + f"{random.randrange(10**8):08d}"
    )


def random_id_number() -> str:
    """A resident ID with a valid GB 11643 check character, never repeated."""
    return id_number()


def random_name() -> str:
    return random.choice(SURNAMES) + "".join(random.choices(GIVEN, k=2))


def latest_code(
    server: str, phone: str, *, after_id: int = 0, timeout: float = 30
) -> tuple[str, int]:
    """The newest 6-digit code sent to `phone` (newer than message `after_id`).

    It polls until the code is there: the browser's click, its request and the server's
    answer can take many seconds on a loaded machine, so the deadline is generous.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = httpx.get(
            f"{server}/v1/dev/sms", params={"phone": phone}, timeout=HTTP_TIMEOUT
        ).json()
        fresh = [m for m in messages if m["id"] > after_id]
        for message in sorted(fresh, key=lambda m: m["id"], reverse=True):
            found = re.search(r"(?<!\d)(\d{6})(?!\d)", message["text"])
            if found:
                return found.group(1), message["id"]
        time.sleep(0.2)
    raise AssertionError(f"no SMS code for {phone}")


def last_sms_id(server: str, phone: str) -> int:
    messages = httpx.get(
        f"{server}/v1/dev/sms", params={"phone": phone}, timeout=HTTP_TIMEOUT
    ).json()
    return max((m["id"] for m in messages), default=0)


@dataclass
class ApiCustomer:
    """A customer made over the API (the other side of a transfer, or a funder)."""

    phone: str
    name: str
    account_id: int
    account_number: str
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Idempotency-Key": str(uuid.uuid4())}


def api_customer(server: str) -> ApiCustomer:
    phone, name, device = random_phone(), random_name(), f"e2e-{secrets.token_hex(6)}"
    assert (
        httpx.post(
            f"{server}/v1/sms-codes",
            json={"phone": phone, "purpose": "register"},
            timeout=HTTP_TIMEOUT,
        ).status_code
        == 202
    )
    code, _ = latest_code(server, phone)
    created = httpx.post(
        f"{server}/v1/customers",
        json={
            "phone": phone,
            "sms_code": code,
            "name": name,
            "id_number": random_id_number(),
            "password": PASSWORD,
            "accept_privacy_version": "2026-01",
            "device_id": device,
        },
        headers={"Idempotency-Key": str(uuid.uuid4())},
        timeout=HTTP_TIMEOUT,
    )
    assert created.status_code == 201, created.text
    account = created.json()["account"]
    login = httpx.post(
        f"{server}/v1/sessions",
        json={"phone": phone, "password": PASSWORD, "device_id": device},
        timeout=HTTP_TIMEOUT,
    )
    assert login.status_code == 201, login.text
    return ApiCustomer(phone, name, account["id"], account["number"], login.json()["access_token"])


def deposit(server: str, by: ApiCustomer, account_number: str, amount: str) -> None:
    response = httpx.post(
        f"{server}/v1/dev/deposits",
        json={"account_number": account_number, "amount": amount},
        headers=by.headers(),
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 201, response.text


def add_bill(server: str, biller_id: str, bill_account: str, amount: str, holder: str) -> None:
    """A biller reports an amount owed (the internal API, with the service token)."""
    response = httpx.post(
        f"{server}/v1/payments/billers/{biller_id}/bills",
        json={
            "bill_account": bill_account,
            "holder_name": holder,
            "period": "2026-10",
            "amount": amount,
        },
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}", "Idempotency-Key": str(uuid.uuid4())},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 201, response.text


def transactions(server: str, customer: ApiCustomer) -> list[dict[str, str]]:
    response = httpx.get(
        f"{server}/v1/accounts/{customer.account_id}/transactions",
        headers={"Authorization": f"Bearer {customer.token}"},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, str]] = response.json()["transactions"]
    return items


def age_customer(database_url: str, customer_id: str, days: int = 60) -> None:
    """Make a customer one who has banked with us for a while: password and devices `days` old.

    Risk rightly holds large payments from a brand-new customer on a brand-new device
    (account-takeover pattern); a test about the second factor needs an established one.
    Test setup only: it writes identity's tables directly, around the service.
    """
    from datetime import timedelta

    from sqlalchemy import update

    from zhangyin.clock import utcnow
    from zhangyin.db import Database
    from zhangyin.identity.models import Customer, Device

    then = utcnow() - timedelta(days=days)
    database = Database(database_url)
    try:
        database.run(
            lambda s: (
                s.execute(
                    update(Customer)
                    .where(Customer.id == customer_id)
                    .values(password_changed_at=then, phone_changed_at=then)
                ),
                s.execute(
                    update(Device)
                    .where(Device.customer_id == customer_id)
                    .values(first_seen_at=then)
                ),
            )
        )
    finally:
        database.dispose()
