"""The database refuses bad money writes on its own: these tests go around the service."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import insert, text, update
from sqlalchemy.exc import IntegrityError

from tests.ledger.factories import customer_account, move
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import LedgerAccount, LedgerPosting, LedgerTransfer
from zhangyin.migrate import alembic_config, upgrade


def test_a_posting_cannot_be_changed_or_deleted(db: Database) -> None:
    a = customer_account(db, 1_000)
    with pytest.raises(IntegrityError):
        db.run(
            lambda s: s.execute(
                update(LedgerPosting).where(LedgerPosting.account_id == a.id).values(amount_minor=1)
            )
        )
    with pytest.raises(IntegrityError):
        db.run(lambda s: s.execute(text("DELETE FROM ledger_postings")))


def test_a_posted_transfer_is_final(db: Database) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    t = move(db, a.id, b.id, 100)
    with pytest.raises(IntegrityError):
        db.run(
            lambda s: s.execute(
                update(LedgerTransfer).where(LedgerTransfer.id == t.id).values(status="voided")
            )
        )
    with pytest.raises(IntegrityError):
        db.run(lambda s: s.execute(text("DELETE FROM ledger_transfers")))


def test_a_customer_account_below_its_floor_is_refused_by_a_check_constraint(db: Database) -> None:
    a = customer_account(db, 1_000)
    with pytest.raises(IntegrityError):
        db.run(
            lambda s: s.execute(
                update(LedgerAccount)
                .where(LedgerAccount.id == a.id)
                .values(debits_posted_minor=1_001)
            )
        )
    with pytest.raises(IntegrityError):
        db.run(
            lambda s: s.execute(
                update(LedgerAccount)
                .where(LedgerAccount.id == a.id)
                .values(credits_pending_minor=-1)
            )
        )


TRANSFER_ID = "00000000-0000-7000-8000-000000000001"


def _unbalanced_legs(
    db: Database,
    second_leg: int,
    currency: str = "CNY",
    *,
    second_account_id: int | None = None,
    legs_transfer_id: str = TRANSFER_ID,
) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    now = utcnow()

    def work(session):  # type: ignore[no-untyped-def]
        session.execute(
            insert(LedgerTransfer).values(
                id=TRANSFER_ID,
                debit_account_id=a.id,
                credit_account_id=b.id,
                currency="CNY",
                amount_minor=100,
                posted_amount_minor=100,
                status="posted",
                memo="",
                created_at=now,
            )
        )
        session.execute(
            insert(LedgerPosting).values(
                [
                    {
                        "transfer_id": legs_transfer_id,
                        "account_id": a.id,
                        "currency": "CNY",
                        "amount_minor": 100,
                        "balance_after_minor": 0,
                        "created_at": now,
                    },
                    {
                        "transfer_id": legs_transfer_id,
                        "account_id": second_account_id or b.id,
                        "currency": currency,
                        "amount_minor": second_leg,
                        "balance_after_minor": 0,
                        "created_at": now,
                    },
                ]
            )
        )

    db.run(work)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_a_transfer_whose_legs_do_not_net_to_zero(db: Database) -> None:
    with pytest.raises(IntegrityError, match="does not balance"):
        _unbalanced_legs(db, -99)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_a_leg_in_a_currency_its_account_does_not_hold(db: Database) -> None:
    with pytest.raises(IntegrityError):
        _unbalanced_legs(db, -100, currency="USD")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_balanced_legs_on_an_account_that_does_not_exist(db: Database) -> None:
    with pytest.raises(IntegrityError, match="account 987654321 is not the debit or credit"):
        _unbalanced_legs(db, -100, second_account_id=987_654_321)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_a_leg_on_an_account_the_transfer_does_not_name(db: Database) -> None:
    other = customer_account(db)
    with pytest.raises(IntegrityError, match=f"account {other.id} is not the debit or credit"):
        _unbalanced_legs(db, -100, second_account_id=other.id)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_to_change_an_accounts_currency(db: Database) -> None:
    a = customer_account(db)
    db.run(  # naming the same currency is no change
        lambda s: s.execute(
            update(LedgerAccount).where(LedgerAccount.id == a.id).values(currency="CNY")
        )
    )
    with pytest.raises(IntegrityError, match="cannot change its currency"):
        db.run(
            lambda s: s.execute(
                update(LedgerAccount).where(LedgerAccount.id == a.id).values(currency="USD")
            )
        )
    assert db.run(lambda s: ledger.get_account(s, a.id)).currency == "CNY"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_refuses_balanced_legs_of_a_transfer_that_does_not_exist(db: Database) -> None:
    with pytest.raises(IntegrityError, match="posting for unknown transfer"):
        _unbalanced_legs(db, -100, legs_transfer_id="00000000-0000-7000-8000-00000000dead")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgres_accepts_balanced_legs_written_around_the_service(db: Database) -> None:
    _unbalanced_legs(db, -100)  # the control case: the trigger is not simply refusing everything


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_the_ledger_functions_go_back_to_0013_and_forward_again(db: Database) -> None:
    """0014 and 0015 replace functions; their downgrades restore the earlier text."""
    config = alembic_config(db.url)
    a = customer_account(db, 1_000)
    b = customer_account(db)
    for target in ("0014", "0013"):
        command.downgrade(config, target)
        move(db, a.id, b.id, 100)  # each step back still posts, through its own function
    with pytest.raises(IntegrityError, match="account 987654321 does not exist"):
        _unbalanced_legs(db, -100, second_account_id=987_654_321)  # 0013's guard is back
    upgrade(db)
    move(db, a.id, b.id, 100)
    with pytest.raises(IntegrityError, match="account 987654321 is not the debit or credit"):
        _unbalanced_legs(db, -100, second_account_id=987_654_321)
    assert db.run(lambda s: ledger.get_account(s, b.id)).balance_minor == 300
