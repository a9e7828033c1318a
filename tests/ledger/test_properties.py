"""Property-based tests: random sequences of ledger operations against a simple model.

After every step: money is conserved (postings sum to zero per currency), cached
balances equal the sum of postings, no customer balance is below its floor, and
each account's balance and available balance equal the model's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule

from zhangyin.db import Database
from zhangyin.errors import DomainError
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money

EXAMPLES = int(os.environ.get("ZHANGYIN_HYPOTHESIS_EXAMPLES", "25"))


@dataclass
class ModelAccount:
    id: int
    currency: str
    overdraft: int
    balance: int = 0
    pending_out: int = 0

    @property
    def available(self) -> int:
        return self.balance - self.pending_out


@dataclass
class ModelHold:
    id: str
    debit: ModelAccount
    credit: ModelAccount
    amount: int
    open: bool = True


@dataclass
class ModelTransfer:
    id: str
    debit: ModelAccount
    credit: ModelAccount
    amount: int
    reversed: bool = False


class Boom(Exception):
    """A crash in the middle of a unit of work."""


amounts = st.integers(min_value=1, max_value=50_000)


class LedgerMachine(RuleBasedStateMachine):
    database: Database  # set by the test before running

    accounts = Bundle("accounts")
    holds = Bundle("holds")
    transfers = Bundle("transfers")

    def __init__(self) -> None:
        super().__init__()
        self.db = self.database
        self.cash: dict[str, int] = {}
        self.references: dict[str, tuple[int, int, int, str]] = {}
        self.model_accounts: list[ModelAccount] = []

    def _cash(self, currency: str) -> int:
        if currency not in self.cash:
            self.cash[currency] = self.db.run(
                lambda s: ledger.bank_account(s, AccountKind.BANK_CASH, currency)
            ).id
        return self.cash[currency]

    @initialize(target=accounts)
    def first_account(self) -> ModelAccount:
        return self.open_account("CNY", 0)  # type: ignore[no-any-return]

    @rule(
        target=accounts,
        currency=st.sampled_from(["CNY", "CNY", "USD"]),
        overdraft=st.sampled_from([0, 0, 5_000]),
    )
    def open_account(self, currency: str, overdraft: int) -> ModelAccount:
        view = self.db.run(
            lambda s: ledger.open_account(
                s,
                kind=AccountKind.CUSTOMER_CURRENT,
                currency=currency,
                name="p",
                overdraft_limit_minor=overdraft,
            )
        )
        account = ModelAccount(view.id, currency, overdraft)
        self.model_accounts.append(account)
        return account

    @rule(account=accounts, amount=amounts)
    def deposit(self, account: ModelAccount, amount: int) -> None:
        cash = self._cash(account.currency)
        self.db.run(
            lambda s: ledger.transfer(
                s, ledger.TransferOrder(cash, account.id, Money(amount, account.currency))
            )
        )
        account.balance += amount

    def _allowed(self, debit: ModelAccount, credit: ModelAccount, amount: int) -> bool:
        return (
            debit.id != credit.id
            and debit.currency == credit.currency
            and debit.available + debit.overdraft >= amount
        )

    @rule(target=transfers, debit=accounts, credit=accounts, amount=amounts)
    def transfer(
        self, debit: ModelAccount, credit: ModelAccount, amount: int
    ) -> ModelTransfer | None:
        order = ledger.TransferOrder(debit.id, credit.id, Money(amount, debit.currency))
        expected = self._allowed(debit, credit, amount)
        try:
            view = self.db.run(lambda s: ledger.transfer(s, order))
        except DomainError:
            assert not expected
            return None
        assert expected
        debit.balance -= amount
        credit.balance += amount
        return ModelTransfer(view.id, debit, credit, amount)

    @rule(debit=accounts, credit=accounts, amount=amounts, tag=st.integers(0, 3))
    def transfer_with_reference(
        self, debit: ModelAccount, credit: ModelAccount, amount: int, tag: int
    ) -> None:
        """A caller retrying with its own reference: the repeat returns the first transfer."""
        reference = f"ref-{debit.id}-{tag}"
        order = ledger.TransferOrder(
            debit.id, credit.id, Money(amount, debit.currency), reference=reference
        )
        first = self.references.get(reference)
        try:
            self.db.run(lambda s: ledger.transfer(s, order))
        except DomainError:
            if first is None:
                assert not self._allowed(debit, credit, amount)
            return
        if first is None:
            assert self._allowed(debit, credit, amount)
            self.references[reference] = (debit.id, credit.id, amount, debit.currency)
            debit.balance -= amount
            credit.balance += amount
        else:
            assert first == (debit.id, credit.id, amount, debit.currency)

    @rule(target=holds, debit=accounts, credit=accounts, amount=amounts)
    def hold(self, debit: ModelAccount, credit: ModelAccount, amount: int) -> ModelHold | None:
        order = ledger.TransferOrder(debit.id, credit.id, Money(amount, debit.currency))
        expected = self._allowed(debit, credit, amount)
        try:
            view = self.db.run(lambda s: ledger.hold(s, order))
        except DomainError:
            assert not expected
            return None
        assert expected
        debit.pending_out += amount
        return ModelHold(view.id, debit, credit, amount)

    @rule(held=holds, fraction=st.sampled_from([1.0, 0.5, 0.01]))
    def post_hold(self, held: ModelHold | None, fraction: float) -> None:
        if held is None:
            return
        part = max(1, int(held.amount * fraction))
        try:
            self.db.run(lambda s: ledger.post_hold(s, held.id, part))
        except DomainError:
            assert not held.open
            return
        assert held.open
        held.open = False
        held.debit.pending_out -= held.amount
        held.debit.balance -= part
        held.credit.balance += part

    @rule(held=holds)
    def void_hold(self, held: ModelHold | None) -> None:
        if held is None:
            return
        try:
            self.db.run(lambda s: ledger.void_hold(s, held.id))
        except DomainError:
            assert not held.open
            return
        assert held.open
        held.open = False
        held.debit.pending_out -= held.amount

    @rule(original=transfers)
    def reverse(self, original: ModelTransfer | None) -> None:
        if original is None:
            return
        back_allowed = not original.reversed and self._allowed(
            original.credit, original.debit, original.amount
        )
        try:
            self.db.run(lambda s: ledger.reverse(s, original.id))
        except DomainError:
            assert not back_allowed
            return
        assert back_allowed
        original.reversed = True
        original.credit.balance -= original.amount
        original.debit.balance += original.amount

    @rule(
        pairs=st.lists(st.tuples(accounts, accounts, amounts), min_size=1, max_size=6),
        linked=st.booleans(),
        alone=st.booleans(),
    )
    def batch(
        self, pairs: list[tuple[ModelAccount, ModelAccount, int]], linked: bool, alone: bool
    ) -> None:
        """A batch in a unit of work, or as a transaction of its own (`post_batch`)."""
        orders = [ledger.TransferOrder(d.id, c.id, Money(a, d.currency)) for d, c, a in pairs]
        # Work out the expected outcome step by step on copies of the model.
        shadow = {acct.id: (acct.balance, acct.pending_out) for d, c, _ in pairs for acct in (d, c)}
        accepted: list[bool] = []
        for d, c, a in pairs:
            ok = d.id != c.id and d.currency == c.currency
            d_bal, d_pend = shadow[d.id]
            ok = ok and d_bal - d_pend + d.overdraft >= a
            accepted.append(ok)
            if ok:
                shadow[d.id] = (d_bal - a, d_pend)
                c_bal, c_pend = shadow[c.id]
                shadow[c.id] = (c_bal + a, c_pend)
        try:
            if alone:
                results = ledger.post_batch(self.db, orders, linked=linked)
            else:
                results = self.db.run(lambda s: ledger.transfer_batch(s, orders, linked=linked))
        except DomainError:
            assert linked and not all(accepted)
            return
        assert [r.transfer is not None for r in results] == accepted
        if linked:
            assert all(accepted)
        for (d, c, _), _ok in zip(pairs, accepted, strict=True):
            d.balance, _ = shadow[d.id]
            c.balance, _ = shadow[c.id]

    @rule(debit=accounts, credit=accounts, amount=amounts)
    def crash_after_posting(self, debit: ModelAccount, credit: ModelAccount, amount: int) -> None:
        """The unit of work dies after the ledger wrote: nothing of it may remain."""

        def work(session):  # type: ignore[no-untyped-def]
            ledger.transfer(
                session, ledger.TransferOrder(debit.id, credit.id, Money(amount, debit.currency))
            )
            raise Boom()

        with pytest.raises((Boom, DomainError)):
            self.db.run(work)

    @invariant()
    def books_balance(self) -> None:
        assert self.db.run(ledger.reconcile) == []
        assert all(total == 0 for total in self.db.run(ledger.total_by_currency).values())

    @invariant()
    def balances_match_the_model(self) -> None:
        assert self.model_accounts
        for acct in self.model_accounts:
            view = self.db.run(lambda s, a=acct: ledger.get_account(s, a.id))
            assert (view.balance_minor, view.available_minor) == (acct.balance, acct.available)
            assert view.available_minor >= -acct.overdraft


def test_random_operation_sequences_keep_the_books_right(db: Database) -> None:
    LedgerMachine.database = db
    runner = LedgerMachine.TestCase
    runner.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    runner().runTest()
