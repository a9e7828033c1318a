"""Builders for payments tests: customers with funded accounts, transfers, balances."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.identity.factories import register
from zhangyin.clock import business_date, utcnow
from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind, LedgerPosting
from zhangyin.payments import clearing, interbank
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


def reconcile_clearing_days(
    db: Database, gateway: clearing.ClearingGateway
) -> interbank.ClearingReconciliation:
    """End of day for every business day the clearing account moved on, summed up.

    Not "today" read by the test: a transfer booked at 15:59:59 UTC belongs to the Beijing
    day that ends a second later, and a return may be booked on the day after its transfer.
    Every day must match; the sums are the test's whole traffic.
    """

    def work(session: Any) -> interbank.ClearingReconciliation:
        account = ledger.bank_account(session, AccountKind.BANK_CLEARING, "CNY")
        moments = session.scalars(
            select(LedgerPosting.created_at).where(LedgerPosting.account_id == account.id)
        ).all()
        days = sorted({business_date(moment) for moment in moments}) or [business_date(utcnow())]
        runs = [
            interbank.reconcile_clearing(session, gateway, days[0] + timedelta(days=offset))
            for offset in range((days[-1] - days[0]).days + 1)
        ]
        return interbank.ClearingReconciliation(
            day=days[-1],
            ours_net_minor=sum(run.ours_net_minor for run in runs),
            theirs_net_minor=sum(run.theirs_net_minor for run in runs),
            matched=all(run.matched for run in runs),
            pending_outgoing=runs[-1].pending_outgoing,
        )

    result: interbank.ClearingReconciliation = db.run(work)
    return result
