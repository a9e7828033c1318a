"""A customer of the bank over HTTP: register, log in, deposit, transfer, pay bills.

Only the public API is used, except that the one-time SMS code is read from the
SMS outbox table, as a phone would receive it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.identity.factories import id_number, random_phone

PASSWORD = "Zhangyin2026ok"
PRIVACY_VERSION = "2026-01"
NAMES = ["张三", "李四", "王五", "赵六", "钱七", "孙八", "周九", "吴十"]

SqlReader = Callable[..., list[tuple[Any, ...]]]


def key() -> str:
    return uuid.uuid4().hex


@dataclass
class Customer:
    phone: str
    name: str
    device_id: str
    account_id: int
    number: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def sms_code(sql: SqlReader, phone: str) -> str:
    rows = sql("SELECT text FROM identity_sms_outbox WHERE phone = %s ORDER BY id DESC", phone)
    for (text,) in rows:
        found = re.search(r"(?<!\d)(\d{6})(?!\d)", text)
        if found:
            return found.group(1)
    raise AssertionError(f"no code sent to {phone}")


def login(http: httpx.Client, phone: str, device_id: str, password: str = PASSWORD) -> str:
    response = http.post(
        "/v1/sessions", json={"phone": phone, "password": password, "device_id": device_id}
    )
    assert response.status_code == 201, response.text
    http.cookies.clear()
    token: str = response.json()["access_token"]
    return token


def register(
    http: httpx.Client, sql: SqlReader, name: str = "张三", deposit: str | None = "1000.00"
) -> Customer:
    """A registered, logged-in customer whose current account holds `deposit` yuan."""
    phone = random_phone()
    sent = http.post("/v1/sms-codes", json={"phone": phone, "purpose": "register"})
    assert sent.status_code == 202, sent.text
    device = "dev-" + uuid.uuid4().hex
    created = http.post(
        "/v1/customers",
        json={
            "phone": phone,
            "sms_code": sms_code(sql, phone),
            "name": name,
            "id_number": id_number(),
            "password": PASSWORD,
            "accept_privacy_version": PRIVACY_VERSION,
            "device_id": device,
        },
        headers={"Idempotency-Key": key()},
    )
    assert created.status_code == 201, created.text
    token = login(http, phone, device)
    account = http.get("/v1/accounts", headers={"Authorization": f"Bearer {token}"}).json()[0]
    customer = Customer(phone, name, device, int(account["id"]), str(account["number"]), token)
    if deposit:
        deposited = http.post(
            "/v1/dev/deposits",
            json={"account_number": customer.number, "amount": deposit},
            headers={**customer.headers, "Idempotency-Key": key()},
        )
        assert deposited.status_code == 201, deposited.text
    return customer


def transfer_body(payer: Customer, payee: Customer, amount: str, memo: str = "") -> dict[str, Any]:
    return {
        "from_account_id": payer.account_id,
        "to_account_number": payee.number,
        "to_name": payee.name,
        "amount": amount,
        "memo": memo,
    }


def balance_minor(http: httpx.Client, customer: Customer) -> int:
    response = http.get(f"/v1/accounts/{customer.account_id}", headers=customer.headers)
    assert response.status_code == 200, response.text
    return to_minor(response.json()["balance"])


def to_minor(amount: str) -> int:
    whole, _, cents = amount.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def wait_ready(http: httpx.Client, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if http.get("/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("API not ready")


def wait_until_status(http: httpx.Client, path: str, status: int, timeout: float) -> None:
    """Poll `path` until it answers `status` (bounded)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = http.get(path, timeout=5).status_code
            if last == status:
                return
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.1)
    raise TimeoutError(f"{path} did not answer {status} within {timeout} s (last: {last})")


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what}: not within {timeout} s")


def confirmed(
    http: httpx.Client, sql: SqlReader, payer: Customer, response: httpx.Response
) -> dict[str, Any]:
    """The transfer of `response`, after answering its step-up challenge (if risk asked one)."""
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    if body["status"] != "pending_challenge":
        return body
    answer = http.post(
        f"/v1/transfers/{body['id']}/confirm",
        json={"challenge_id": body["challenge_id"], "sms_code": sms_code(sql, payer.phone)},
        headers={**payer.headers, "Idempotency-Key": key()},
    )
    assert answer.status_code == 200, answer.text
    confirmed_body: dict[str, Any] = answer.json()
    return confirmed_body
