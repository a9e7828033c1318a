"""The customer payments API: accounts, transfers, payees, bills, QR, cardless cash.

Every route is the signed-in customer's (`CurrentCustomer`); every service call
is scoped to that customer, so another customer's account or transfer is a 404.
Money-moving POSTs run once per Idempotency-Key, scoped by customer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.errors import InvalidRequest
from zhangyin.events import Event, InProcessPublisher
from zhangyin.http import DbDep, IdempotencyKey, idempotent_json
from zhangyin.identity.auth import PUBLIC, CurrentCustomer
from zhangyin.money import format_minor, parse_amount
from zhangyin.payments import (
    billers,
    cardless,
    interbank,
    qr,
    receipts,
    scheduled,
    service,
    statements,
)
from zhangyin.payments.clearing import ClearingUnreachable, default_gateway
from zhangyin.payments.errors import ClearingUnavailable, DepositsDisabled
from zhangyin.payments.schemas import (
    AccountTransactionOut,
    AccountTransactionsOut,
    AtmRedeem,
    AtmRedeemOut,
    BankOut,
    BillCreate,
    BillerCreate,
    BillerOut,
    BillOut,
    BillPaymentCreate,
    BillPaymentListOut,
    BillPaymentOut,
    BillsOut,
    CardlessCreate,
    CardlessOut,
    ClearingReconciliationOut,
    CustomerAccountOut,
    DevDeposit,
    DevDepositOut,
    FraudReportCreate,
    FraudReportOut,
    LimitsOut,
    PayeeCreate,
    PayeeOut,
    PayeesOut,
    QrCreate,
    QrDecode,
    QrDecodedOut,
    QrOut,
    QrPay,
    ReceiptVerifyOut,
    RecentPayeeOut,
    SavedBillAccountCreate,
    SavedBillAccountOut,
    ScheduledCreate,
    ScheduledOut,
    TransferConfirm,
    TransferCreate,
    TransferListOut,
    TransferOut,
    TransferSettingsUpdate,
)
from zhangyin.security import require_service

router = APIRouter(prefix="/v1", tags=["payments"])

AccountId = Annotated[int, Path(ge=1, le=2**62)]
TransferId = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
UuidPath = Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")]
Cursor = Annotated[str | None, Query(max_length=40, pattern=r"^[0-9a-f-]+$")]


async def caller_of(customer: CurrentCustomer, request: Request) -> service.Caller:
    """Async on purpose: no I/O here, so it runs on the event loop, not a threadpool hop."""
    return service.Caller(
        customer_id=customer.customer_id,
        session_id=customer.session_id,
        device_id=customer.device_id,
        ip=request.client.host if request.client else None,
    )


Caller = Annotated[service.Caller, Depends(caller_of)]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def scope(caller: service.Caller, what: str) -> str:
    """Idempotency scope: one customer's keys never collide with another's."""
    return f"payments:{what}:{caller.customer_id}"


# ------------------------------------------------------------------ accounts


@router.get("/accounts", response_model=list[CustomerAccountOut], summary="My accounts")
def list_accounts(caller: Caller, db: DbDep) -> list[CustomerAccountOut]:
    """Balances and available balances (after holds) as decimal strings."""
    return [
        CustomerAccountOut.of(a) for a in db.run(lambda s: service.customer_accounts(s, caller))
    ]


@router.get("/accounts/{account_id}", response_model=CustomerAccountOut, summary="One account")
def get_account(account_id: AccountId, caller: Caller, db: DbDep) -> CustomerAccountOut:
    return CustomerAccountOut.of(db.run(lambda s: service.customer_account(s, caller, account_id)))


@router.get(
    "/accounts/{account_id}/transactions",
    response_model=AccountTransactionsOut,
    summary="An account's transactions, newest first",
)
def account_transactions(
    account_id: AccountId,
    caller: Caller,
    db: DbDep,
    cursor: Annotated[str | None, Query(max_length=19, pattern=r"^\d+$")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> AccountTransactionsOut:
    page = db.run(lambda s: service.account_transactions(s, caller, account_id, cursor, limit))
    currency = page.account.currency
    return AccountTransactionsOut(
        account_id=account_id,
        transactions=[AccountTransactionOut.of(line, currency) for line in page.lines],
        next_cursor=page.next_cursor,
    )


# ------------------------------------------------------------------ transfers


@router.post(
    "/transfers",
    status_code=201,
    response_model=TransferOut,
    summary="Transfer to a Zhangyin account or another bank",
)
def create_transfer(
    body: TransferCreate, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    """Status `completed`, `delayed`, `processing` (interbank), `held_for_review`,
    `rejected`, or `pending_challenge` with a `challenge_id` to confirm with."""
    transfer_request = service.TransferRequest(
        from_account_id=body.from_account_id,
        to_account_number=body.to_account_number,
        to_name=body.to_name,
        amount=parse_amount(body.amount, body.currency),
        memo=body.memo,
        arrival=body.arrival,
        to_bank_code=body.to_bank_code,
    )

    def work(session: Session) -> tuple[int, TransferOut]:
        return 201, TransferOut.of(service.create_transfer(session, caller, transfer_request))

    return idempotent_json(
        request, scope=scope(caller, "transfers"), key=idempotency_key, body=body, work=work
    )


@router.get("/transfers", response_model=TransferListOut, summary="My transfers, newest first")
def list_transfers(
    caller: Caller,
    db: DbDep,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> TransferListOut:
    views, next_cursor = db.run(
        lambda s: service.list_transfers(s, caller, cursor=cursor, limit=limit)
    )
    return TransferListOut(transfers=[TransferOut.of(v) for v in views], next_cursor=next_cursor)


@router.get(
    "/transfers/{transfer_id}", response_model=TransferOut, summary="A transfer and its timeline"
)
def get_transfer(transfer_id: TransferId, caller: Caller, db: DbDep) -> TransferOut:
    return TransferOut.of(db.run(lambda s: service.get_transfer(s, caller, transfer_id)))


@router.post(
    "/transfers/{transfer_id}/confirm",
    response_model=TransferOut,
    summary="Confirm a transfer with the second factor it asked for",
)
def confirm_transfer(
    transfer_id: TransferId,
    body: TransferConfirm,
    request: Request,
    caller: Caller,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    def work(session: Session) -> tuple[int, TransferOut]:
        view = service.confirm_transfer(
            session,
            caller,
            transfer_id,
            challenge_id=body.challenge_id,
            sms_code=body.sms_code,
            passkey_assertion=body.passkey_assertion,
        )
        return 200, TransferOut.of(view)

    return idempotent_json(
        request,
        scope=scope(caller, f"confirm:{transfer_id}"),
        key=idempotency_key,
        body=body,
        work=work,
    )


@router.post(
    "/transfers/{transfer_id}/cancel",
    response_model=TransferOut,
    summary="Cancel a delayed (or unconfirmed) transfer before it arrives",
)
def cancel_transfer(
    transfer_id: TransferId, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, TransferOut]:
        return 200, TransferOut.of(service.cancel_transfer(session, caller, transfer_id))

    return idempotent_json(
        request,
        scope=scope(caller, f"cancel:{transfer_id}"),
        key=idempotency_key,
        body={},
        work=work,
    )


@router.post(
    "/transfers/{transfer_id}/report-fraud",
    response_model=FraudReportOut,
    summary="Report a completed transfer as fraud (举报诈骗)",
)
def report_fraud(
    transfer_id: TransferId,
    body: FraudReportCreate,
    request: Request,
    caller: Caller,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    """Opens a case for the bank's fraud analysts; reporting again returns the same report.
    Only a completed transfer to someone else can be reported (409 otherwise)."""

    def work(session: Session) -> tuple[int, FraudReportOut]:
        report = service.report_fraud(session, caller, transfer_id, body.description)
        return 200, FraudReportOut.of(report)

    return idempotent_json(
        request,
        scope=scope(caller, f"report-fraud:{transfer_id}"),
        key=idempotency_key,
        body=body,
        work=work,
    )


@router.get(
    "/transfer-limits", response_model=LimitsOut, summary="My limits and what is left today"
)
def get_limits(caller: Caller, db: DbDep) -> LimitsOut:
    return LimitsOut.of(db.run(lambda s: service.limits_view(s, caller)))


@router.put(
    "/transfer-settings",
    response_model=LimitsOut,
    summary="Set my default arrival (instant, 2-hour or 24-hour delay)",
)
def update_settings(body: TransferSettingsUpdate, caller: Caller, db: DbDep) -> LimitsOut:
    return LimitsOut.of(
        db.run(lambda s: service.set_default_arrival(s, caller, body.default_arrival))
    )


@router.get(
    "/banks",
    response_model=list[BankOut],
    summary="Banks a transfer can go to (public reference data)",
    openapi_extra=PUBLIC,
)
def list_banks() -> list[BankOut]:
    banks = [BankOut(code=service.OUR_BANK_CODE, name="掌银", name_en="Zhangyin Bank")]
    banks += [BankOut(code=c, name=n, name_en=e) for c, (n, e) in service.KNOWN_BANKS.items()]
    return banks


# -------------------------------------------------------------------- payees


@router.get("/payees", response_model=PayeesOut, summary="Saved and recent payees")
def list_payees(caller: Caller, db: DbDep) -> PayeesOut:
    saved, recent = db.run(lambda s: service.list_payees(s, caller))
    return PayeesOut(
        saved=[PayeeOut.of(p) for p in saved], recent=[RecentPayeeOut.of(r) for r in recent]
    )


@router.post(
    "/payees",
    status_code=201,
    response_model=PayeeOut,
    summary="Save a payee (its name is checked against the account)",
)
def add_payee(
    body: PayeeCreate, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, PayeeOut]:
        view = service.add_payee(
            session,
            caller,
            account_number=body.account_number,
            name=body.name,
            bank_code=body.bank_code,
            nickname=body.nickname,
        )
        return 201, PayeeOut.of(view)

    return idempotent_json(
        request, scope=scope(caller, "payees"), key=idempotency_key, body=body, work=work
    )


@router.delete("/payees/{payee_id}", status_code=204, summary="Forget a saved payee")
def delete_payee(
    payee_id: Annotated[str, Path(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")],
    caller: Caller,
    db: DbDep,
) -> Response:
    db.run(lambda s: service.delete_payee(s, caller, payee_id))
    return Response(status_code=204)


# --------------------------------------------------------------- dev deposits


@router.post(
    "/dev/deposits",
    status_code=201,
    response_model=DevDepositOut,
    summary="Demo mode: a cash deposit at a simulated branch counter",
)
def dev_deposit(
    body: DevDeposit,
    request: Request,
    caller: Caller,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    """Only when the server runs in demo mode (`ZHANGYIN_DEMO=1`); otherwise 404."""
    if not settings_of(request).demo:
        raise DepositsDisabled()
    amount = parse_amount(body.amount, body.currency)

    def work(session: Session) -> tuple[int, DevDepositOut]:
        # Anyone may pay cash into any account at a counter; the answer shows no balance.
        account = service.dev_deposit(session, body.account_number, amount)
        return 201, DevDepositOut(
            account_number=service.mask_account_number(account.number),
            amount=body.amount,
            currency=amount.currency,
        )

    return idempotent_json(
        request, scope=scope(caller, "deposits"), key=idempotency_key, body=body, work=work
    )


# ------------------------------------------------------------------- billers


def _biller_out(b: billers.BillerView) -> BillerOut:
    return BillerOut(
        id=b.id,
        category=b.category,
        name=b.name,
        name_en=b.name_en,
        account_label=b.account_label,
        account_pattern=b.account_pattern,
        fixed_amounts=[format_minor(a, "CNY") for a in b.fixed_amounts_minor],
    )


def _bill_payment_out(p: billers.BillPaymentView) -> BillPaymentOut:
    return BillPaymentOut(
        id=p.id,
        biller_id=p.biller_id,
        bill_account=p.bill_account,
        amount=format_minor(p.amount_minor, p.currency),
        currency=p.currency,
        transfer=TransferOut.of(p.transfer),
        created_at=p.created_at,
    )


def _saved_out(v: billers.SavedBillAccountView) -> SavedBillAccountOut:
    cap = v.autopay_monthly_cap_minor
    return SavedBillAccountOut(
        id=v.id,
        biller_id=v.biller_id,
        bill_account=v.bill_account,
        nickname=v.nickname,
        autopay_from_account_id=v.autopay_from_account_id,
        autopay_monthly_cap=format_minor(cap, "CNY") if cap is not None else None,
    )


BillerId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[a-z0-9_-]+$")]


@router.get(
    "/billers",
    response_model=list[BillerOut],
    summary="Billers: utilities, phone, campus, hospital",
)
def list_billers(
    caller: Caller,
    db: DbDep,
    category: Annotated[str | None, Query(pattern=r"^[a-z_]{2,20}$")] = None,
) -> list[BillerOut]:
    return [_biller_out(b) for b in db.run(lambda s: billers.list_billers(s, category))]


@router.get(
    "/billers/{biller_id}/bills", response_model=BillsOut, summary="What is owed on a bill account"
)
def lookup_bills(
    biller_id: BillerId,
    caller: Caller,
    db: DbDep,
    account: Annotated[str, Query(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")],
) -> BillsOut:
    found = db.run(lambda s: billers.lookup_bills(s, biller_id, account))
    return BillsOut(
        biller_id=biller_id,
        bill_account=account,
        bills=[
            BillOut(
                biller_id=b.biller_id,
                bill_account=b.bill_account,
                holder_name=b.holder_name,
                period=b.period,
                amount=format_minor(b.amount_minor, b.currency),
                currency=b.currency,
            )
            for b in found
        ],
    )


@router.post(
    "/bill-payments",
    status_code=201,
    response_model=BillPaymentOut,
    summary="Pay a bill (the oldest open one) or top up a fixed amount",
)
def pay_bill(
    body: BillPaymentCreate, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    amount = parse_amount(body.amount, body.currency) if body.amount else None

    def work(session: Session) -> tuple[int, BillPaymentOut]:
        view = billers.pay_bill(
            session,
            caller,
            biller_id=body.biller_id,
            bill_account=body.bill_account,
            from_account_id=body.from_account_id,
            amount=amount,
            save_account=body.save_account,
        )
        return 201, _bill_payment_out(view)

    return idempotent_json(
        request, scope=scope(caller, "bill-payments"), key=idempotency_key, body=body, work=work
    )


@router.get(
    "/bill-payments", response_model=BillPaymentListOut, summary="My bill payments (per biller)"
)
def list_bill_payments(
    caller: Caller, db: DbDep, biller_id: Annotated[str | None, Query(max_length=40)] = None
) -> BillPaymentListOut:
    views = db.run(lambda s: billers.bill_payments(s, caller, biller_id))
    return BillPaymentListOut(payments=[_bill_payment_out(v) for v in views])


@router.get(
    "/bill-accounts", response_model=list[SavedBillAccountOut], summary="My saved bill accounts"
)
def list_bill_accounts(caller: Caller, db: DbDep) -> list[SavedBillAccountOut]:
    return [_saved_out(v) for v in db.run(lambda s: billers.saved_bill_accounts(s, caller))]


@router.post(
    "/bill-accounts",
    status_code=201,
    response_model=SavedBillAccountOut,
    summary="Save a bill account, optionally with an auto-pay mandate and a monthly cap",
)
def save_bill_account(
    body: SavedBillAccountCreate, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    cap = parse_amount(body.autopay_monthly_cap, "CNY").minor if body.autopay_monthly_cap else None
    if (cap is None) != (body.autopay_from_account_id is None):
        raise InvalidRequest(
            errors=[
                {
                    "field": "autopay_monthly_cap",
                    "reason": "missing",
                    "message": "auto-pay needs both a source account and a monthly cap",
                }
            ]
        )

    def work(session: Session) -> tuple[int, SavedBillAccountOut]:
        view = billers.save_bill_account(
            session,
            caller,
            biller_id=body.biller_id,
            bill_account=body.bill_account,
            nickname=body.nickname,
            autopay_from_account_id=body.autopay_from_account_id,
            autopay_monthly_cap_minor=cap,
        )
        return 201, _saved_out(view)

    return idempotent_json(
        request, scope=scope(caller, "bill-accounts"), key=idempotency_key, body=body, work=work
    )


@router.delete("/bill-accounts/{saved_id}", status_code=204, summary="Forget a saved bill account")
def delete_bill_account(saved_id: UuidPath, caller: Caller, db: DbDep) -> Response:
    db.run(lambda s: billers.delete_saved_bill_account(s, caller, saved_id))
    return Response(status_code=204)


# ------------------------------------------------------------------------ QR


@router.post("/qr-codes", status_code=201, response_model=QrOut, summary="A code to receive money")
def create_qr(
    body: QrCreate, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    """Static (no amount) or dynamic (fixed amount, expires, paid once); signed."""
    amount = parse_amount(body.amount, body.currency) if body.amount else None
    secret = settings_of(request).resolved_secret_key()
    expires = timedelta(seconds=body.expires_in_seconds) if body.expires_in_seconds else None

    def work(session: Session) -> tuple[int, QrOut]:
        view = qr.create_code(
            session,
            caller,
            account_id=body.account_id,
            amount=amount,
            currency=body.currency,
            expires_in=expires,
            secret=secret,
        )
        return 201, QrOut(
            id=view.id,
            payload=view.payload,
            svg_data_uri=view.svg_data_uri,
            amount=format_minor(view.amount_minor, view.currency) if view.amount_minor else None,
            currency=view.currency,
            expires_at=view.expires_at,
        )

    return idempotent_json(
        request, scope=scope(caller, "qr-codes"), key=idempotency_key, body=body, work=work
    )


@router.post("/qr-codes/decode", response_model=QrDecodedOut, summary="Read a scanned code")
def decode_qr(body: QrDecode, request: Request, caller: Caller) -> QrDecodedOut:
    decoded = qr.decode(body.payload, settings_of(request).resolved_secret_key())
    return QrDecodedOut(
        payee_name=decoded.payee_name,
        masked_account_number=service.mask_account_number(decoded.account_number),
        amount=format_minor(decoded.amount_minor, decoded.currency)
        if decoded.amount_minor is not None
        else None,
        currency=decoded.currency,
        expires_at=decoded.expires_at,
    )


@router.post(
    "/qr-payments", status_code=201, response_model=TransferOut, summary="Pay a scanned code"
)
def pay_qr(
    body: QrPay, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    amount = parse_amount(body.amount, "CNY") if body.amount else None
    secret = settings_of(request).resolved_secret_key()

    def work(session: Session) -> tuple[int, TransferOut]:
        view = qr.pay_code(
            session,
            caller,
            payload=body.payload,
            from_account_id=body.from_account_id,
            amount=amount,
            memo=body.memo,
            secret=secret,
        )
        return 201, TransferOut.of(view)

    return idempotent_json(
        request, scope=scope(caller, "qr-payments"), key=idempotency_key, body=body, work=work
    )


# ------------------------------------------------------------------ cardless


def _cardless_out(v: cardless.CardlessView) -> CardlessOut:
    return CardlessOut(
        id=v.id,
        account_id=v.account_id,
        amount=format_minor(v.amount_minor, v.currency),
        currency=v.currency,
        status=v.status,
        expires_at=v.expires_at,
        created_at=v.created_at,
        code=v.code,
    )


@router.post(
    "/cardless-withdrawals",
    status_code=201,
    response_model=CardlessOut,
    summary="A one-time cardless cash code (the money is held)",
)
def create_cardless(
    body: CardlessCreate, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    amount = parse_amount(body.amount, body.currency)
    secret = settings_of(request).resolved_secret_key()

    def work(session: Session) -> tuple[int, CardlessOut]:
        view = cardless.create_withdrawal(
            session,
            caller,
            account_id=body.account_id,
            amount=amount,
            expires_in=timedelta(minutes=body.expires_in_minutes),
            secret=secret,
        )
        return 201, _cardless_out(view)

    return idempotent_json(
        request, scope=scope(caller, "cardless"), key=idempotency_key, body=body, work=work
    )


@router.get("/cardless-withdrawals", response_model=list[CardlessOut], summary="My cardless codes")
def list_cardless(caller: Caller, db: DbDep) -> list[CardlessOut]:
    return [_cardless_out(v) for v in db.run(lambda s: cardless.list_withdrawals(s, caller))]


@router.post(
    "/cardless-withdrawals/{withdrawal_id}/cancel",
    response_model=CardlessOut,
    summary="Cancel an unused code (the money is released)",
)
def cancel_cardless(
    withdrawal_id: UuidPath, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, CardlessOut]:
        return 200, _cardless_out(cardless.cancel_withdrawal(session, caller, withdrawal_id))

    return idempotent_json(
        request,
        scope=scope(caller, f"cardless-cancel:{withdrawal_id}"),
        key=idempotency_key,
        body={},
        work=work,
    )


atm_router = APIRouter(
    prefix="/v1/atm", tags=["payments: ATM simulator"], dependencies=[Depends(require_service)]
)


@atm_router.post(
    "/cardless-redemptions",
    response_model=AtmRedeemOut,
    summary="ATM simulator: pay out a cardless code once",
)
def atm_redeem(body: AtmRedeem, request: Request, idempotency_key: IdempotencyKey) -> JSONResponse:
    amount = parse_amount(body.amount, "CNY")
    secret = settings_of(request).resolved_secret_key()

    def work(session: Session) -> tuple[int, AtmRedeemOut]:
        view = cardless.redeem(session, code=body.code, amount=amount, secret=secret)
        return 200, AtmRedeemOut(
            withdrawal_id=view.id,
            amount=format_minor(view.amount_minor, view.currency),
            currency=view.currency,
            status=view.status,
        )

    return idempotent_json(
        request, scope=f"atm:{body.atm_id}", key=idempotency_key, body=body, work=work
    )


# ---------------------------------------------------------------- scheduled


def _scheduled_out(v: scheduled.ScheduledView) -> ScheduledOut:
    return ScheduledOut(
        id=v.id,
        from_account_id=v.from_account_id,
        to_account_number=service.mask_account_number(v.to_account_number),
        to_name=v.to_name,
        amount=format_minor(v.amount_minor, v.currency),
        currency=v.currency,
        memo=v.memo,
        frequency=v.frequency,
        start_date=v.start_date,
        end_date=v.end_date,
        next_run_date=v.next_run_date,
        runs=v.runs,
        active=v.active,
    )


@router.post(
    "/scheduled-transfers",
    status_code=201,
    response_model=ScheduledOut,
    summary="A future-dated or recurring transfer (daily, weekly, monthly)",
)
def create_scheduled(
    body: ScheduledCreate, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    amount = parse_amount(body.amount, body.currency)

    def work(session: Session) -> tuple[int, ScheduledOut]:
        view = scheduled.create_scheduled(
            session,
            caller,
            from_account_id=body.from_account_id,
            to_account_number=body.to_account_number,
            to_name=body.to_name,
            to_bank_code=body.to_bank_code,
            amount=amount,
            memo=body.memo,
            frequency=body.frequency,
            start_date=body.start_date,
            end_date=body.end_date,
        )
        return 201, _scheduled_out(view)

    return idempotent_json(
        request, scope=scope(caller, "scheduled"), key=idempotency_key, body=body, work=work
    )


@router.get(
    "/scheduled-transfers", response_model=list[ScheduledOut], summary="My scheduled transfers"
)
def list_scheduled(caller: Caller, db: DbDep) -> list[ScheduledOut]:
    return [_scheduled_out(v) for v in db.run(lambda s: scheduled.list_scheduled(s, caller))]


@router.post(
    "/scheduled-transfers/{scheduled_id}/cancel",
    response_model=ScheduledOut,
    summary="Stop a scheduled transfer",
)
def cancel_scheduled(
    scheduled_id: UuidPath, request: Request, caller: Caller, idempotency_key: IdempotencyKey
) -> JSONResponse:
    def work(session: Session) -> tuple[int, ScheduledOut]:
        return 200, _scheduled_out(scheduled.cancel_scheduled(session, caller, scheduled_id))

    return idempotent_json(
        request,
        scope=scope(caller, f"scheduled-cancel:{scheduled_id}"),
        key=idempotency_key,
        body={},
        work=work,
    )


# ------------------------------------------------------------------ receipts


@router.get(
    "/transfers/{transfer_id}/receipt",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="The electronic receipt (PDF) of a completed transfer",
)
def transfer_receipt(
    transfer_id: TransferId, request: Request, caller: Caller, db: DbDep
) -> Response:
    secret = settings_of(request).resolved_secret_key()
    pdf = db.run(lambda s: receipts.receipt_pdf(s, caller, transfer_id, secret))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="receipt-{transfer_id}.pdf"'},
    )


# ---------------------------------------------------- internal (service token)


internal_router = APIRouter(
    prefix="/v1/payments",
    tags=["payments: internal"],
    dependencies=[Depends(require_service)],
)


@internal_router.get(
    "/receipts/verify", response_model=ReceiptVerifyOut, summary="Check a receipt's code"
)
def verify_receipt(
    request: Request,
    db: DbDep,
    transfer_id: Annotated[str, Query(min_length=36, max_length=36, pattern=r"^[0-9a-f-]{36}$")],
    code: Annotated[str, Query(min_length=16, max_length=24, pattern=r"^[A-Za-z0-9-]+$")],
) -> ReceiptVerifyOut:
    secret = settings_of(request).resolved_secret_key()
    check = db.run(lambda s: receipts.verify_receipt(s, transfer_id, code, secret))
    return ReceiptVerifyOut(
        valid=check.valid,
        transfer_id=check.transfer_id,
        amount=format_minor(check.amount_minor, check.currency)
        if check.amount_minor is not None and check.currency
        else None,
        currency=check.currency,
        completed_at=check.completed_at,
    )


@internal_router.post(
    "/billers", status_code=201, response_model=BillerOut, summary="Add a biller (console)"
)
def add_biller(
    body: BillerCreate, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    try:
        re.compile(body.account_pattern)
    except re.error:
        raise InvalidRequest(
            errors=[{"field": "account_pattern", "reason": "regex", "message": "not a pattern"}]
        ) from None
    fixed = [parse_amount(a, "CNY").minor for a in body.fixed_amounts]

    def work(session: Session) -> tuple[int, BillerOut]:
        view = billers.add_biller(
            session,
            biller_id=body.id,
            category=body.category,
            name=body.name,
            name_en=body.name_en,
            account_label=body.account_label,
            account_pattern=body.account_pattern,
            fixed_amounts_minor=fixed,
        )
        return 201, _biller_out(view)

    return idempotent_json(
        request, scope="payments:billers", key=idempotency_key, body=body, work=work
    )


@internal_router.post(
    "/billers/{biller_id}/bills",
    status_code=201,
    response_model=BillOut,
    summary="A biller reports an amount owed",
)
def add_bill(
    biller_id: BillerId, body: BillCreate, request: Request, idempotency_key: IdempotencyKey
) -> JSONResponse:
    amount = parse_amount(body.amount, "CNY")

    def work(session: Session) -> tuple[int, BillOut]:
        b = billers.add_bill(
            session,
            biller_id,
            bill_account=body.bill_account,
            holder_name=body.holder_name,
            period=body.period,
            amount_minor=amount.minor,
        )
        return 201, BillOut(
            biller_id=b.biller_id,
            bill_account=b.bill_account,
            holder_name=b.holder_name,
            period=b.period,
            amount=format_minor(b.amount_minor, b.currency),
            currency=b.currency,
        )

    return idempotent_json(
        request, scope=f"payments:bills:{biller_id}", key=idempotency_key, body=body, work=work
    )


@internal_router.get(
    "/accounts/{account_id}/camt053",
    response_class=Response,
    responses={200: {"content": {"application/xml": {}}}},
    summary="An account statement as ISO 20022 camt.053 for a date range",
)
def camt053_statement(
    account_id: AccountId,
    db: DbDep,
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> Response:
    if end < start or (end - start).days > 366:
        raise InvalidRequest(
            errors=[{"field": "to", "reason": "range", "message": "1 to 366 days, from <= to"}]
        )
    xml = db.run(lambda s: statements.camt053_for(s, account_id, start, end))
    return Response(xml, media_type="application/xml")


@internal_router.get(
    "/clearing/reconciliation",
    response_model=ClearingReconciliationOut,
    summary="The clearing account against the clearing house's report for a day",
)
def clearing_reconciliation(
    db: DbDep, day: Annotated[date, Query(alias="date")]
) -> ClearingReconciliationOut:
    gateway = default_gateway(service.OUR_BANK_CODE)
    try:
        result = db.run(lambda s: interbank.reconcile_clearing(s, gateway, day))
    except ClearingUnreachable:
        raise ClearingUnavailable() from None
    return ClearingReconciliationOut(
        date=result.day,
        ours_net=format_minor(result.ours_net_minor, "CNY"),
        theirs_net=format_minor(result.theirs_net_minor, "CNY"),
        matched=result.matched,
        pending_outgoing=result.pending_outgoing,
    )


# -------------------------------------------------------------- installation


def _on_risk_case(db: Database, approve: bool) -> Callable[[Event], None]:
    def handle(event: Event) -> None:
        reference = str(event.payload.get("reference") or "")

        def work(session: Session) -> None:
            transfer_id = service.find_by_reference(session, reference)
            if transfer_id is None:
                return  # another domain's case
            if approve:
                service.approve_held(session, transfer_id)
            else:
                service.reject_held(session, transfer_id)

        db.run(work)

    return handle


def install(app: FastAPI) -> None:
    """Mount the payments routes and subscribe to the risk reviewers' decisions."""
    app.include_router(router)
    app.include_router(atm_router)
    app.include_router(internal_router)
    db: Database = app.state.db
    publisher = app.state.publisher
    if isinstance(publisher, InProcessPublisher):
        publisher.subscribe("risk.case.approved", _on_risk_case(db, approve=True))
        publisher.subscribe("risk.case.rejected", _on_risk_case(db, approve=False))
