"""Small builders for ledger tests."""

from __future__ import annotations

from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money


def cash_account(db: Database, currency: str = "CNY") -> ledger.AccountView:
    return db.run(lambda s: ledger.bank_account(s, AccountKind.BANK_CASH, currency))


def customer_account(
    db: Database,
    balance_minor: int = 0,
    *,
    currency: str = "CNY",
    overdraft_minor: int = 0,
    name: str = "测试客户",
) -> ledger.AccountView:
    """A customer current account, funded from the bank's cash account."""

    def work(session):  # type: ignore[no-untyped-def]
        account = ledger.open_account(
            session,
            kind=AccountKind.CUSTOMER_CURRENT,
            currency=currency,
            name=name,
            owner_id="owner-" + name,
            overdraft_limit_minor=overdraft_minor,
        )
        if balance_minor:
            cash = ledger.bank_account(session, AccountKind.BANK_CASH, currency)
            ledger.transfer(
                session, ledger.TransferOrder(cash.id, account.id, Money(balance_minor, currency))
            )
        return account

    account: ledger.AccountView = db.run(work)
    return account


def balance(db: Database, account_id: int) -> int:
    return db.run(lambda s: ledger.get_account(s, account_id)).balance_minor


def available(db: Database, account_id: int) -> int:
    return db.run(lambda s: ledger.get_account(s, account_id)).available_minor


def move(
    db: Database, debit_id: int, credit_id: int, minor: int, currency: str = "CNY"
) -> ledger.TransferView:
    return db.run(
        lambda s: ledger.transfer(
            s, ledger.TransferOrder(debit_id, credit_id, Money(minor, currency))
        )
    )


def assert_books_balance(db: Database) -> None:
    """The invariants every test ends on: reconciliation clean, every currency sums to zero."""
    assert db.run(ledger.reconcile) == []
    assert all(total == 0 for total in db.run(ledger.total_by_currency).values())
