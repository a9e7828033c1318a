"""Builders for payments tests: customers with funded accounts, transfers, balances."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.identity.factories import register
from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.payments.models import PaymentTransfer


@dataclass
class Payer:
    customer_id: str
    name: str
    phone: str
    account_id: int
    number: str
    headers: dict[str, str]


def idem(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or uuid.uuid4().hex}


def customer(
    client: TestClient, db: Database, name: str = "张三", deposit: str | None = "1000.00"
) -> Payer:
    """A registered, logged-in customer whose current account holds `deposit` yuan."""
    registered = register(client, db, name=name)
    accounts = client.get("/v1/accounts", headers=registered.headers)
    assert accounts.status_code == 200, accounts.text
    account = accounts.json()[0]
    payer = Payer(
        registered.customer_id,
        name,
        registered.phone,
        account["id"],
        account["number"],
        registered.headers,
    )
    if deposit:
        deposited = client.post(
            "/v1/dev/deposits",
            json={"account_number": payer.number, "amount": deposit},
            headers={**payer.headers, **idem()},
        )
        assert deposited.status_code == 201, deposited.text
    return payer


def transfer(
    client: TestClient,
    payer: Payer,
    to: Payer,
    amount: str = "100.00",
    key: str | None = None,
    **extra: Any,
) -> Any:
    body = {
        "from_account_id": payer.account_id,
        "to_account_number": to.number,
        "to_name": to.name,
        "amount": amount,
        **extra,
    }
    return client.post("/v1/transfers", json=body, headers={**payer.headers, **idem(key)})


def balance(db: Database, account_id: int) -> int:
    return db.run(lambda s: ledger.get_account(s, account_id)).balance_minor


def available(db: Database, account_id: int) -> int:
    return db.run(lambda s: ledger.get_account(s, account_id)).available_minor


def payments_count(db: Database) -> int:
    return int(db.run(lambda s: s.scalar(select(func.count()).select_from(PaymentTransfer))))


def assert_books_balance(db: Database) -> None:
    assert db.run(ledger.reconcile) == []
    assert all(total == 0 for total in db.run(ledger.total_by_currency).values())
