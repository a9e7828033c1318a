"""Ledger operations: accounts, transfers, two-phase holds, reversals, statements.

Every operation that changes balances goes through `_Posting`, which locks the
accounts it touches in ascending id order (so concurrent transfers cannot
deadlock), applies the movements to the locked totals in memory, refuses any
that would break an account's floor or status, and then writes transfers,
postings, balances and outbox events with a handful of bulk statements. One
exception, for speed: a single `transfer` on PostgreSQL is one call of the
database function `ledger_post_transfer` (migrations 0011, 0014), which locks,
refuses and writes exactly as `_Posting.post` does (tests/ledger/test_fast_paths.py).
The caller owns the transaction (`Database.run` retries it on serialisation
failures); nothing here commits, except `post_transfer`, which is a transaction
of its own.
"""

from __future__ import annotations

import json
import operator
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import uuid_utils
from sqlalchemy import Table, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session
from stdnum import luhn

from zhangyin import events, metrics
from zhangyin.clock import business_date, business_day_bounds, utcnow
from zhangyin.db import Database, driver_rows
from zhangyin.errors import DomainError
from zhangyin.ledger.errors import (
    AccountClosed,
    AccountFrozen,
    AccountNotEmpty,
    AccountNotFound,
    BatchRejected,
    BatchTooLarge,
    CurrencyMismatch,
    HoldExpired,
    InsufficientFunds,
    NotReversible,
    PostExceedsHold,
    ReferenceConflict,
    SameAccount,
    TransferNotFound,
    TransferNotPending,
)
from zhangyin.ledger.models import (
    AccountKind,
    AccountStatus,
    LedgerAccount,
    LedgerPosting,
    LedgerTransfer,
    NormalSide,
    TransferStatus,
)
from zhangyin.money import Money, MoneyError, check_amount_minor, check_currency, format_minor
from zhangyin.pgarrays import Int8Array, TextArray, TimestamptzArray

MAX_BATCH = 1000

accounts_t = cast(Table, LedgerAccount.__table__)
transfers_t = cast(Table, LedgerTransfer.__table__)
postings_t = cast(Table, LedgerPosting.__table__)


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class AccountView:
    id: int
    number: str
    code: str | None
    owner_id: str | None
    name: str
    currency: str
    kind: str
    normal_side: str
    status: str
    overdraft_limit_minor: int
    balance_minor: int
    available_minor: int
    pending_debits_minor: int
    pending_credits_minor: int
    created_at: datetime


@dataclass(frozen=True)
class TransferView:
    id: str
    debit_account_id: int
    credit_account_id: int
    currency: str
    amount_minor: int
    posted_amount_minor: int
    status: str
    batch_id: str | None
    reference: str | None
    reverses_id: str | None
    memo: str
    expires_at: datetime | None
    created_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class TransferOrder:
    """What a caller asks the ledger to move: from `debit_account_id` to `credit_account_id`."""

    debit_account_id: int
    credit_account_id: int
    amount: Money
    memo: str = ""
    reference: str | None = None


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    transfer: TransferView | None
    error: DomainError | None


@dataclass(frozen=True)
class StatementLine:
    posting_id: int
    transfer_id: str
    amount_minor: int  # signed from the account holder's view: + in, - out
    balance_after_minor: int
    counterparty_account_id: int
    counterparty_number: str
    memo: str
    created_at: datetime


@dataclass(frozen=True)
class StatementPage:
    account: AccountView
    lines: list[StatementLine]
    next_cursor: str | None


@dataclass(frozen=True)
class DailyBalance:
    day: date
    balance_minor: int


@dataclass(frozen=True)
class TrialBalanceRow:
    account_id: int
    number: str
    kind: str
    currency: str
    debits_minor: int
    credits_minor: int


@dataclass(frozen=True)
class TrialBalance:
    as_of: date
    rows: list[TrialBalanceRow]
    totals: dict[str, tuple[int, int]]  # currency -> (debits, credits)

    @property
    def balanced(self) -> bool:
        return all(debits == credits for debits, credits in self.totals.values())


@dataclass(frozen=True)
class Difference:
    subject: str
    field: str
    cached: int
    recomputed: int


# ------------------------------------------------------------------ account state


@dataclass
class _Locked:
    """An account row locked for this transaction, with its totals in memory."""

    id: int
    number: str
    currency: str
    normal_side: str
    status: str
    enforce_floor: bool
    overdraft: int
    dp: int
    cp: int
    dpend: int
    cpend: int
    dirty: bool = False

    @property
    def credit_normal(self) -> bool:
        return self.normal_side == NormalSide.CREDIT

    def balance(self) -> int:
        return self.cp - self.dp if self.credit_normal else self.dp - self.cp

    def available(self) -> int:
        if self.credit_normal:
            return self.cp - self.dp - self.dpend
        return self.dp - self.cp - self.cpend

    def above_floor(self) -> bool:
        return not self.enforce_floor or self.available() >= -self.overdraft

    def totals(self) -> tuple[int, int, int, int]:
        return self.dp, self.cp, self.dpend, self.cpend

    def restore(self, totals: tuple[int, int, int, int]) -> None:
        self.dp, self.cp, self.dpend, self.cpend = totals


_LOCK_COLUMNS = (
    accounts_t.c.id,
    accounts_t.c.number,
    accounts_t.c.currency,
    accounts_t.c.normal_side,
    accounts_t.c.status,
    accounts_t.c.enforce_floor,
    accounts_t.c.overdraft_limit_minor,
    accounts_t.c.debits_posted_minor,
    accounts_t.c.credits_posted_minor,
    accounts_t.c.debits_pending_minor,
    accounts_t.c.credits_pending_minor,
)


#: The same query with one array parameter, so its SQL text is the same for any batch size.
#: Sent with `driver_rows`, the ids as an `Int8Array` (binary).
_POSTGRES_LOCK = (
    f"SELECT {', '.join(c.name for c in _LOCK_COLUMNS)} FROM ledger_accounts"  # noqa: S608 - our own column names
    " WHERE id = ANY(CAST(%b AS bigint[])) ORDER BY id FOR UPDATE"
)


