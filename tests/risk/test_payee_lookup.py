"""Risk reads an in-bank payee's statement once, by the id payments already found."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.risk.factories import ctx
from tests.statements import counted
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money
from zhangyin.risk import service


def _payee_with_inflows(session: Session) -> tuple[ledger.AccountView, ledger.AccountView]:
    """A payee paid by three accounts, and one of those payers."""
    cash = ledger.bank_account(session, AccountKind.BANK_CASH, "CNY")
    payee = ledger.open_account(
        session, kind=AccountKind.CUSTOMER_CURRENT, currency="CNY", name="收款人", owner_id="p"
    )
    payer = payee
    for i in range(3):
        payer = ledger.open_account(
            session,
            kind=AccountKind.CUSTOMER_CURRENT,
            currency="CNY",
            name=f"付款人{i}",
            owner_id=f"payer-{i}",
        )
        ledger.transfer(session, ledger.TransferOrder(cash.id, payer.id, Money(50_000, "CNY")))
        ledger.transfer(session, ledger.TransferOrder(payer.id, payee.id, Money(40_000, "CNY")))
    return payee, payer


def test_a_known_payee_account_id_saves_the_lookup_by_number_and_changes_no_fact(
    db: Database,
) -> None:
    payee, other = db.run(_payee_with_inflows)
    now = utcnow()
    by_number = ctx(payee_account_number=payee.number, occurred_at=now)
    by_id = ctx(payee_account_number=payee.number, occurred_at=now, payee_account_id=payee.id)
    # An id that is not the numbered account's is not trusted: risk looks the number up.
    wrong_id = ctx(payee_account_number=payee.number, occurred_at=now, payee_account_id=other.id)

    with counted(db) as looked_up:
        expected = db.run(lambda s: service.payee_ledger_facts(s, by_number))
    with counted(db) as given:
        found = db.run(lambda s: service.payee_ledger_facts(s, by_id))
    mismatched = db.run(lambda s: service.payee_ledger_facts(s, wrong_id))

    assert expected[0] is True and expected[1] is not None
    assert expected[1].distinct_payers_24h == 3
    assert found == expected
    assert mismatched == expected
    assert len(given) == len(looked_up) - 1
