"""REST under /v1/ledger for internal services and the console (service token required)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from zhangyin.clock import business_date, utcnow
from zhangyin.config import Settings
from zhangyin.errors import InvalidRequest
from zhangyin.http import DbDep, IdempotencyKey, LanguageDep, idempotent_json
from zhangyin.ledger import service
from zhangyin.ledger.schemas import (
    AccountOpen,
    AccountOut,
    AccountStatusChange,
    BalanceHistoryOut,
    BatchCreate,
    BatchItemOut,
    BatchOut,
    DailyBalanceOut,
    DifferenceOut,
    HoldPost,
    ReconciliationOut,
    Reversal,
    StatementLineOut,
    StatementOut,
    TransferCreate,
    TransferOut,
    TrialBalanceOut,
)
from zhangyin.money import Money, check_currency, parse_amount
from zhangyin.security import require_service

router = APIRouter(prefix="/v1/ledger", tags=["ledger"], dependencies=[Depends(require_service)])

TransferId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]+$")]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.post("/accounts", status_code=201, response_model=AccountOut, summary="Open an account")
def open_account(
    body: AccountOpen, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    currency = check_currency(body.currency)
    overdraft = parse_amount(body.overdraft_limit, currency).minor if body.overdraft_limit else 0
    prefix = _settings(request).account_number_prefix

    def work(session: Session) -> tuple[int, AccountOut]:
        view = service.open_account(
            session,
            kind=body.kind,
            currency=currency,
            name=body.name,
            owner_id=body.owner_id,
            overdraft_limit_minor=overdraft,
            number_prefix=prefix,
        )
        return 201, AccountOut.of(view)

    return idempotent_json(
        request, scope="ledger:accounts", key=idempotency_key, body=body, work=work
    )


@router.get(
    "/accounts/{account_id}", response_model=AccountOut, summary="An account and its balances"
)
def get_account(account_id: int, db: DbDep) -> AccountOut:
    return AccountOut.of(db.run(lambda s: service.get_account(s, account_id)))


@router.get(
    "/accounts", response_model=list[AccountOut], summary="Find accounts by number or owner"
)
def find_accounts(
    db: DbDep,
    number: Annotated[str | None, Query(pattern=r"^\d{19}$")] = None,
    owner_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> list[AccountOut]:
    if number is not None:
        return [AccountOut.of(db.run(lambda s: service.get_account_by_number(s, number)))]
    if owner_id is not None:
        return [AccountOut.of(a) for a in db.run(lambda s: service.list_accounts(s, owner_id))]
    raise InvalidRequest(
        errors=[{"field": "number", "reason": "missing", "message": "number or owner_id"}]
    )


@router.post(
    "/accounts/{account_id}/status",
    response_model=AccountOut,
    summary="Freeze (debits), fully freeze, unfreeze or close an account",
)
def change_status(
    account_id: int, body: AccountStatusChange, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, AccountOut]:
        return 200, AccountOut.of(service.set_account_status(session, account_id, body.status))

    return idempotent_json(
        request, scope=f"ledger:status:{account_id}", key=idempotency_key, body=body, work=work
    )


@router.post(
    "/transfers",
    status_code=201,
    response_model=TransferOut,
    summary="Post a transfer or create a hold",
)
def create_transfer(
    body: TransferCreate, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    order = service.TransferOrder(
        debit_account_id=body.debit_account_id,
        credit_account_id=body.credit_account_id,
        amount=parse_amount(body.amount, body.currency),
        memo=body.memo,
        reference=body.reference,
    )
    timeout = timedelta(
        seconds=body.hold_timeout_seconds or _settings(request).hold_timeout_seconds
    )

    def work(session: Session) -> tuple[int, TransferOut]:
        if body.pending:
            return 201, TransferOut.of(service.hold(session, order, timeout=timeout))
        return 201, TransferOut.of(service.transfer(session, order))

    return idempotent_json(
        request, scope="ledger:transfers", key=idempotency_key, body=body, work=work
    )


@router.post(
    "/transfers/batch",
    status_code=201,
    response_model=BatchOut,
    summary="Post up to 1000 transfers in one transaction, linked (all or none) or independent",
)
def create_batch(
    body: BatchCreate, request: Request, language: LanguageDep, idempotency_key: IdempotencyKey
) -> JSONResponse:
    orders = [
        service.TransferOrder(
            debit_account_id=t.debit_account_id,
            credit_account_id=t.credit_account_id,
            amount=parse_amount(t.amount, t.currency),
            memo=t.memo,
        )
        for t in body.transfers
    ]

    def work(session: Session) -> tuple[int, BatchOut]:
        results = service.transfer_batch(session, orders, linked=body.linked)
        items = [BatchItemOut.of(r, language) for r in results]
        posted = sum(1 for r in results if r.transfer)
        return 201, BatchOut(
            linked=body.linked, posted=posted, rejected=len(results) - posted, items=items
        )

    return idempotent_json(
        request, scope="ledger:batches", key=idempotency_key, body=body, work=work
    )


@router.get("/transfers/{transfer_id}", response_model=TransferOut, summary="A transfer")
def get_transfer(transfer_id: TransferId, db: DbDep) -> TransferOut:
    return TransferOut.of(db.run(lambda s: service.get_transfer(s, transfer_id)))


@router.post(
    "/transfers/{transfer_id}/post",
    response_model=TransferOut,
    summary="Post a hold, fully or partly",
)
def post_hold(
    transfer_id: TransferId, body: HoldPost, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, TransferOut]:
        held = service.get_transfer(session, transfer_id)
        amount = parse_amount(body.amount, held.currency).minor if body.amount else None
        return 200, TransferOut.of(service.post_hold(session, held.id, amount))

    return idempotent_json(
        request, scope=f"ledger:post:{transfer_id}", key=idempotency_key, body=body, work=work
    )


@router.post("/transfers/{transfer_id}/void", response_model=TransferOut, summary="Void a hold")
def void_hold(
    transfer_id: TransferId, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, TransferOut]:
        return 200, TransferOut.of(service.void_hold(session, transfer_id))

    return idempotent_json(
        request, scope=f"ledger:void:{transfer_id}", key=idempotency_key, body={}, work=work
    )


@router.post(
    "/transfers/{transfer_id}/reverse",
    status_code=201,
    response_model=TransferOut,
    summary="Reverse a posted transfer with a new transfer (冲正)",
)
def reverse_transfer(
    transfer_id: TransferId, body: Reversal, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, TransferOut]:
        return 201, TransferOut.of(service.reverse(session, transfer_id, body.memo))

    return idempotent_json(
        request, scope=f"ledger:reverse:{transfer_id}", key=idempotency_key, body=body, work=work
    )


@router.get(
    "/accounts/{account_id}/statement",
    response_model=StatementOut,
    summary="Account statement, newest first, with running balance",
)
def account_statement(
    account_id: int,
    db: DbDep,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> StatementOut:
    page = db.run(lambda s: service.statement(s, account_id, cursor=cursor, limit=limit))
    return StatementOut(
        account=AccountOut.of(page.account),
        lines=[StatementLineOut.of(line, page.account.currency) for line in page.lines],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/accounts/{account_id}/balance-history",
    response_model=BalanceHistoryOut,
    summary="Closing balance per Beijing-time day",
)
def account_balance_history(
    account_id: int,
    db: DbDep,
    start: date | None = None,
    end: date | None = None,
) -> BalanceHistoryOut:
    end = end or business_date(utcnow())
    start = start or end - timedelta(days=29)
    if start > end or (end - start).days > 366:
        raise InvalidRequest(
            errors=[
                {"field": "start", "reason": "range", "message": "start <= end, at most 366 days"}
            ]
        )

    def work(session: Session) -> BalanceHistoryOut:
        account = service.get_account(session, account_id)
        days = service.balance_history(session, account_id, start, end)
        return BalanceHistoryOut(
            account_id=account_id,
            currency=account.currency,
            days=[
                DailyBalanceOut(
                    date=d.day, balance=Money(d.balance_minor, account.currency).to_decimal_string()
                )
                for d in days
            ],
        )

    return db.run(work)


@router.get(
    "/trial-balance", response_model=TrialBalanceOut, summary="Daily trial balance (试算平衡)"
)
def get_trial_balance(db: DbDep, as_of: date | None = None) -> TrialBalanceOut:
    day = as_of or business_date(utcnow())
    return TrialBalanceOut.of(db.run(lambda s: service.trial_balance(s, day)))


@router.get(
    "/reconciliation", response_model=ReconciliationOut, summary="Recompute balances from postings"
)
def get_reconciliation(db: DbDep) -> ReconciliationOut:
    differences = db.run(service.reconcile)
    return ReconciliationOut(
        balanced=not differences,
        differences=[DifferenceOut(**d.__dict__) for d in differences],
    )