def _lock_accounts(session: Session, ids: Iterable[int]) -> dict[int, _Locked]:
    # ORDER BY id puts the lock node above the sort, so every transaction takes
    # its row locks in ascending id order: two transfers can wait, never deadlock.
    wanted = sorted(set(ids))
    rows: Sequence[Any]
    if session.get_bind().dialect.name == "postgresql":
        rows = driver_rows(session, _POSTGRES_LOCK, (Int8Array(wanted),))
    else:
        rows = session.execute(
            select(*_LOCK_COLUMNS)
            .where(accounts_t.c.id.in_(wanted))
            .order_by(accounts_t.c.id)
            .with_for_update()
        ).all()
    return {row[0]: _Locked(*row) for row in rows}


class _Posting:
    """One transaction's worth of ledger writes, validated in memory then flushed in bulk."""

    def __init__(self, session: Session, account_ids: Iterable[int]) -> None:
        self.session = session
        self.now = utcnow()
        self.accounts = _lock_accounts(session, account_ids)
        self.new_transfers: list[TransferView] = []
        # Balances after the debit and credit legs of each new transfer (None for a hold):
        # its postings are made from its row and these.
        self.leg_balances: list[tuple[int | None, int | None]] = []
        self.transfer_updates: list[dict[str, Any]] = []
        # Legs of posted holds: (transfer_id, account_id, currency, amount_minor, balance_after)
        self.postings: list[tuple[str, int, str, int, int]] = []
        # Events of resolved holds; a new transfer's event is made from its row on writing.
        self.events: list[dict[str, Any]] = []

    def account(self, account_id: int) -> _Locked:
        try:
            return self.accounts[account_id]
        except KeyError:
            raise AccountNotFound(account_id=account_id) from None

    # -- checks

    def _check_pair(self, order: TransferOrder) -> tuple[_Locked, _Locked]:
        check_amount_minor(order.amount.minor)
        if order.debit_account_id == order.credit_account_id:
            raise SameAccount()
        debit = self.account(order.debit_account_id)
        credit = self.account(order.credit_account_id)
        for acct in (debit, credit):
            if acct.currency != order.amount.currency:
                raise CurrencyMismatch(account_number=acct.number)
        self._check_status(debit, debiting=True)
        self._check_status(credit, debiting=False)
        return debit, credit

    @staticmethod
    def _check_status(acct: _Locked, *, debiting: bool) -> None:
        if acct.status == AccountStatus.CLOSED:
            raise AccountClosed(number=acct.number)
        if acct.status == AccountStatus.FULLY_FROZEN or (
            debiting and acct.status == AccountStatus.FROZEN
        ):
            raise AccountFrozen(number=acct.number)

    def _apply(
        self, debit: _Locked, credit: _Locked, change: Any, currency: str, want: int
    ) -> None:
        """Apply `change` to both accounts; undo it and refuse if a floor breaks."""
        before = debit.totals(), credit.totals()
        change(debit, credit)
        for acct in (debit, credit):
            if not acct.above_floor():
                debit.restore(before[0])
                credit.restore(before[1])
                raise _insufficient(acct, currency, want)
        debit.dirty = credit.dirty = True

    # -- movements

    def post(
        self,
        order: TransferOrder,
        *,
        batch_id: str | None = None,
        reverses_id: str | None = None,
    ) -> TransferView:
        debit, credit = self._check_pair(order)
        amount, currency = order.amount.minor, order.amount.currency
        # _apply inlined: this is the per-transfer path of every batch.
        debit.dp += amount
        credit.cp += amount
        if not debit.above_floor() or not credit.above_floor():
            refused = debit if not debit.above_floor() else credit
            debit.dp -= amount
            credit.cp -= amount
            raise _insufficient(refused, currency, amount)
        debit.dirty = credit.dirty = True
        transfer_id = str(uuid_utils.uuid7())
        view = TransferView(
            id=transfer_id,
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            currency=currency,
            amount_minor=amount,
            posted_amount_minor=amount,
            status=_POSTED,
            batch_id=batch_id,
            reference=order.reference,
            reverses_id=reverses_id,
            memo=order.memo,
            expires_at=None,
            created_at=self.now,
            resolved_at=self.now,
        )
        self.new_transfers.append(view)
        self.leg_balances.append((debit.balance(), credit.balance()))
        return view

    def hold(self, order: TransferOrder, expires_at: datetime) -> TransferView:
        debit, credit = self._check_pair(order)
        amount = order.amount.minor

        def reserve(d: _Locked, c: _Locked) -> None:
            d.dpend += amount
            c.cpend += amount

        self._apply(debit, credit, reserve, order.amount.currency, amount)
        view = TransferView(
            id=str(uuid_utils.uuid7()),
            debit_account_id=debit.id,
            credit_account_id=credit.id,
            currency=order.amount.currency,
            amount_minor=amount,
            posted_amount_minor=0,
            status=TransferStatus.PENDING.value,
            batch_id=None,
            reference=order.reference,
            reverses_id=None,
            memo=order.memo,
            expires_at=expires_at,
            created_at=self.now,
            resolved_at=None,
        )
        self.new_transfers.append(view)
        self.leg_balances.append((None, None))
        return view

    def resolve_hold(
        self, held: TransferView, post_minor: int, status: TransferStatus
    ) -> TransferView:
        """Release a hold and post `post_minor` of it (0 for a void or an expiry)."""
        debit = self.account(held.debit_account_id)
        credit = self.account(held.credit_account_id)
        if post_minor:
            self._check_status(debit, debiting=True)
            self._check_status(credit, debiting=False)
        amount = held.amount_minor

        def settle(d: _Locked, c: _Locked) -> None:
            d.dpend -= amount
            c.cpend -= amount
            d.dp += post_minor
            c.cp += post_minor

        self._apply(debit, credit, settle, held.currency, post_minor)
        if post_minor:
            self.postings.append((held.id, debit.id, held.currency, post_minor, debit.balance()))
            self.postings.append((held.id, credit.id, held.currency, -post_minor, credit.balance()))
        changes = {
            "status": status.value,
            "posted_amount_minor": post_minor,
            "resolved_at": self.now,
        }
        self.transfer_updates.append({"b_id": held.id, **changes})
        row = {**held.__dict__, **changes}
        self.events.append(_event_row(f"ledger.transfer.{status.value}", row))
        return _transfer_view(row)

    # -- writing

    def flush(self) -> None:
        dirty = [a for a in self.accounts.values() if a.dirty]
        if self.session.get_bind().dialect.name == "postgresql":
            self._write_postgres(dirty)
        else:
            self._write_portable(dirty)
        counts: Counter[str] = self.session.info.setdefault("ledger_postings", Counter())
        for view in self.new_transfers:
            if view.status == _POSTED:
                counts[view.currency] += 2
        counts.update(p[2] for p in self.postings)

    def _all_postings(self) -> list[tuple[str, int, str, int, int]]:
        """Every leg written by this unit, in order (write_postgres.sql makes the same)."""
        legs: list[tuple[str, int, str, int, int]] = []
        for v, (debit_after, credit_after) in zip(
            self.new_transfers, self.leg_balances, strict=True
        ):
            if debit_after is not None and credit_after is not None:
                legs.append((v.id, v.debit_account_id, v.currency, v.amount_minor, debit_after))
                legs.append((v.id, v.credit_account_id, v.currency, -v.amount_minor, credit_after))
        return legs + self.postings

    def _write_portable(self, dirty: list[_Locked]) -> None:
        session = self.session
        if self.new_transfers:
            session.execute(insert(transfers_t), [dict(vars(v)) for v in self.new_transfers])
        if self.transfer_updates:
            session.execute(
                update(transfers_t)
                .where(transfers_t.c.id == bindparam("b_id"))
                .values(
                    status=bindparam("status"),
                    posted_amount_minor=bindparam("posted_amount_minor"),
                    resolved_at=bindparam("resolved_at"),
                ),
                self.transfer_updates,
                execution_options={"synchronize_session": False},
            )
        postings = self._all_postings()
        if postings:
            session.execute(
                insert(postings_t),
                [
                    {
                        "transfer_id": transfer_id,
                        "account_id": account_id,
                        "currency": currency,
                        "amount_minor": amount,
                        "balance_after_minor": balance,
                        "created_at": self.now,
                    }
                    for transfer_id, account_id, currency, amount, balance in postings
                ],
            )
        if dirty:
            session.execute(
                update(accounts_t)
                .where(accounts_t.c.id == bindparam("b_id"))
                .values(
                    debits_posted_minor=bindparam("dp"),
                    credits_posted_minor=bindparam("cp"),
                    debits_pending_minor=bindparam("dpend"),
                    credits_pending_minor=bindparam("cpend"),
                    updated_at=bindparam("now"),
                ),
                [
                    {
                        "b_id": a.id,
                        "dp": a.dp,
                        "cp": a.cp,
                        "dpend": a.dpend,
                        "cpend": a.cpend,
                        "now": self.now,
                    }
                    for a in dirty
                ],
                execution_options={"synchronize_session": False},
            )
        made = [_event_row(f"ledger.transfer.{v.status}", vars(v)) for v in self.new_transfers]
        events.emit_many(session, made + self.events)

    def _write_postgres(self, dirty: list[_Locked]) -> None:
        """Everything in one statement: a transfer costs three round trips, a batch of 1000 too.

        Each CTE inserts or updates from arrays (`unnest`), so the SQL text and its
        parameter count never change and the server plans it once. The legs of
        every transfer arrive in this one statement, where the balance trigger
        checks them.
        """
        u, e = self.transfer_updates, self.events
        # Columns from rows by C-level transposition.
        t = list(zip(*map(_TRANSFER_COLUMNS, self.new_transfers), strict=True))
        t += list(zip(*self.leg_balances, strict=True))
        p = list(zip(*self.postings, strict=True))
        columns = {
            **dict(zip(_TRANSFER_PARAMS, t or [()] * len(_TRANSFER_PARAMS), strict=True)),
            **dict(zip(_POSTING_PARAMS, p or [()] * len(_POSTING_PARAMS), strict=True)),
            "u_id": [r["b_id"] for r in u],
            "u_status": [r["status"] for r in u],
            "u_posted": [r["posted_amount_minor"] for r in u],
            "a_id": [a.id for a in dirty],
            "a_dp": [a.dp for a in dirty],
            "a_cp": [a.cp for a in dirty],
            "a_dpend": [a.dpend for a in dirty],
            "a_cpend": [a.cpend for a in dirty],
            "e_type": [r["event_type"] for r in e],
            "e_aggregate": [r["aggregate_id"] for r in e],
            "e_payload": [json.dumps(r["payload"], ensure_ascii=False) for r in e],
        }
        params: dict[str, Any] = {name: _ARRAY_OF[name](values) for name, values in columns.items()}
        params["now"] = self.now
        driver_rows(self.session, _POSTGRES_WRITE, params)


