"""Demo data: a small bank so that a first `make run` shows something true.

Loaded once (it looks for its own marker account); `--force` loads another set.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind, LedgerAccount
from zhangyin.money import Money

DEMO_MARKER = "demo:loaded"

DEMO_CUSTOMERS = [
    ("demo-customer-1", "张伟", 5_000_000),
    ("demo-customer-2", "李娜", 1_280_050),
    ("demo-customer-3", "王芳", 320_000),
]


def load_demo_data(db: Database, *, force: bool = False) -> bool:
    from zhangyin.analytics.demo import load_demo_events

    load_demo_events(db)  # 12 months of channel history for the dashboards (once)

    def work(session: Session) -> bool:
        if not force and session.scalar(
            select(LedgerAccount.id).where(LedgerAccount.code == DEMO_MARKER)
        ):
            return False
        cash = ledger.bank_account(session, AccountKind.BANK_CASH)
        ledger.bank_account(session, AccountKind.BANK_CLEARING)
        ledger.bank_account(session, AccountKind.BANK_FEES)
        ledger.bank_account(session, AccountKind.BANK_SUSPENSE)
        accounts = []
        for owner, name, deposit in DEMO_CUSTOMERS:
            account = ledger.open_account(
                session, kind=AccountKind.CUSTOMER_CURRENT, name=name, owner_id=owner
            )
            ledger.transfer(
                session,
                ledger.TransferOrder(
                    cash.id, account.id, Money(deposit, "CNY"), memo="柜台现金存入"
                ),
            )
            accounts.append(account)
        ledger.transfer(
            session,
            ledger.TransferOrder(accounts[0].id, accounts[1].id, Money(88_800, "CNY"), memo="房租"),
        )
        if (
            session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == DEMO_MARKER))
            is None
        ):
            ledger.open_account(
                session, kind=AccountKind.BANK_SUSPENSE, name="demo marker", code=DEMO_MARKER
            )
        from zhangyin.wealth.catalogue import install_demo_products

        install_demo_products(session)  # the wealth shelf (deposits, funds, pension)
        return True

    return db.run(work)
