"""Builders for wealth tests: funded accounts, risk levels, products, moments in Beijing."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, date, datetime, time
from functools import cache

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.identity import factories as identity_factories
from tests.identity.factories import Customer
from zhangyin.clock import SHANGHAI
from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money
from zhangyin.wealth import catalogue, service, suitability


def beijing(day: date, at: time = time(10, 0)) -> datetime:
    """A moment given in Beijing time, as aware UTC."""
    return datetime.combine(day, at, tzinfo=SHANGHAI).astimezone(UTC)


@cache
def answers_for(level: int) -> dict[str, str]:
    """A full set of questionnaire answers that scores exactly `level`."""
    keys = [q.key for q in suitability.QUESTIONS]
    options = [[o.key for o in q.options] for q in suitability.QUESTIONS]
    for combo in itertools.product(*options):
        answers = dict(zip(keys, combo, strict=True))
        if suitability.score_answers(answers).level == level:
            return answers
    raise AssertionError(f"no answers give C{level}")


def funded_account(session: Session, customer_id: str, minor: int) -> int:
    account = ledger.open_account(
        session, kind=AccountKind.CUSTOMER_CURRENT, name="测试", owner_id=customer_id
    )
    if minor:
        cash = ledger.bank_account(session, AccountKind.BANK_CASH)
        ledger.transfer(session, ledger.TransferOrder(cash.id, account.id, Money(minor, "CNY")))
    return account.id


def new_customer(db: Database, minor: int = 10_000_000) -> tuple[str, int]:
    """A customer id (not registered with identity) and a funded current account."""
    customer_id = str(uuid.uuid4())
    return customer_id, db.run(lambda s: funded_account(s, customer_id, minor))


def assess(db: Database, customer_id: str, level: int, now: datetime) -> None:
    db.run(lambda s: service.submit_assessment(s, customer_id, answers_for(level), now))


def acknowledge(db: Database, customer_id: str, code: str, now: datetime) -> None:
    def work(s: Session) -> None:
        product = catalogue.get_product(s, code)
        service.acknowledge_documents(s, customer_id, code, product.document_version, now)

    db.run(work)


def ready_buyer(
    db: Database, codes: list[str], now: datetime, level: int = 5, minor: int = 10_000_000
) -> tuple[str, int]:
    """A funded customer of `level` who has read the documents of `codes`."""
    customer_id, account_id = new_customer(db, minor)
    assess(db, customer_id, level, now)
    for code in codes:
        acknowledge(db, customer_id, code, now)
    return customer_id, account_id


def demo_shelf(db: Database, today: date) -> None:
    def work(s: Session) -> None:
        for spec in catalogue.demo_specs(today):
            catalogue.create_product(s, spec)

    db.run(work)


def balance(db: Database, account_id: int) -> int:
    return db.run(lambda s: ledger.get_account(s, account_id).balance_minor)


def conserved(db: Database) -> None:
    """The ledger reconciles and every currency's postings sum to zero."""
    differences = db.run(ledger.reconcile)
    assert differences == [], differences
    totals = db.run(ledger.total_by_currency)
    assert all(total == 0 for total in totals.values()), totals


def register_born(client: TestClient, db: Database, born: date) -> Customer:
    """A registered, logged-in customer born on `born` (identity's factory with a chosen age)."""
    phone = identity_factories.random_phone()
    sent = client.post("/v1/sms-codes", json={"phone": phone, "purpose": "register"})
    assert sent.status_code == 202, sent.text
    device = identity_factories.device_id()
    number = identity_factories.id_number(born=born)
    created = client.post(
        "/v1/customers",
        json={
            "phone": phone,
            "sms_code": identity_factories.last_code(db, phone),
            "name": "王老师",
            "id_number": number,
            "password": identity_factories.PASSWORD,
            "accept_privacy_version": identity_factories.PRIVACY_VERSION,
            "device_id": device,
        },
        headers=identity_factories.idem(),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    customer = Customer(
        customer_id=body["customer"]["id"],
        phone=phone,
        password=identity_factories.PASSWORD,
        device_id=device,
        id_number=number,
        account=body["account"],
    )
    customer.tokens = identity_factories.password_login(client, customer)
    return customer