_POSTED = TransferStatus.POSTED.value
_TRANSFER_COLUMNS = operator.attrgetter(
    "id",
    "debit_account_id",
    "credit_account_id",
    "currency",
    "amount_minor",
    "posted_amount_minor",
    "status",
    "batch_id",
    "reference",
    "reverses_id",
    "memo",
    "expires_at",
)
_TRANSFER_PARAMS = (
    "t_id",
    "t_debit",
    "t_credit",
    "t_currency",
    "t_amount",
    "t_posted",
    "t_status",
    "t_batch",
    "t_reference",
    "t_reverses",
    "t_memo",
    "t_expires",
    "t_debit_balance",
    "t_credit_balance",
)
_POSTING_PARAMS = ("p_transfer", "p_account", "p_currency", "p_amount", "p_balance")


def _insufficient(acct: _Locked, currency: str, want: int) -> InsufficientFunds:
    """The refusal for `acct`, whose totals are back to what they were before the movement."""
    return InsufficientFunds(
        account_number=acct.number,
        available=format_minor(acct.available() + acct.overdraft, currency),
        requested=format_minor(want, currency),
    )


def _event_row(event_type: str, row: dict[str, Any]) -> dict[str, Any]:
    """An outbox row for a transfer; on PostgreSQL write_postgres.sql builds the same payload."""
    return {
        "event_type": event_type,
        "aggregate_type": "ledger_transfer",
        "aggregate_id": row["id"],
        "payload": {
            "transfer_id": row["id"],
            "debit_account_id": row["debit_account_id"],
            "credit_account_id": row["credit_account_id"],
            "currency": row["currency"],
            "amount_minor": row["amount_minor"],
            "posted_amount_minor": row["posted_amount_minor"],
            "status": row["status"],
            "reference": row["reference"],
            "reverses_id": row["reverses_id"],
        },
    }


