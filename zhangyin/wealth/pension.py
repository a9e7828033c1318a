"""Personal pension (个人养老金): the account, capped contributions, restricted withdrawals, tax.

The pension money sits in a ledger account of its own (owner `pension:<customer>`,
so the payments domain never offers it for transfers). Contributions are capped
at 12,000 CNY per tax year, the Beijing calendar year of the contribution; the
check runs with the customer's pension row locked, so two concurrent
contributions cannot both fit under the cap. The money can buy only products on
the pension list (see `service.subscribe`) and comes out only on reaching
pension age (or, verified by staff, disability or settling abroad), with 3%
income tax withheld (财税〔2022〕34号).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhangyin import events
from zhangyin.clock import business_date
from zhangyin.identity import service as identity
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money, format_minor
from zhangyin.wealth.errors import (
    PensionAccountExists,
    PensionCapExceeded,
    PensionWithdrawalRefused,
)
from zhangyin.wealth.models import PensionAccount, PensionMovement
from zhangyin.wealth.service import _pay, customer_account, pension_account

ANNUAL_CAP_MINOR = 1_200_000  # 12,000.00 CNY
WITHDRAWAL_TAX_BP = 300  # 3%
#: Simplified pension age: the statutory age is being raised gradually from 2025 and
#: differs by sex and job; a bank checks it against the social-security record.
PENSION_AGE = 60
WITHDRAWAL_REASONS = ("retirement", "disability", "emigration")


def owner_of(customer_id: str) -> str:
    return f"pension:{customer_id}"


def open_account(session: Session, customer_id: str, now: datetime) -> PensionAccount:
    if session.get(PensionAccount, customer_id) is not None:
        raise PensionAccountExists()
    account = ledger.open_account(
        session,
        kind=AccountKind.CUSTOMER_SAVINGS,
        name="个人养老金资金账户",
        owner_id=owner_of(customer_id),
    )
    row = PensionAccount(customer_id=customer_id, ledger_account_id=account.id, opened_at=now)
    session.add(row)
    session.flush()
    events.emit(
        session,
        "wealth.pension.opened",
        "customer",
        customer_id,
        {"customer_id": customer_id, "account_id": account.id},
    )
    return row


def contributed_in(session: Session, customer_id: str, tax_year: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PensionMovement.amount_minor), 0)).where(
                PensionMovement.customer_id == customer_id,
                PensionMovement.kind == "contribution",
                PensionMovement.tax_year == tax_year,
            )
        )
        or 0
    )


def contribute(
    session: Session, customer_id: str, from_account_id: int, amount: Money, now: datetime
) -> PensionMovement:
    """Pay into the pension account (缴存) within the year's cap."""
    row = pension_account(session, customer_id, lock=True)
    source = customer_account(session, customer_id, from_account_id)
    tax_year = business_date(now).year
    used = contributed_in(session, customer_id, tax_year)
    if amount.currency != "CNY" or used + amount.minor > ANNUAL_CAP_MINOR:
        raise PensionCapExceeded(
            tax_year=tax_year, remaining=format_minor(max(0, ANNUAL_CAP_MINOR - used), "CNY")
        )
    transfer_id = _pay(
        session, source.id, row.ledger_account_id, amount.minor, "CNY", f"个人养老金缴存 {tax_year}"
    )
    assert transfer_id is not None
    movement = PensionMovement(
        customer_id=customer_id,
        kind="contribution",
        tax_year=tax_year,
        amount_minor=amount.minor,
        tax_minor=0,
        transfer_id=transfer_id,
        created_at=now,
    )
    session.add(movement)
    session.flush()
    events.emit(
        session,
        "wealth.pension.contributed",
        "customer",
        customer_id,
        {"customer_id": customer_id, "tax_year": tax_year, "amount_minor": amount.minor},
    )
    return movement


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def withdraw(
    session: Session,
    customer_id: str,
    to_account_id: int,
    amount: Money,
    reason: str,
    now: datetime,
    *,
    verified_by_staff: bool = False,
) -> PensionMovement:
    """Take money out (领取): pension age checked here; other reasons only after staff checks
    the documents. 3% tax is withheld to the tax account."""
    row = pension_account(session, customer_id, lock=True)
    target = customer_account(session, customer_id, to_account_id)
    today = business_date(now)
    if reason not in WITHDRAWAL_REASONS:
        raise PensionWithdrawalRefused()
    if reason == "retirement":
        born = date.fromisoformat(identity.get_customer(session, customer_id).birth_date)
        if age_on(born, today) < PENSION_AGE:
            raise PensionWithdrawalRefused()
    elif not verified_by_staff:
        raise PensionWithdrawalRefused()
    tax = amount.minor * WITHDRAWAL_TAX_BP // 10_000
    tax_account = _tax_account(session)
    transfer_id = _pay(
        session, row.ledger_account_id, target.id, amount.minor - tax, "CNY", "个人养老金领取"
    )
    _pay(session, row.ledger_account_id, tax_account, tax, "CNY", "个人养老金领取代扣个税")
    assert transfer_id is not None
    movement = PensionMovement(
        customer_id=customer_id,
        kind="withdrawal",
        tax_year=today.year,
        amount_minor=amount.minor,
        tax_minor=tax,
        reason=reason,
        transfer_id=transfer_id,
        created_at=now,
    )
    session.add(movement)
    session.flush()
    events.emit(
        session,
        "wealth.pension.withdrawn",
        "customer",
        customer_id,
        {"customer_id": customer_id, "amount_minor": amount.minor, "tax_minor": tax},
    )
    return movement


