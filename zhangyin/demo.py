"""Demo data: a small bank so that a first `make run` shows something true.

Three retail customers who can log in to the app (phone + password, see
`DEMO_LOGINS`), with funded CNY current accounts and a little history, and a
console admin. Loaded once (it looks for its own marker account); `--force`
tops the same customers up again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind, LedgerAccount
from zhangyin.money import Money

DEMO_MARKER = "demo:loaded"
DEMO_PASSWORD = "Demo2026zy"  # noqa: S105 - printed demo login, demo data only
DEMO_STAFF = ("admin", "演示管理员")

#: phone, real name, resident ID number (valid check digits, fictitious people), deposit (fen)
DEMO_CUSTOMERS = [
    ("13800138001", "张伟", "110101198507151239", 5_000_000),
    ("13800138002", "李娜", "310104199002283025", 1_280_050),
    ("13800138003", "王芳", "440305198811046549", 320_000),
]


def _valid_id(number: str) -> str:
    """The demo ID with its check digit recomputed, so the list above cannot go stale."""
    from stdnum.cn import ric

    return number[:17] + ric.calc_check_digit(number)


def _customer_account(session: Session, phone: str, name: str, id_number: str) -> int:
    from zhangyin.identity import service as identity
    from zhangyin.identity.policy import default_policy

    existing = identity.find_customer_by_phone(session, phone)
    if existing is not None:
        return ledger.list_accounts(session, existing.id)[0].id
    created = identity.create_customer(
        session,
        phone=phone,
        name=name,
        id_number=_valid_id(id_number),
        password=DEMO_PASSWORD,
        privacy_version=default_policy().privacy_policy_version,
    )
    return created.account.id


def load_demo_data(
    db: Database, *, force: bool = False, echo: Callable[[str], None] | None = print
) -> bool:
    """Load the demo bank; `echo` (print by default) shows the demo logins once loaded."""

    from zhangyin.analytics.demo import load_demo_events

    load_demo_events(db)  # 12 months of channel history for the dashboards (once)

    def work(session: Session) -> bool:
        from zhangyin.identity import service as identity
        from zhangyin.identity.errors import StaffExists

        if not force and session.scalar(
            select(LedgerAccount.id).where(LedgerAccount.code == DEMO_MARKER)
        ):
            return False
        cash = ledger.bank_account(session, AccountKind.BANK_CASH)
        ledger.bank_account(session, AccountKind.BANK_CLEARING)
        ledger.bank_account(session, AccountKind.BANK_FEES)
        ledger.bank_account(session, AccountKind.BANK_SUSPENSE)
        accounts = []
        for phone, name, id_number, deposit in DEMO_CUSTOMERS:
            account_id = _customer_account(session, phone, name, id_number)
            ledger.transfer(
                session,
                ledger.TransferOrder(
                    cash.id, account_id, Money(deposit, "CNY"), memo="柜台现金存入"
                ),
            )
            accounts.append(account_id)
        ledger.transfer(
            session,
            ledger.TransferOrder(accounts[0], accounts[1], Money(88_800, "CNY"), memo="房租"),
        )
        try:
            with session.begin_nested():
                identity.create_staff(
                    session,
                    username=DEMO_STAFF[0],
                    name=DEMO_STAFF[1],
                    password=DEMO_PASSWORD,
                    roles=["admin"],
                )
        except StaffExists:
            pass
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

    loaded = db.run(work)
    if loaded and echo is not None:
        for line in demo_logins():
            echo(line)
    return loaded


def demo_logins() -> list[str]:
    """Lines to print after loading: who can log in, and where."""
    lines = [f"app      {phone}  {DEMO_PASSWORD}  ({name})" for phone, name, _, _ in DEMO_CUSTOMERS]
    lines.append(f"console  {DEMO_STAFF[0]}  {DEMO_PASSWORD}")
    lines.append("SMS codes (new devices): GET /v1/dev/sms?phone=<phone> with ZHANGYIN_DEMO=1")
    return lines