_POSTGRES_WRITE = (Path(__file__).parent / "sql" / "write_postgres.sql").read_text()
_ARRAY_CLASS = {
    "bigint": Int8Array,
    "varchar": TextArray,
    "text": TextArray,
    "timestamptz": TimestamptzArray,
}
#: The class that sends each array parameter of write_postgres.sql, read off its CASTs.
_ARRAY_OF = {
    name: _ARRAY_CLASS[sql_type]
    for name, sql_type in re.findall(r"CAST\(%\((\w+)\)b AS (\w+)\[\]\)", _POSTGRES_WRITE)
}


def _transfer_view(row: dict[str, Any]) -> TransferView:
    return TransferView(**{f: row[f] for f in TransferView.__dataclass_fields__})


def _account_view(acct: LedgerAccount) -> AccountView:
    locked = _Locked(
        acct.id,
        acct.number,
        acct.currency,
        acct.normal_side,
        acct.status,
        acct.enforce_floor,
        acct.overdraft_limit_minor,
        acct.debits_posted_minor,
        acct.credits_posted_minor,
        acct.debits_pending_minor,
        acct.credits_pending_minor,
    )
    return AccountView(
        id=acct.id,
        number=acct.number,
        code=acct.code,
        owner_id=acct.owner_id,
        name=acct.name,
        currency=acct.currency,
        kind=acct.kind,
        normal_side=acct.normal_side,
        status=acct.status,
        overdraft_limit_minor=acct.overdraft_limit_minor,
        balance_minor=locked.balance(),
        available_minor=locked.available(),
        pending_debits_minor=acct.debits_pending_minor,
        pending_credits_minor=acct.credits_pending_minor,
        created_at=acct.created_at,
    )


# ----------------------------------------------------------------------- accounts


def new_account_number(prefix: str) -> str:
    """A 19-digit account number: 6-digit bank prefix, 12 random digits, Luhn check digit."""
    body = prefix + f"{secrets.randbelow(10**12):012d}"
    return body + luhn.calc_check_digit(body)


def is_valid_account_number(number: str) -> bool:
    return len(number) == 19 and number.isdigit() and luhn.is_valid(number)


def open_account(
    session: Session,
    *,
    kind: AccountKind,
    currency: str = "CNY",
    name: str,
    owner_id: str | None = None,
    overdraft_limit_minor: int = 0,
    code: str | None = None,
    number_prefix: str = "621688",
) -> AccountView:
    check_currency(currency)
    if overdraft_limit_minor < 0:
        raise ValueError("overdraft limit cannot be negative")
    while True:
        number = new_account_number(number_prefix)
        if session.scalar(select(accounts_t.c.id).where(accounts_t.c.number == number)) is None:
            break
    now = utcnow()
    acct = LedgerAccount(
        number=number,
        code=code,
        owner_id=owner_id,
        name=name,
        currency=currency,
        kind=kind.value,
        normal_side=kind.normal_side.value,
        status=AccountStatus.ACTIVE.value,
        enforce_floor=kind.is_customer,
        overdraft_limit_minor=overdraft_limit_minor,
        debits_posted_minor=0,
        credits_posted_minor=0,
        debits_pending_minor=0,
        credits_pending_minor=0,
        created_at=now,
        updated_at=now,
    )
    session.add(acct)
    session.flush()
    events.emit(
        session,
        "ledger.account.opened",
        "ledger_account",
        str(acct.id),
        {"account_id": acct.id, "kind": acct.kind, "currency": currency, "owner_id": owner_id},
    )
    return _account_view(acct)


def open_accounts_bulk(
    session: Session,
    *,
    kind: AccountKind,
    owners: Sequence[tuple[str | None, str]],
    currency: str = "CNY",
    number_prefix: str = "621688",
) -> list[int]:
    """Open many accounts at once (payroll on-boarding, demo data, benchmarks); returns their ids.

    `owners` holds (owner_id, name) pairs. Numbers are drawn at random and a
    clash with an existing number simply makes the insert fail, so the caller's
    unit of work retries nothing silently.
    """
    check_currency(currency)
    now = utcnow()
    numbers = {new_account_number(number_prefix) for _ in owners}
    while len(numbers) < len(owners):
        numbers.add(new_account_number(number_prefix))
    rows = [
        {
            "number": number,
            "code": None,
            "owner_id": owner_id,
            "name": name,
            "currency": currency,
            "kind": kind.value,
            "normal_side": kind.normal_side.value,
            "status": AccountStatus.ACTIVE.value,
            "enforce_floor": kind.is_customer,
            "overdraft_limit_minor": 0,
            "debits_posted_minor": 0,
            "credits_posted_minor": 0,
            "debits_pending_minor": 0,
            "credits_pending_minor": 0,
            "created_at": now,
            "updated_at": now,
        }
        for number, (owner_id, name) in zip(sorted(numbers), owners, strict=True)
    ]
    session.execute(insert(accounts_t), rows)
    ids = list(
        session.scalars(
            select(accounts_t.c.id).where(accounts_t.c.number.in_([r["number"] for r in rows]))
        )
    )
    events.emit_many(
        session,
        [
            {
                "event_type": "ledger.account.opened",
                "aggregate_type": "ledger_account",
                "aggregate_id": str(account_id),
                "payload": {"account_id": account_id, "kind": kind.value, "currency": currency},
            }
            for account_id in ids
        ],
    )
    return sorted(ids)


