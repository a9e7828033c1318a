"""Small builders for identity tests: valid phones and ID numbers, registered customers, logins."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from stdnum.cn import ric

from zhangyin.db import Database
from zhangyin.identity.models import SmsMessage

PASSWORD = "Zhangyin2026ok"
PRIVACY_VERSION = "2026-01"


#: Every phone and ID number this test process has handed out. Random values alone
#: collide now and then (two ID numbers of one test share a birthday and sequence about
#: once in 365,000 pairs, and a run registers thousands of customers), and a collision
#: is a refused registration; values are therefore never handed out twice.
_issued: set[str] = set()


def unused(draw: Callable[[], str]) -> str:
    """A value from `draw` that this process has not handed out before."""
    while (value := draw()) in _issued:
        pass
    _issued.add(value)
    return value


def random_phone() -> str:
    return unused(lambda: "139" + f"{secrets.randbelow(10**8):08d}")


def id_number(born: date | None = None, region: str = "110101") -> str:
    """A valid resident ID, never one handed out before; by default born on a random day of 1990.

    A fixed birthday left only 1,000 numbers, so two customers of one test
    collided (registration refused) about once a thousand pairs.
    """

    def draw() -> str:
        birthday = born or date(1990, 1, 1) + timedelta(days=secrets.randbelow(365))
        body = f"{region}{birthday:%Y%m%d}{secrets.randbelow(1000):03d}"
        return body + ric.calc_check_digit(body + "0")

    return unused(draw)


def device_id() -> str:
    return "dev-" + uuid.uuid4().hex


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def messages(db: Database, phone: str) -> list[SmsMessage]:
    return list(
        db.run(
            lambda s: s.scalars(
                select(SmsMessage).where(SmsMessage.phone == phone).order_by(SmsMessage.id)
            ).all()
        )
    )


def last_code(db: Database, phone: str) -> str:
    """The six-digit code of the newest message to `phone` (the outbox is the phone)."""
    for message in reversed(messages(db, phone)):
        found = re.search(r"(?<!\d)(\d{6})(?!\d)", message.text)
        if found:
            return found.group(1)
    raise AssertionError(f"no code sent to {phone}")


def wrong_code(right: str) -> str:
    """A six-digit code that is not `right` (a fixed "000000" is the real code one time
    in a million)."""
    return f"{(int(right) + 1) % 1_000_000:06d}"


@dataclass
class Customer:
    customer_id: str
    phone: str
    password: str
    device_id: str
    id_number: str
    account: dict[str, Any]
    tokens: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


def register(
    client: TestClient,
    db: Database,
    *,
    phone: str | None = None,
    name: str = "张三",
    password: str = PASSWORD,
    login: bool = True,
) -> Customer:
    """A registered customer whose registering device is trusted, logged in from it."""
    phone = phone or random_phone()
    sent = client.post("/v1/sms-codes", json={"phone": phone, "purpose": "register"})
    assert sent.status_code == 202, sent.text
    device = device_id()
    number = id_number()
    created = client.post(
        "/v1/customers",
        json={
            "phone": phone,
            "sms_code": last_code(db, phone),
            "name": name,
            "id_number": number,
            "password": password,
            "accept_privacy_version": PRIVACY_VERSION,
            "device_id": device,
        },
        headers=idem(),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    customer = Customer(
        customer_id=body["customer"]["id"],
        phone=phone,
        password=password,
        device_id=device,
        id_number=number,
        account=body["account"],
    )
    if login:
        customer.tokens = password_login(client, customer)
    return customer


def password_login(client: TestClient, customer: Customer) -> dict[str, Any]:
    response = client.post(
        "/v1/sessions",
        json={
            "phone": customer.phone,
            "password": customer.password,
            "device_id": customer.device_id,
        },
    )
    assert response.status_code == 201, response.text
    tokens: dict[str, Any] = response.json()
    client.cookies.clear()  # tests authenticate with the bearer header unless they say otherwise
    return tokens


def login_from_new_device(
    client: TestClient, db: Database, customer: Customer, device: str | None = None
) -> dict[str, Any]:
    device = device or device_id()
    first = client.post(
        "/v1/sessions",
        json={"phone": customer.phone, "password": customer.password, "device_id": device},
    )
    assert first.status_code == 401 and first.json()["code"] == "second_factor_required"
    second = client.post(
        "/v1/sessions/second-factor",
        json={
            "challenge_id": first.json()["challenge_id"],
            "sms_code": last_code(db, customer.phone),
        },
    )
    assert second.status_code == 201, second.text
    client.cookies.clear()
    tokens: dict[str, Any] = second.json()
    return tokens


def row_counts(db: Database) -> dict[str, int]:
    """Rows per identity table plus ledger accounts: a refused request changes none of them."""
    from sqlalchemy import func

    from zhangyin.db import Base
    from zhangyin.ledger.models import LedgerAccount

    def work(session: Any) -> dict[str, int]:
        counts = {}
        for table in Base.metadata.sorted_tables:
            if table.name.startswith("identity_") and table.name not in (
                "identity_sms_outbox",
                "identity_sms_codes",
                "identity_audit_log",
            ):
                counts[table.name] = session.scalar(select(func.count()).select_from(table))
        counts["ledger_accounts"] = session.scalar(select(func.count()).select_from(LedgerAccount))
        return counts

    result: dict[str, int] = db.run(work)
    return result


def registration_body(phone: str, code: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "phone": phone,
        "sms_code": code,
        "name": "李四",
        "id_number": id_number(),
        "password": PASSWORD,
        "accept_privacy_version": PRIVACY_VERSION,
    }
    body.update(overrides)
    return body


def staff_headers(client: TestClient, db: Database, *roles: str) -> dict[str, str]:
    """A staff member with `roles`, logged in to the console."""
    from zhangyin.identity import service

    username = "staff" + secrets.token_hex(4)
    db.run(
        lambda s: service.create_staff(
            s, username=username, name="赵六", password=PASSWORD, roles=list(roles)
        )
    )
    login = client.post("/v1/console/sessions", json={"username": username, "password": PASSWORD})
    assert login.status_code == 201, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}