def _tax_account(session: Session) -> int:
    """Tax withheld waits in the bank's suspense account until it is remitted (代扣待缴)."""
    return ledger.bank_account(session, AccountKind.BANK_SUSPENSE, "CNY").id


@dataclass(frozen=True)
class PensionSummary:
    account: PensionAccount
    balance_minor: int
    available_minor: int
    tax_year: int
    contributed_minor: int
    remaining_minor: int


def summary(session: Session, customer_id: str, now: datetime) -> PensionSummary:
    row = pension_account(session, customer_id)
    account = ledger.get_account(session, row.ledger_account_id)
    year = business_date(now).year
    used = contributed_in(session, customer_id, year)
    return PensionSummary(
        row,
        account.balance_minor,
        account.available_minor,
        year,
        used,
        max(0, ANNUAL_CAP_MINOR - used),
    )


@dataclass(frozen=True)
class TaxStatement:
    """The year's statement for the individual income tax deduction (个人养老金扣除凭证)."""

    customer_id: str
    tax_year: int
    contributed_minor: int
    deductible_minor: int
    withdrawn_minor: int
    tax_withheld_minor: int
    contributions: list[PensionMovement]
    statement_number: str


def tax_statement(session: Session, customer_id: str, tax_year: int) -> TaxStatement:
    pension_account(session, customer_id)
    movements = list(
        session.scalars(
            select(PensionMovement)
            .where(PensionMovement.customer_id == customer_id, PensionMovement.tax_year == tax_year)
            .order_by(PensionMovement.created_at, PensionMovement.id)
        ).all()
    )
    contributed = sum(m.amount_minor for m in movements if m.kind == "contribution")
    withdrawn = sum(m.amount_minor for m in movements if m.kind == "withdrawal")
    withheld = sum(m.tax_minor for m in movements if m.kind == "withdrawal")
    return TaxStatement(
        customer_id=customer_id,
        tax_year=tax_year,
        contributed_minor=contributed,
        deductible_minor=min(contributed, ANNUAL_CAP_MINOR),
        withdrawn_minor=withdrawn,
        tax_withheld_minor=withheld,
        contributions=[m for m in movements if m.kind == "contribution"],
        statement_number=f"YLJ{tax_year}{customer_id.replace('-', '')[:12].upper()}",
    )