def bank_account(session: Session, kind: AccountKind, currency: str = "CNY") -> AccountView:
    """The bank's own account of a kind and currency (cash, clearing...), made on first use."""
    if kind.is_customer:
        raise ValueError("bank_account is for the bank's internal accounts")
    code = f"bank:{kind.value}:{currency}"
    acct = session.scalar(select(LedgerAccount).where(LedgerAccount.code == code))
    if acct is not None:
        return _account_view(acct)
    name = f"Bank {kind.value.removeprefix('bank_')} {currency}"
    return open_account(session, kind=kind, currency=currency, name=name, code=code)


def get_account(session: Session, account_id: int) -> AccountView:
    acct = session.get(LedgerAccount, account_id, populate_existing=True)
    if acct is None:
        raise AccountNotFound(account_id=account_id)
    return _account_view(acct)


def get_account_by_number(session: Session, number: str) -> AccountView:
    acct = session.scalar(select(LedgerAccount).where(LedgerAccount.number == number))
    if acct is None:
        raise AccountNotFound()
    return _account_view(acct)


def list_accounts(session: Session, owner_id: str) -> list[AccountView]:
    rows = session.scalars(
        select(LedgerAccount).where(LedgerAccount.owner_id == owner_id).order_by(LedgerAccount.id)
    ).all()
    return [_account_view(a) for a in rows]


def set_account_status(session: Session, account_id: int, status: AccountStatus) -> AccountView:
    """Freeze (debits), fully freeze (debits and credits), unfreeze or close an account."""
    locked = _lock_accounts(session, [account_id]).get(account_id)
    if locked is None:
        raise AccountNotFound(account_id=account_id)
    if locked.status == AccountStatus.CLOSED and status != AccountStatus.CLOSED:
        raise AccountClosed(number=locked.number)
    if status == AccountStatus.CLOSED and (
        locked.balance() != 0 or locked.dpend != 0 or locked.cpend != 0
    ):
        raise AccountNotEmpty()
    session.execute(
        update(accounts_t)
        .where(accounts_t.c.id == account_id)
        .values(status=status.value, updated_at=utcnow())
    )
    events.emit(
        session,
        f"ledger.account.{status.value}",
        "ledger_account",
        str(account_id),
        {"account_id": account_id, "status": status.value, "previous_status": locked.status},
    )
    return get_account(session, account_id)


# ---------------------------------------------------------------------- transfers


def _existing_by_reference(session: Session, order: TransferOrder) -> TransferView | None:
    if order.reference is None:
        return None
    row = (
        session.execute(select(transfers_t).where(transfers_t.c.reference == order.reference))
        .mappings()
        .first()
    )
    if row is None:
        return None
    same = (
        row["debit_account_id"] == order.debit_account_id
        and row["credit_account_id"] == order.credit_account_id
        and row["amount_minor"] == order.amount.minor
        and row["currency"] == order.amount.currency
    )
    if not same:
        raise ReferenceConflict(reference=order.reference)
    return _transfer_view(dict(row))


def transfer(session: Session, order: TransferOrder) -> TransferView:
    """Post a transfer now. With a `reference`, a repeat returns the first transfer."""
    existing = _existing_by_reference(session, order)
    if existing is not None:
        return existing
    if session.get_bind().dialect.name == "postgresql":
        return _transfer_postgres(session, order)
    posting = _Posting(session, (order.debit_account_id, order.credit_account_id))
    view = posting.post(order)
    posting.flush()
    return view


#: One round trip: `ledger_post_transfer` (migration 0011) locks, checks and writes.
#: Sent with `driver_rows` (no compilation, no result processing) and
#: positional parameters: the per-transfer client work is most of the cost.
_POSTGRES_TRANSFER = (
    "SELECT refusal, subject, available FROM ledger_post_transfer(%s::varchar, %s::bigint,"
    " %s::bigint, %s::varchar, %s::bigint, %s::varchar, %s::varchar, %s::timestamptz)"
)


def _transfer_postgres(session: Session, order: TransferOrder) -> TransferView:
    """`_Posting.post` of one order, done by the database function: same checks, same rows."""
    params = _post_transfer_params(order)
    ((refusal, subject, available),) = driver_rows(session, _POSTGRES_TRANSFER, params)
    view = _posted_by_function(order, params, refusal, subject, available)
    counts: Counter[str] = session.info.setdefault("ledger_postings", Counter())
    counts[view.currency] += 2
    return view


def post_transfer(db: Database, order: TransferOrder) -> TransferView:
    """Post one transfer as a database transaction of its own, and commit it.

    What `transfer` does in a unit of work that holds nothing else. On
    PostgreSQL it is one call of `ledger_post_transfer` in autocommit: one
    round trip and no ORM session, against three round trips for
    `db.run(transfer)`. With a `reference` (a lookup first) or on SQLite it
    is `db.run(transfer)`.
    """
    if order.reference is not None or db.backend != "postgresql":
        return db.run(lambda session: transfer(session, order))
    params = _post_transfer_params(order)
    ((refusal, subject, available),) = db.run_statement(_POSTGRES_TRANSFER, params)
    view = _posted_by_function(order, params, refusal, subject, available)
    metrics.count_postings(view.currency, 2)
    return view


def _refuse_before_database(order: TransferOrder) -> None:
    """The refusals the ledger functions leave to Python: the amount, and one account twice."""
    check_amount_minor(order.amount.minor)
    if order.debit_account_id == order.credit_account_id:
        raise SameAccount()


def _post_transfer_params(order: TransferOrder) -> tuple[Any, ...]:
    """The refusals Python makes before the database is asked, then the function's arguments."""
    _refuse_before_database(order)
    return (
        str(uuid_utils.uuid7()),
        order.debit_account_id,
        order.credit_account_id,
        order.amount.currency,
        order.amount.minor,
        order.reference,
        order.memo,
        utcnow(),
    )


