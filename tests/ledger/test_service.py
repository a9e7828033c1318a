"""The ledger service as a specification: what moves, what is refused, what is left behind."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.ledger.factories import (
    assert_books_balance,
    available,
    balance,
    cash_account,
    customer_account,
    move,
)
from zhangyin.clock import business_date, utcnow
from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.events import OutboxEvent
from zhangyin.ledger import service as ledger
from zhangyin.ledger.errors import (
    AccountClosed,
    AccountFrozen,
    AccountNotEmpty,
    AccountNotFound,
    BatchRejected,
    CurrencyMismatch,
    HoldExpired,
    InsufficientFunds,
    NotReversible,
    PostExceedsHold,
    ReferenceConflict,
    SameAccount,
    TransferNotPending,
)
from zhangyin.ledger.models import AccountKind, AccountStatus, LedgerPosting, TransferStatus
from zhangyin.money import Money, MoneyError


def order(
    debit: int, credit: int, minor: int, currency: str = "CNY", **kw: object
) -> ledger.TransferOrder:
    return ledger.TransferOrder(debit, credit, Money(minor, currency), **kw)  # type: ignore[arg-type]


def posting_count(db: Database) -> int:
    return db.run(lambda s: s.scalar(select(func.count()).select_from(LedgerPosting)))


def test_account_numbers_are_19_digits_with_a_valid_check_digit(db: Database) -> None:
    account = customer_account(db)
    assert len(account.number) == 19
    assert account.number.startswith("621688")
    assert ledger.is_valid_account_number(account.number)
    wrong_digit = account.number[:-1] + str((int(account.number[-1]) + 1) % 10)
    assert not ledger.is_valid_account_number(wrong_digit)


def test_transfer_moves_money_and_writes_two_balanced_postings(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    before = posting_count(db)
    t = move(db, a.id, b.id, 2_550)
    assert t.status == TransferStatus.POSTED
    assert t.posted_amount_minor == 2_550
    assert balance(db, a.id) == 7_450
    assert balance(db, b.id) == 2_550
    assert posting_count(db) == before + 2
    assert_books_balance(db)


def test_transfer_beyond_available_is_refused_and_nothing_moves(db: Database) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    before = posting_count(db)
    with pytest.raises(InsufficientFunds) as refused:
        move(db, a.id, b.id, 1_001)
    assert refused.value.params["available"] == "10.00"
    assert refused.value.params["requested"] == "10.01"
    assert (balance(db, a.id), balance(db, b.id), posting_count(db)) == (1_000, 0, before)


def test_overdraft_limit_lets_a_customer_account_go_that_far_below_zero_and_no_further(
    db: Database,
) -> None:
    a = customer_account(db, 100, overdraft_minor=500)
    b = customer_account(db)
    move(db, a.id, b.id, 600)
    assert balance(db, a.id) == -500
    with pytest.raises(InsufficientFunds):
        move(db, a.id, b.id, 1)


@pytest.mark.parametrize(
    ("minor", "code"),
    [(0, "amount_not_positive"), (-5, "amount_not_positive"), (10**15 + 1, "amount_too_large")],
)
def test_bad_amounts_are_refused(db: Database, minor: int, code: str) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    with pytest.raises(MoneyError) as refused:
        move(db, a.id, b.id, minor)
    assert refused.value.code == code
    assert balance(db, a.id) == 1_000


def test_same_account_unknown_account_and_currency_mismatch_are_refused(db: Database) -> None:
    a = customer_account(db, 1_000)
    usd = customer_account(db, 1_000, currency="USD")
    with pytest.raises(SameAccount):
        move(db, a.id, a.id, 1)
    with pytest.raises(AccountNotFound):
        move(db, a.id, 999_999, 1)
    with pytest.raises(CurrencyMismatch):
        move(db, a.id, usd.id, 1)
    with pytest.raises(CurrencyMismatch):
        move(db, a.id, usd.id, 1, "USD")
    assert balance(db, a.id) == 1_000
    assert balance(db, usd.id) == 1_000


def test_frozen_account_cannot_pay_but_can_receive_and_fully_frozen_neither(db: Database) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db, 1_000)
    db.run(lambda s: ledger.set_account_status(s, a.id, AccountStatus.FROZEN))
    with pytest.raises(AccountFrozen):
        move(db, a.id, b.id, 1)
    move(db, b.id, a.id, 100)
    db.run(lambda s: ledger.set_account_status(s, a.id, AccountStatus.FULLY_FROZEN))
    with pytest.raises(AccountFrozen):
        move(db, b.id, a.id, 100)
    db.run(lambda s: ledger.set_account_status(s, a.id, AccountStatus.ACTIVE))
    move(db, a.id, b.id, 1_100)
    assert balance(db, a.id) == 0


def test_closing_needs_a_zero_balance_and_a_closed_account_takes_nothing(db: Database) -> None:
    a = customer_account(db, 500)
    b = customer_account(db)
    with pytest.raises(AccountNotEmpty):
        db.run(lambda s: ledger.set_account_status(s, a.id, AccountStatus.CLOSED))
    move(db, a.id, b.id, 500)
    db.run(lambda s: ledger.set_account_status(s, a.id, AccountStatus.CLOSED))
    with pytest.raises(AccountClosed):
        move(db, b.id, a.id, 1)
    with pytest.raises(AccountClosed):
        db.run(lambda s: ledger.set_account_status(s, a.id, AccountStatus.ACTIVE))


def test_hold_reserves_available_but_not_ledger_balance_then_posts_in_part(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    held = db.run(lambda s: ledger.hold(s, order(a.id, b.id, 6_000)))
    assert held.status == TransferStatus.PENDING
    assert (balance(db, a.id), available(db, a.id)) == (10_000, 4_000)
    with pytest.raises(InsufficientFunds):
        move(db, a.id, b.id, 4_001)
    with pytest.raises(PostExceedsHold):
        db.run(lambda s: ledger.post_hold(s, held.id, 6_001))
    posted = db.run(lambda s: ledger.post_hold(s, held.id, 2_500))
    assert posted.status == TransferStatus.POSTED
    assert posted.posted_amount_minor == 2_500
    assert (balance(db, a.id), available(db, a.id), balance(db, b.id)) == (7_500, 7_500, 2_500)
    with pytest.raises(TransferNotPending):
        db.run(lambda s: ledger.post_hold(s, held.id))
    with pytest.raises(TransferNotPending):
        db.run(lambda s: ledger.void_hold(s, held.id))
    assert_books_balance(db)


def test_void_releases_the_hold_and_posts_nothing(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    before = posting_count(db)
    held = db.run(lambda s: ledger.hold(s, order(a.id, b.id, 6_000)))
    voided = db.run(lambda s: ledger.void_hold(s, held.id))
    assert voided.status == TransferStatus.VOIDED
    assert voided.posted_amount_minor == 0
    assert (balance(db, a.id), available(db, a.id), balance(db, b.id)) == (10_000, 10_000, 0)
    assert posting_count(db) == before
    assert_books_balance(db)


def test_expired_holds_release_their_money_and_cannot_be_posted(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    short = db.run(lambda s: ledger.hold(s, order(a.id, b.id, 3_000), timeout=timedelta(minutes=5)))
    long = db.run(lambda s: ledger.hold(s, order(a.id, b.id, 1_000), timeout=timedelta(hours=5)))
    later = utcnow() + timedelta(minutes=10)
    assert db.run(lambda s: ledger.expire_holds(s, later)) == 1
    assert db.run(lambda s: ledger.expire_holds(s, later)) == 0
    assert db.run(lambda s: ledger.get_transfer(s, short.id)).status == TransferStatus.EXPIRED
    assert db.run(lambda s: ledger.get_transfer(s, long.id)).status == TransferStatus.PENDING
    assert available(db, a.id) == 9_000
    with pytest.raises(HoldExpired):
        db.run(lambda s: ledger.post_hold(s, short.id))
    assert_books_balance(db)


def test_posting_a_hold_after_its_expiry_expires_it_instead(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    held = db.run(lambda s: ledger.hold(s, order(a.id, b.id, 3_000), timeout=timedelta(seconds=0)))
    result = db.run(lambda s: ledger.post_hold(s, held.id))
    assert result.status == TransferStatus.EXPIRED
    assert (balance(db, a.id), available(db, a.id), balance(db, b.id)) == (10_000, 10_000, 0)


def test_reversal_is_a_new_transfer_that_points_at_the_original_and_happens_once(
    db: Database,
) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    original = move(db, a.id, b.id, 4_000)
    reversal = db.run(lambda s: ledger.reverse(s, original.id, "错账冲正"))
    assert reversal.reverses_id == original.id
    assert (reversal.debit_account_id, reversal.credit_account_id) == (b.id, a.id)
    assert (balance(db, a.id), balance(db, b.id)) == (10_000, 0)
    assert db.run(lambda s: ledger.get_transfer(s, original.id)).status == TransferStatus.POSTED
    with pytest.raises(NotReversible):
        db.run(lambda s: ledger.reverse(s, original.id))
    with pytest.raises(NotReversible):
        db.run(lambda s: ledger.reverse(s, reversal.id))
    assert_books_balance(db)


def test_reversal_cannot_overdraw_the_account_that_spent_the_money(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    c = customer_account(db)
    original = move(db, a.id, b.id, 4_000)
    move(db, b.id, c.id, 4_000)
    with pytest.raises(InsufficientFunds):
        db.run(lambda s: ledger.reverse(s, original.id))


def test_reference_makes_a_repeat_return_the_first_transfer(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    first = db.run(lambda s: ledger.transfer(s, order(a.id, b.id, 100, reference="pay-123")))
    again = db.run(lambda s: ledger.transfer(s, order(a.id, b.id, 100, reference="pay-123")))
    assert again.id == first.id
    assert balance(db, b.id) == 100
    with pytest.raises(ReferenceConflict):
        db.run(lambda s: ledger.transfer(s, order(a.id, b.id, 101, reference="pay-123")))


def test_linked_batch_posts_all_or_nothing(db: Database) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    fees = db.run(lambda s: ledger.bank_account(s, AccountKind.BANK_FEES))
    before = posting_count(db)
    with pytest.raises(BatchRejected) as refused:
        db.run(
            lambda s: ledger.transfer_batch(
                s, [order(a.id, b.id, 900), order(a.id, fees.id, 200)], linked=True
            )
        )
    assert refused.value.params["index"] == 1
    assert (balance(db, a.id), posting_count(db)) == (1_000, before)
    results = db.run(
        lambda s: ledger.transfer_batch(
            s, [order(a.id, b.id, 900), order(a.id, fees.id, 100)], linked=True
        )
    )
    assert all(r.transfer for r in results)
    assert results[0].transfer.batch_id == results[1].transfer.batch_id  # type: ignore[union-attr]
    assert (balance(db, a.id), balance(db, b.id), balance(db, fees.id)) == (0, 900, 100)
    assert_books_balance(db)


def test_independent_batch_reports_each_refusal_and_posts_the_rest(db: Database) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    results = db.run(
        lambda s: ledger.transfer_batch(
            s,
            [
                order(a.id, b.id, 600),
                order(a.id, b.id, 600),
                order(a.id, a.id, 1),
                order(a.id, b.id, 400),
            ],
            linked=False,
        )
    )
    assert [r.error.code if r.error else "ok" for r in results] == [
        "ok",
        "insufficient_funds",
        "same_account",
        "ok",
    ]
    assert (balance(db, a.id), balance(db, b.id)) == (0, 1_000)
    assert_books_balance(db)


def test_batch_to_one_hot_account_keeps_running_balances_in_order(db: Database) -> None:
    hot = customer_account(db)
    payers = [customer_account(db, 1_000) for _ in range(5)]
    db.run(
        lambda s: ledger.transfer_batch(
            s, [order(p.id, hot.id, 100 * (i + 1)) for i, p in enumerate(payers)], linked=False
        )
    )
    page = db.run(lambda s: ledger.statement(s, hot.id))
    assert [line.balance_after_minor for line in reversed(page.lines)] == [
        100,
        300,
        600,
        1000,
        1500,
    ]


def test_statement_is_newest_first_with_running_balance_and_cursor_pages(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    for minor in (100, 200, 300, 400, 500):
        move(db, a.id, b.id, minor)
    move(db, b.id, a.id, 50)
    first = db.run(lambda s: ledger.statement(s, b.id, limit=4))
    assert [line.amount_minor for line in first.lines] == [-50, 500, 400, 300]
    assert [line.balance_after_minor for line in first.lines] == [1450, 1500, 1000, 600]
    assert first.lines[1].counterparty_number == a.number
    assert first.next_cursor is not None
    second = db.run(lambda s: ledger.statement(s, b.id, cursor=first.next_cursor, limit=4))
    assert [line.amount_minor for line in second.lines] == [200, 100]
    assert second.next_cursor is None


def _booked_day(db: Database, account_id: int, *, oldest: bool = False) -> date:
    """The business day the ledger booked the account's newest (or oldest) posting on.

    Not the test's own "today": a posting made at 15:59:59 UTC belongs to the Beijing day
    that ends a moment later, and a clock read after it would name the next day.
    """
    lines = db.run(lambda s: ledger.statement(s, account_id)).lines
    return business_date(lines[-1 if oldest else 0].created_at)


def test_balance_history_gives_each_day_its_closing_balance(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    move(db, a.id, b.id, 700)
    today = _booked_day(db, b.id)
    history = db.run(lambda s: ledger.balance_history(s, b.id, today - timedelta(days=2), today))
    assert [(d.day, d.balance_minor) for d in history] == [
        (today - timedelta(days=2), 0),
        (today - timedelta(days=1), 0),
        (today, 700),
    ]


def test_trial_balance_debits_equal_credits_and_exclude_later_days(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    move(db, a.id, b.id, 1_234)
    today = _booked_day(db, b.id)
    tb = db.run(lambda s: ledger.trial_balance(s, today))
    assert tb.balanced
    debits, credits = tb.totals["CNY"]
    assert debits == credits == 10_000 + 1_234
    before_first = _booked_day(db, a.id, oldest=True) - timedelta(days=1)
    yesterday = db.run(lambda s: ledger.trial_balance(s, before_first))
    assert yesterday.rows == []
    assert yesterday.totals == {}


def test_reconcile_reports_a_cached_balance_that_drifted_from_its_postings(db: Database) -> None:
    a = customer_account(db, 10_000)
    from zhangyin.ledger.models import LedgerAccount

    def tamper(session):  # type: ignore[no-untyped-def]
        session.execute(
            LedgerAccount.__table__.update()
            .where(LedgerAccount.id == a.id)
            .values(credits_posted_minor=LedgerAccount.credits_posted_minor + 1)
        )

    db.run(tamper)
    differences = db.run(ledger.reconcile)
    assert [(d.field, d.cached, d.recomputed) for d in differences] == [
        ("credits_posted", 10_001, 10_000)
    ]


def test_every_posted_voided_and_expired_transfer_emits_an_event(db: Database) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    posted = move(db, a.id, b.id, 100)
    voided = db.run(lambda s: ledger.hold(s, order(a.id, b.id, 100)))
    db.run(lambda s: ledger.void_hold(s, voided.id))
    expired = db.run(lambda s: ledger.hold(s, order(a.id, b.id, 100), timeout=timedelta(seconds=0)))
    db.run(lambda s: ledger.expire_holds(s, utcnow() + timedelta(seconds=1)))

    def events_of(transfer_id: str) -> list[str]:
        return db.run(
            lambda s: list(
                s.scalars(
                    select(OutboxEvent.event_type)
                    .where(OutboxEvent.aggregate_id == transfer_id)
                    .order_by(OutboxEvent.id)
                )
            )
        )

    assert events_of(posted.id) == ["ledger.transfer.posted"]
    assert events_of(voided.id) == ["ledger.transfer.pending", "ledger.transfer.voided"]
    assert events_of(expired.id) == ["ledger.transfer.pending", "ledger.transfer.expired"]


def test_a_failed_unit_of_work_leaves_no_event_behind(db: Database) -> None:
    a = customer_account(db, 100)
    b = customer_account(db)
    count = db.run(lambda s: s.scalar(select(func.count()).select_from(OutboxEvent)))
    with pytest.raises(DomainError):
        move(db, a.id, b.id, 101)
    assert db.run(lambda s: s.scalar(select(func.count()).select_from(OutboxEvent))) == count


def test_bank_accounts_are_made_once_per_kind_and_currency(db: Database) -> None:
    first = cash_account(db)
    assert cash_account(db).id == first.id
    assert cash_account(db, "USD").id != first.id
    assert first.normal_side == "debit"


def test_times_are_aware_utc(db: Database) -> None:
    a = customer_account(db, 100)
    assert a.created_at.tzinfo is not None
    page = db.run(lambda s: ledger.statement(s, a.id))
    assert page.lines[0].created_at.utcoffset() == timedelta(0)
    assert abs(page.lines[0].created_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert isinstance(business_date(page.lines[0].created_at), date)


def test_bulk_opening_gives_distinct_valid_numbers_and_events(db: Database) -> None:
    ids = db.run(
        lambda s: ledger.open_accounts_bulk(
            s, kind=AccountKind.CUSTOMER_CURRENT, owners=[(f"o{i}", f"客户{i}") for i in range(50)]
        )
    )
    assert len(set(ids)) == 50
    views = [db.run(lambda s, i=i: ledger.get_account(s, i)) for i in ids]
    assert all(ledger.is_valid_account_number(v.number) for v in views)
    assert {v.owner_id for v in views} == {f"o{i}" for i in range(50)}
    opened = db.run(
        lambda s: s.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.event_type == "ledger.account.opened")
        )
    )
    assert opened >= 50
