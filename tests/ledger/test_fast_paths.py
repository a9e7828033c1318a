"""The fast paths write and refuse exactly as the general one.

On PostgreSQL `ledger.transfer` posts through the database function
`ledger_post_transfer` (migrations 0011, 0014), and `ledger.post_transfer` calls
it in autocommit, while `transfer_batch` goes through `_Posting`; on SQLite
all three use `_Posting`. Each test runs on both backends, so
the comparisons below hold whichever path a backend takes.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.ledger.factories import assert_books_balance, cash_account, customer_account, move
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.events import OutboxEvent
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountStatus, LedgerPosting, LedgerTransfer
from zhangyin.money import Money


def _single_refusal(db: Database, order: ledger.TransferOrder) -> DomainError:
    with pytest.raises(DomainError) as refused:
        db.run(lambda s: ledger.transfer(s, order))
    return refused.value


def _alone_refusal(db: Database, order: ledger.TransferOrder) -> DomainError:
    with pytest.raises(DomainError) as refused:
        ledger.post_transfer(db, order)
    return refused.value


def _batch_refusal(db: Database, order: ledger.TransferOrder) -> DomainError:
    results = db.run(lambda s: ledger.transfer_batch(s, [order], linked=False))
    assert results[0].error is not None
    return results[0].error


def _refusing(db: Database) -> tuple[int, int, list[tuple[int, int, str]]]:
    """Accounts that each refuse a transfer of 13.01 CNY for their own reason.

    Returns the ids of 甲 (10.00 with a 3.00 overdraft) and 乙, and (debit, credit, code)
    for each reason.
    """
    a = customer_account(db, 1_000, overdraft_minor=300, name="甲")
    b = customer_account(db, name="乙")
    usd = customer_account(db, 1_000, currency="USD", name="丙")
    frozen = customer_account(db, 1_000, name="丁")
    fully_frozen = customer_account(db, name="戊")
    closed = customer_account(db, name="己")
    db.run(lambda s: ledger.set_account_status(s, frozen.id, AccountStatus.FROZEN))
    db.run(lambda s: ledger.set_account_status(s, fully_frozen.id, AccountStatus.FULLY_FROZEN))
    db.run(lambda s: ledger.set_account_status(s, closed.id, AccountStatus.CLOSED))
    return (
        a.id,
        b.id,
        [
            (999_999, b.id, "account_not_found"),
            (a.id, 999_998, "account_not_found"),
            (a.id, usd.id, "currency_mismatch"),
            (usd.id, a.id, "currency_mismatch"),
            (frozen.id, b.id, "account_frozen"),
            (a.id, fully_frozen.id, "account_frozen"),
            (closed.id, a.id, "account_closed"),
            (a.id, closed.id, "account_closed"),
            (a.id, b.id, "insufficient_funds"),  # 1,301 > 1,000 + 300 overdraft
        ],
    )


def test_single_transfers_refuse_with_the_same_error_and_details_as_batch_items(
    db: Database,
) -> None:
    a, b, cases = _refusing(db)
    cny = "CNY"
    for debit, credit, code in cases:
        order = ledger.TransferOrder(debit, credit, Money(1_301, cny))
        single, batched = _single_refusal(db, order), _batch_refusal(db, order)
        alone = _alone_refusal(db, order)
        assert (single.code, type(single)) == (code, type(batched)), (debit, credit)
        assert (alone.code, type(alone)) == (code, type(batched)), (debit, credit)
        assert single.params == batched.params == alone.params
    refused = _single_refusal(db, ledger.TransferOrder(a, b, Money(1_301, cny)))
    assert refused.params["available"] == "13.00" and refused.params["requested"] == "13.01"
    # Nothing moved, and the overdraft is still usable to its last cent.
    move(db, a, b, 1_300)
    assert_books_balance(db)


def _written(session: Session, transfer_id: str) -> dict[str, Any]:
    postings = session.execute(
        select(
            LedgerPosting.account_id, LedgerPosting.amount_minor, LedgerPosting.balance_after_minor
        )
        .where(LedgerPosting.transfer_id == transfer_id)
        .order_by(LedgerPosting.id)
    ).all()
    event = session.execute(
        select(OutboxEvent.event_type, OutboxEvent.aggregate_type, OutboxEvent.payload).where(
            OutboxEvent.aggregate_id == transfer_id
        )
    ).one()
    row = session.get(LedgerTransfer, transfer_id)
    assert row is not None
    return {"postings": [tuple(p) for p in postings], "event": tuple(event), "row": row}


def test_a_single_transfer_writes_the_rows_event_and_metric_a_batch_item_writes(
    db: Database,
) -> None:
    a = customer_account(db, 10_000, name="甲")
    b = customer_account(db, name="乙")
    counted: list[Counter[str]] = []

    def single(session: Session) -> ledger.TransferView:
        view = ledger.transfer(session, ledger.TransferOrder(a.id, b.id, Money(700, "CNY"), "备注"))
        counted.append(Counter(session.info["ledger_postings"]))
        return view

    def batched(session: Session) -> ledger.TransferView:
        order = ledger.TransferOrder(a.id, b.id, Money(700, "CNY"), "备注")
        view = ledger.transfer_batch(session, [order], linked=True)[0].transfer
        assert view is not None
        counted.append(Counter(session.info["ledger_postings"]))
        return view

    first, second = db.run(single), db.run(batched)
    assert counted == [Counter({"CNY": 2}), Counter({"CNY": 2})]
    one, two = db.run(lambda s: (_written(s, first.id), _written(s, second.id)))
    assert one["postings"] == [(a.id, 700, 9_300), (b.id, -700, 700)]
    assert two["postings"] == [(a.id, 700, 8_600), (b.id, -700, 1_400)]
    for view, written in ((first, one), (second, two)):
        assert written["event"] == (
            "ledger.transfer.posted",
            "ledger_transfer",
            {
                "transfer_id": view.id,
                "debit_account_id": a.id,
                "credit_account_id": b.id,
                "currency": "CNY",
                "amount_minor": 700,
                "posted_amount_minor": 700,
                "status": "posted",
                "reference": None,
                "reverses_id": None,
            },
        )
        row = written["row"]
        assert (row.status, row.memo, row.posted_amount_minor) == ("posted", "备注", 700)
        assert row.created_at == row.resolved_at == view.created_at == view.resolved_at
    assert db.run(lambda s: ledger.get_transfer(s, first.id)) == first
    assert_books_balance(db)


def test_a_batch_keeps_each_accounts_running_balance_in_order_when_it_pays_and_receives(
    db: Database,
) -> None:
    cash = cash_account(db)
    a = customer_account(db, name="甲")
    b = customer_account(db, name="乙")
    c = customer_account(db, name="丙")
    legs = [(cash.id, a.id, 500), (a.id, b.id, 200), (b.id, a.id, 50), (a.id, c.id, 100)]
    orders = [ledger.TransferOrder(d, k, Money(m, "CNY")) for d, k, m in legs]
    results = db.run(lambda s: ledger.transfer_batch(s, orders, linked=True))
    assert all(r.transfer is not None for r in results)
    page = db.run(lambda s: ledger.statement(s, a.id))
    lines = list(reversed(page.lines))  # oldest first
    assert [line.amount_minor for line in lines] == [500, -200, 50, -100]
    assert [line.balance_after_minor for line in lines] == [500, 300, 350, 250]
    assert_books_balance(db)


def test_references_stay_unique_in_the_database_while_most_transfers_have_none(
    db: Database,
) -> None:
    a = customer_account(db, 10_000, name="甲")
    b = customer_account(db, name="乙")
    for _ in range(3):
        move(db, a.id, b.id, 100)  # no reference: any number of them
    order = ledger.TransferOrder(a.id, b.id, Money(100, "CNY"), reference="ref-unique-1")
    first = db.run(lambda s: ledger.transfer(s, order))

    def twin(session: Session) -> None:
        now = utcnow()
        session.execute(
            insert(LedgerTransfer).values(
                id="00000000-0000-7000-8000-000000000001",
                debit_account_id=a.id,
                credit_account_id=b.id,
                currency="CNY",
                amount_minor=100,
                posted_amount_minor=0,
                status="pending",
                reference=first.reference,
                memo="",
                expires_at=now,
                created_at=now,
            )
        )

    with pytest.raises(IntegrityError):
        db.run(twin)
    assert db.run(lambda s: ledger.transfer(s, order)) == first
    assert_books_balance(db)


def _postings_counted(currency: str) -> float:
    return REGISTRY.get_sample_value("zhangyin_ledger_postings_total", {"currency": currency}) or 0


def test_a_transfer_posted_as_its_own_transaction_writes_what_a_unit_of_work_writes(
    db: Database,
) -> None:
    a = customer_account(db, 10_000, name="甲")
    b = customer_account(db, name="乙")
    in_unit = db.run(
        lambda s: ledger.transfer(s, ledger.TransferOrder(a.id, b.id, Money(700, "CNY"), "备注"))
    )
    before = _postings_counted("CNY")
    alone = ledger.post_transfer(db, ledger.TransferOrder(a.id, b.id, Money(700, "CNY"), "备注"))
    assert _postings_counted("CNY") == before + 2
    one, two = db.run(lambda s: (_written(s, in_unit.id), _written(s, alone.id)))
    assert two["postings"] == [(a.id, 700, 8_600), (b.id, -700, 1_400)]
    assert two["event"][:2] == one["event"][:2]
    assert {**two["event"][2], "transfer_id": in_unit.id} == one["event"][2]
    assert db.run(lambda s: ledger.get_transfer(s, alone.id)) == alone
    # With a reference, a repeat is the first transfer, not a second one.
    order = ledger.TransferOrder(a.id, b.id, Money(100, "CNY"), reference="alone-ref-1")
    assert ledger.post_transfer(db, order) == ledger.post_transfer(db, order)
    assert db.run(lambda s: ledger.get_account(s, a.id)).balance_minor == 8_500
    assert_books_balance(db)


def test_a_statement_of_its_own_leaves_pooled_connections_transactional(db: Database) -> None:
    """After `post_transfer`, a unit of work that fails still rolls back whole."""
    a = customer_account(db, 10_000, name="甲")
    b = customer_account(db, name="乙")
    for _ in range(3):
        ledger.post_transfer(db, ledger.TransferOrder(a.id, b.id, Money(100, "CNY")))

    def posts_then_fails(session: Session) -> None:
        ledger.transfer(session, ledger.TransferOrder(a.id, b.id, Money(100, "CNY")))
        raise RuntimeError("after the posting")

    for _ in range(3):
        with pytest.raises(RuntimeError):
            db.run(posts_then_fails)
    assert db.run(lambda s: ledger.get_account(s, b.id)).balance_minor == 300
    assert_books_balance(db)


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_statement_of_its_own_survives_a_server_side_disconnect(
    db: Database, database_url: str
) -> None:
    a = customer_account(db, 10_000, name="甲")
    b = customer_account(db, name="乙")
    alone = Database(database_url, pool_size=1)  # one pooled connection: the one cut off
    ((pid,),) = alone.run_statement("SELECT pg_backend_pid()", ())
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            time.sleep(0.01)
    ledger.post_transfer(alone, ledger.TransferOrder(a.id, b.id, Money(100, "CNY")))
    ((other,),) = alone.run_statement("SELECT pg_backend_pid()", ())
    alone.dispose()
    assert other != pid
    assert db.run(lambda s: ledger.get_account(s, b.id)).balance_minor == 100


def _refusals(results: list[ledger.BatchItemResult]) -> list[tuple[str, type, dict[str, Any]]]:
    return [
        (r.error.code, type(r.error), r.error.params) if r.error else ("posted", type(None), {})
        for r in results
    ]


def _not_called(*args: object, **kwargs: object) -> None:
    raise AssertionError("the general path was taken")


def test_a_batch_posted_as_its_own_transaction_refuses_each_item_as_a_unit_of_work_does(
    db: Database,
) -> None:
    a, b, cases = _refusing(db)
    orders = [ledger.TransferOrder(d, c, Money(1_301, "CNY")) for d, c, _ in cases]
    in_unit = db.run(lambda s: ledger.transfer_batch(s, orders, linked=False))
    alone = ledger.post_batch(db, orders, linked=False)
    assert _refusals(alone) == _refusals(in_unit)
    assert [code for code, _, _ in _refusals(alone)] == [code for _, _, code in cases]
    assert alone[-1].error is not None and alone[-1].error.params["available"] == "13.00"
    # Refused before the database is asked: the same refusals, in their places.
    early = [
        ledger.TransferOrder(a, a, Money(100, "CNY")),
        ledger.TransferOrder(a, b, Money(100, "CNY"), reference="batch-ref"),
        ledger.TransferOrder(a, b, Money(100, "CNY")),
    ]
    results = ledger.post_batch(db, early, linked=False)
    assert [code for code, _, _ in _refusals(results)] == [
        "same_account",
        "reference_conflict",
        "posted",
    ]
    assert db.run(lambda s: ledger.get_account(s, b)).balance_minor == 100
    assert_books_balance(db)


def test_a_batch_posted_as_its_own_transaction_checks_each_item_against_the_ones_before(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = customer_account(db, 1_000, name="甲")
    b = customer_account(db, name="乙")
    c = customer_account(db, name="丙")
    if db.backend == "postgresql":  # ledger_post_batch does it all, not transfer_batch
        monkeypatch.setattr(ledger, "transfer_batch", _not_called)
    legs = [(a.id, b.id, 600), (a.id, b.id, 600), (b.id, c.id, 500), (a.id, c.id, 400)]
    orders = [ledger.TransferOrder(d, k, Money(m, "CNY"), memo="批量") for d, k, m in legs]
    before = _postings_counted("CNY")
    results = ledger.post_batch(db, orders, linked=False)
    assert _postings_counted("CNY") == before + 6
    assert [code for code, _, _ in _refusals(results)] == [
        "posted",
        "insufficient_funds",
        "posted",
        "posted",
    ]
    assert results[1].error is not None and results[1].error.params["available"] == "4.00"
    balances = db.run(lambda s: [ledger.get_account(s, i).balance_minor for i in (a.id, b.id)])
    assert balances == [0, 100]
    views = [r.transfer for r in results if r.transfer is not None]
    assert len({v.batch_id for v in views}) == 1 and views[0].batch_id is not None
    assert db.run(lambda s: [ledger.get_transfer(s, v.id) for v in views]) == views
    first, last = db.run(lambda s: (_written(s, views[0].id), _written(s, views[-1].id)))
    assert first["postings"] == [(a.id, 600, 400), (b.id, -600, 600)]
    assert last["postings"] == [(a.id, 400, 0), (c.id, -400, 900)]
    assert last["event"] == (
        "ledger.transfer.posted",
        "ledger_transfer",
        {
            "transfer_id": views[-1].id,
            "debit_account_id": a.id,
            "credit_account_id": c.id,
            "currency": "CNY",
            "amount_minor": 400,
            "posted_amount_minor": 400,
            "status": "posted",
            "reference": None,
            "reverses_id": None,
        },
    )
    assert (last["row"].memo, last["row"].batch_id) == ("批量", views[0].batch_id)
    lines = list(reversed(db.run(lambda s: ledger.statement(s, b.id)).lines))
    assert [line.balance_after_minor for line in lines] == [600, 100]
    assert_books_balance(db)


def test_a_linked_batch_posted_as_its_own_transaction_posts_nothing_when_one_item_fails(
    db: Database,
) -> None:
    a = customer_account(db, 1_000, name="甲")
    b = customer_account(db, name="乙")
    orders = [ledger.TransferOrder(a.id, b.id, Money(600, "CNY")) for _ in range(3)]
    with pytest.raises(DomainError) as in_unit:
        db.run(lambda s: ledger.transfer_batch(s, orders, linked=True))
    with pytest.raises(DomainError) as alone:
        ledger.post_batch(db, orders, linked=True)
    assert alone.value.code == in_unit.value.code == "batch_rejected"
    assert alone.value.params == in_unit.value.params
    assert alone.value.params["index"] == 1
    assert db.run(lambda s: ledger.get_account(s, b.id)).balance_minor == 0
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(LedgerTransfer))) == 1
    posted = ledger.post_batch(db, orders[:1], linked=True)
    assert posted[0].transfer is not None
    assert db.run(lambda s: ledger.get_account(s, b.id)).balance_minor == 600
    assert_books_balance(db)