def _posted_by_function(
    order: TransferOrder,
    params: tuple[Any, ...],
    refusal: str | None,
    subject: str,
    available: int | None,
) -> TransferView:
    """The transfer `ledger_post_transfer` wrote with `params`, or the DomainError it refused."""
    amount, currency = order.amount.minor, order.amount.currency
    if refusal is not None:
        raise _refusal(refusal, subject, available, currency, amount)
    return _posted(order, transfer_id=params[0], now=params[-1])


def _posted(
    order: TransferOrder, transfer_id: str, now: datetime, batch_id: str | None = None
) -> TransferView:
    """The transfer a database function posted for `order`."""
    amount = order.amount
    return TransferView(
        id=transfer_id,
        debit_account_id=order.debit_account_id,
        credit_account_id=order.credit_account_id,
        currency=amount.currency,
        amount_minor=amount.minor,
        posted_amount_minor=amount.minor,
        status=_POSTED,
        batch_id=batch_id,
        reference=order.reference,
        reverses_id=None,
        memo=order.memo,
        expires_at=None,
        created_at=now,
        resolved_at=now,
    )


def _refusal(
    code: str, subject: str, available: int | None, currency: str, amount: int
) -> DomainError:
    """The DomainError `_Posting.post` raises for a refusal `ledger_post_transfer` returned."""
    if code == AccountNotFound.code:
        return AccountNotFound(account_id=int(subject))
    if code == CurrencyMismatch.code:
        return CurrencyMismatch(account_number=subject)
    if code == AccountClosed.code:
        return AccountClosed(number=subject)
    if code == AccountFrozen.code:
        return AccountFrozen(number=subject)
    assert code == InsufficientFunds.code, code
    assert available is not None
    return InsufficientFunds(
        account_number=subject,
        available=format_minor(available, currency),
        requested=format_minor(amount, currency),
    )


def transfer_batch(
    session: Session, orders: Sequence[TransferOrder], *, linked: bool
) -> list[BatchItemResult]:
    """Post many transfers in one database transaction.

    Linked: all post or none do (a `BatchRejected` names the first failure).
    Independent: each is checked on its own; refusals are reported per item.
    """
    if len(orders) > MAX_BATCH:
        raise BatchTooLarge(limit=MAX_BATCH)
    batch_id = str(uuid_utils.uuid7())
    ids = [i for o in orders for i in (o.debit_account_id, o.credit_account_id)]
    posting = _Posting(session, ids)
    results: list[BatchItemResult] = []
    for index, order in enumerate(orders):
        try:
            if order.reference is not None:
                raise ReferenceConflict(reference=order.reference)  # batches carry no references
            view = posting.post(order, batch_id=batch_id)
        except DomainError as error:
            if linked:
                raise _rejected(index, error) from error
            results.append(BatchItemResult(index, None, error))
        else:
            results.append(BatchItemResult(index, view, None))
    posting.flush()
    return results


def _rejected(index: int, error: DomainError) -> BatchRejected:
    """A linked batch refused for its item `index`."""
    return BatchRejected(index=index, reason=error.detail("en-US"), item_code=error.code)


def post_batch(
    db: Database, orders: Sequence[TransferOrder], *, linked: bool
) -> list[BatchItemResult]:
    """`transfer_batch` as a database transaction of its own, committed.

    On PostgreSQL it is one call of `ledger_post_batch` (migration 0016) in
    autocommit, which locks, checks and writes in the server: the accounts
    stay locked only while the server works, not across round trips and the
    client's checks, so concurrent batches that share an account wait less.
    Results, refusals and rows are those of `transfer_batch`. On SQLite, or
    when an order is refused before any account is read (amount, same
    account, a reference), it is `db.run(transfer_batch)`, which reports that
    refusal in its place among the others.
    """
    if len(orders) > MAX_BATCH:
        raise BatchTooLarge(limit=MAX_BATCH)
    if db.backend != "postgresql" or not all(map(_checked_in_database, orders)):
        return db.run(lambda session: transfer_batch(session, orders, linked=linked))
    ids = [str(uuid_utils.uuid7()) for _ in orders]
    batch_id, now = str(uuid_utils.uuid7()), utcnow()
    params = (
        TextArray(ids),
        Int8Array([o.debit_account_id for o in orders]),
        Int8Array([o.credit_account_id for o in orders]),
        TextArray([o.amount.currency for o in orders]),
        Int8Array([o.amount.minor for o in orders]),
        TextArray([o.memo for o in orders]),
        batch_id,
        linked,
        now,
    )
    refused: dict[int, DomainError] = {}
    for item, code, subject, available in db.run_statement(_POSTGRES_BATCH, params):
        order = orders[item - 1]
        refused[item - 1] = _refusal(
            code, subject, available, order.amount.currency, order.amount.minor
        )
    if linked and refused:
        ((index, error),) = refused.items()
        raise _rejected(index, error)
    results = [
        BatchItemResult(index, None, refused[index])
        if index in refused
        else BatchItemResult(index, _posted(order, ids[index], now, batch_id), None)
        for index, order in enumerate(orders)
    ]
    posted = Counter(r.transfer.currency for r in results if r.transfer is not None)
    for currency, n in posted.items():
        metrics.count_postings(currency, 2 * n)
    return results


def _checked_in_database(order: TransferOrder) -> bool:
    """Whether `ledger_post_batch` makes every check of `order` that `_Posting.post` makes:
    no reference, and none of the refusals made before the database is asked."""
    if order.reference is not None:
        return False
    try:
        _refuse_before_database(order)
    except (DomainError, MoneyError):
        return False
    return True


_POSTGRES_BATCH = (
    "SELECT item, refusal, subject, available FROM ledger_post_batch(%b::varchar[], %b::bigint[],"
    " %b::bigint[], %b::varchar[], %b::bigint[], %b::varchar[], %s::varchar, %s::boolean,"
    " %s::timestamptz)"
)


def hold(
    session: Session, order: TransferOrder, *, timeout: timedelta = timedelta(days=7)
) -> TransferView:
    """Reserve money for a transfer that may still fail (two-phase: post or void later)."""
    existing = _existing_by_reference(session, order)
    if existing is not None:
        return existing
    posting = _Posting(session, (order.debit_account_id, order.credit_account_id))
    view = posting.hold(order, utcnow() + timeout)
    posting.flush()
    return view


def _lock_transfer(session: Session, transfer_id: str) -> TransferView:
    row = (
        session.execute(
            select(transfers_t).where(transfers_t.c.id == transfer_id).with_for_update()
        )
        .mappings()
        .first()
    )
    if row is None:
        raise TransferNotFound(transfer_id=transfer_id)
    return _transfer_view(dict(row))


def _resolve(
    session: Session, transfer_id: str, post_minor: int | None, status: TransferStatus
) -> TransferView:
    held = _lock_transfer(session, transfer_id)
    if held.status != TransferStatus.PENDING:
        if held.status == TransferStatus.EXPIRED:
            raise HoldExpired()
        raise TransferNotPending(status=held.status)
    posting = _Posting(session, (held.debit_account_id, held.credit_account_id))
    if status == TransferStatus.POSTED:
        assert held.expires_at is not None
        if held.expires_at <= posting.now:
            status, post_minor = TransferStatus.EXPIRED, 0
        else:
            amount = held.amount_minor if post_minor is None else check_amount_minor(post_minor)
            if amount > held.amount_minor:
                raise PostExceedsHold()
            post_minor = amount
    view = posting.resolve_hold(held, post_minor or 0, status)
    posting.flush()
    return view


def post_hold(session: Session, transfer_id: str, amount_minor: int | None = None) -> TransferView:
    """Post a hold, in full or in part (the rest is released).

    A hold past its expiry is expired instead (its money released) and the
    result says so; the caller sees status `expired`.
    """
    return _resolve(session, transfer_id, amount_minor, TransferStatus.POSTED)


def void_hold(session: Session, transfer_id: str) -> TransferView:
    return _resolve(session, transfer_id, 0, TransferStatus.VOIDED)


def expire_holds(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Release holds whose time ran out. Safe to run from several workers at once."""
    now = now or utcnow()
    query = (
        select(transfers_t.c.id)
        .where(transfers_t.c.status == TransferStatus.PENDING.value)
        .where(transfers_t.c.expires_at <= now)
        .order_by(transfers_t.c.expires_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    expired = 0
    for transfer_id in session.scalars(query).all():
        _resolve(session, transfer_id, 0, TransferStatus.EXPIRED)
        expired += 1
    return expired


def reverse(session: Session, transfer_id: str, memo: str = "") -> TransferView:
    """Correct a posted transfer with a new one in the other direction (冲正)."""
    original = _lock_transfer(session, transfer_id)
    if original.status != TransferStatus.POSTED or original.reverses_id is not None:
        raise NotReversible()
    already = session.scalar(
        select(transfers_t.c.id).where(transfers_t.c.reverses_id == transfer_id)
    )
    if already is not None:
        raise NotReversible()
    posting = _Posting(session, (original.debit_account_id, original.credit_account_id))
    order = TransferOrder(
        debit_account_id=original.credit_account_id,
        credit_account_id=original.debit_account_id,
        amount=Money(original.posted_amount_minor, original.currency),
        memo=memo or f"reversal of {transfer_id}",
    )
    view = posting.post(order, reverses_id=transfer_id)
    posting.flush()
    return view


def get_transfer(session: Session, transfer_id: str) -> TransferView:
    row = (
        session.execute(select(transfers_t).where(transfers_t.c.id == transfer_id))
        .mappings()
        .first()
    )
    if row is None:
        raise TransferNotFound(transfer_id=transfer_id)
    return _transfer_view(dict(row))


# --------------------------------------------------------------------- statements


def statement(
    session: Session, account_id: int, *, cursor: str | None = None, limit: int = 50
) -> StatementPage:
    """Postings of an account, newest first, with the running balance after each."""
    account = get_account(session, account_id)
    limit = max(1, min(limit, 200))
    sign = -1 if account.normal_side == NormalSide.CREDIT else 1
    p = postings_t
    # The counterparty is the transfer's other account (a transfer never has the
    # same account on both sides), so no second posting needs reading.
    counterparty = case(
        (transfers_t.c.debit_account_id == p.c.account_id, transfers_t.c.credit_account_id),
        else_=transfers_t.c.debit_account_id,
    )
    query = (
        select(
            p.c.id,
            p.c.transfer_id,
            p.c.amount_minor,
            p.c.balance_after_minor,
            accounts_t.c.id,
            accounts_t.c.number,
            transfers_t.c.memo,
            p.c.created_at,
        )
        .join(transfers_t, transfers_t.c.id == p.c.transfer_id)
        .join(accounts_t, accounts_t.c.id == counterparty)
        .where(p.c.account_id == account_id)
        .order_by(p.c.id.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        query = query.where(p.c.id < _decode_cursor(cursor))
    rows = session.execute(query).all()
    lines = [
        StatementLine(
            posting_id=r[0],
            transfer_id=r[1],
            amount_minor=sign * r[2],
            balance_after_minor=r[3],
            counterparty_account_id=r[4],
            counterparty_number=r[5],
            memo=r[6],
            created_at=r[7],
        )
        for r in rows[:limit]
    ]
    next_cursor = str(lines[-1].posting_id) if len(rows) > limit else None
    return StatementPage(account, lines, next_cursor)


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    status = 400
    title = "Invalid cursor"
    message_zh = "分页参数无效"
    message_en = "The pagination cursor is not valid"


def _decode_cursor(cursor: str) -> int:
    if not cursor.isdigit() or len(cursor) > 19:
        raise InvalidCursor()
    return int(cursor)


def balance_history(
    session: Session, account_id: int, start: date, end: date
) -> list[DailyBalance]:
    """Closing balance of each Beijing-time day from `start` to `end` inclusive."""
    get_account(session, account_id)
    range_start, _ = business_day_bounds(start)
    _, range_end = business_day_bounds(end)
    opening = session.scalar(
        select(postings_t.c.balance_after_minor)
        .where(postings_t.c.account_id == account_id, postings_t.c.created_at < range_start)
        .order_by(postings_t.c.id.desc())
        .limit(1)
    )
    closing_by_day: dict[date, int] = {}
    rows = session.execute(
        select(postings_t.c.created_at, postings_t.c.balance_after_minor)
        .where(
            postings_t.c.account_id == account_id,
            postings_t.c.created_at >= range_start,
            postings_t.c.created_at < range_end,
        )
        .order_by(postings_t.c.id)
    ).all()
    for created_at, balance in rows:
        closing_by_day[business_date(created_at)] = balance
    history: list[DailyBalance] = []
    balance = opening or 0
    day = start
    while day <= end:
        balance = closing_by_day.get(day, balance)
        history.append(DailyBalance(day, balance))
        day += timedelta(days=1)
    return history


# --------------------------------------------------------- trial balance, reconcile


def trial_balance(session: Session, as_of: date) -> TrialBalance:
    """Debit and credit totals of every account up to the end of `as_of` (Beijing time)."""
    _, end = business_day_bounds(as_of)
    debit_sum = func.coalesce(
        func.sum(case((postings_t.c.amount_minor > 0, postings_t.c.amount_minor), else_=0)), 0
    )
    credit_sum = func.coalesce(
        func.sum(case((postings_t.c.amount_minor < 0, -postings_t.c.amount_minor), else_=0)), 0
    )
    rows = session.execute(
        select(
            accounts_t.c.id,
            accounts_t.c.number,
            accounts_t.c.kind,
            accounts_t.c.currency,
            debit_sum,
            credit_sum,
        )
        .join(postings_t, postings_t.c.account_id == accounts_t.c.id)
        .where(postings_t.c.created_at < end)
        .group_by(accounts_t.c.id, accounts_t.c.number, accounts_t.c.kind, accounts_t.c.currency)
        .order_by(accounts_t.c.id)
    ).all()
    result_rows = [TrialBalanceRow(r[0], r[1], r[2], r[3], int(r[4]), int(r[5])) for r in rows]
    totals: dict[str, tuple[int, int]] = {}
    for row in result_rows:
        debits, credits = totals.get(row.currency, (0, 0))
        totals[row.currency] = (debits + row.debits_minor, credits + row.credits_minor)
    return TrialBalance(as_of, result_rows, totals)


def reconcile(session: Session) -> list[Difference]:
    """Recompute every cached total from postings and pending holds; list what differs."""
    differences: list[Difference] = []
    posted = (
        select(
            postings_t.c.account_id.label("account_id"),
            func.sum(
                case((postings_t.c.amount_minor > 0, postings_t.c.amount_minor), else_=0)
            ).label("d"),
            func.sum(
                case((postings_t.c.amount_minor < 0, -postings_t.c.amount_minor), else_=0)
            ).label("c"),
        )
        .group_by(postings_t.c.account_id)
        .subquery()
    )
    pending_debits = _pending_sum(transfers_t.c.debit_account_id)
    pending_credits = _pending_sum(transfers_t.c.credit_account_id)
    rows = session.execute(
        select(
            accounts_t.c.number,
            accounts_t.c.debits_posted_minor,
            accounts_t.c.credits_posted_minor,
            accounts_t.c.debits_pending_minor,
            accounts_t.c.credits_pending_minor,
            func.coalesce(posted.c.d, 0),
            func.coalesce(posted.c.c, 0),
            func.coalesce(pending_debits.c.total, 0),
            func.coalesce(pending_credits.c.total, 0),
        )
        .outerjoin(posted, posted.c.account_id == accounts_t.c.id)
        .outerjoin(pending_debits, pending_debits.c.account_id == accounts_t.c.id)
        .outerjoin(pending_credits, pending_credits.c.account_id == accounts_t.c.id)
    ).all()
    names = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
    for row in rows:
        for i, name in enumerate(names):
            cached, recomputed = int(row[1 + i]), int(row[5 + i])
            if cached != recomputed:
                differences.append(Difference(f"account {row[0]}", name, cached, recomputed))
    unbalanced = session.execute(
        select(postings_t.c.transfer_id, postings_t.c.currency, func.sum(postings_t.c.amount_minor))
        .group_by(postings_t.c.transfer_id, postings_t.c.currency)
        .having(func.sum(postings_t.c.amount_minor) != 0)
    ).all()
    for transfer_id, currency, total in unbalanced:
        differences.append(Difference(f"transfer {transfer_id}", f"sum_{currency}", int(total), 0))
    misposted = session.execute(
        select(
            transfers_t.c.id,
            transfers_t.c.posted_amount_minor,
            func.coalesce(
                func.sum(case((postings_t.c.amount_minor > 0, postings_t.c.amount_minor), else_=0)),
                0,
            ),
        )
        .outerjoin(postings_t, postings_t.c.transfer_id == transfers_t.c.id)
        .group_by(transfers_t.c.id, transfers_t.c.posted_amount_minor)
        .having(
            transfers_t.c.posted_amount_minor
            != func.coalesce(
                func.sum(case((postings_t.c.amount_minor > 0, postings_t.c.amount_minor), else_=0)),
                0,
            )
        )
    ).all()
    for transfer_id, posted_amount, legs in misposted:
        differences.append(
            Difference(f"transfer {transfer_id}", "posted_amount", int(posted_amount), int(legs))
        )
    return differences


def _pending_sum(column: Any) -> Any:
    return (
        select(column.label("account_id"), func.sum(transfers_t.c.amount_minor).label("total"))
        .where(transfers_t.c.status == TransferStatus.PENDING.value)
        .group_by(column)
        .subquery()
    )


def total_by_currency(session: Session) -> dict[str, int]:
    """Sum of every posting per currency (zero when money is conserved)."""
    rows = session.execute(
        select(postings_t.c.currency, func.sum(postings_t.c.amount_minor)).group_by(
            postings_t.c.currency
        )
    ).all()
    return {currency: int(total) for currency, total in rows}
