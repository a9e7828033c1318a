"""Receive codes (收款码): static for an account, dynamic with a fixed amount and expiry.

A code's payload is `ZYQR1.<base64url JSON>.<base64url HMAC-SHA256>` with a
key derived from the server's secret key, so a payer's app cannot change the
account, the amount or the expiry without the signature failing. Dynamic codes
are paid once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import segno
import uuid_utils
from sqlalchemy.orm import Session

from zhangyin.clock import utcnow
from zhangyin.ledger import service as ledger
from zhangyin.money import Money
from zhangyin.payments.errors import (
    QrAlreadyPaid,
    QrAmountRequired,
    QrExpired,
    QrInvalid,
    SameAccountTransfer,
)
from zhangyin.payments.models import QrCode, TransferKind, TransferStatus
from zhangyin.payments.service import (
    Caller,
    TransferRequest,
    TransferView,
    _create,
    _Destination,
    customer_account,
    derive_key,
)

PREFIX = "ZYQR1"


@dataclass(frozen=True)
class QrView:
    id: str
    payload: str
    svg_data_uri: str
    amount_minor: int | None
    currency: str
    expires_at: datetime | None


@dataclass(frozen=True)
class DecodedQr:
    id: str
    account_number: str
    payee_name: str
    amount_minor: int | None
    currency: str
    expires_at: datetime | None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    return _b64(hmac.new(derive_key(secret, "qr"), body.encode(), hashlib.sha256).digest())


def create_code(
    session: Session,
    caller: Caller,
    *,
    account_id: int,
    amount: Money | None,
    currency: str,
    expires_in: timedelta | None,
    secret: str,
) -> QrView:
    """A receive code for one of the caller's accounts (dynamic when it has an amount)."""
    account = customer_account(session, caller, account_id)
    now = utcnow()
    expires_at = now + expires_in if expires_in else None
    if amount is not None and expires_at is None:
        expires_at = now + timedelta(minutes=15)  # a dynamic code never lives forever
    code = QrCode(
        id=str(uuid_utils.uuid7()),
        customer_id=caller.customer_id,
        account_id=account.id,
        amount_minor=amount.minor if amount else None,
        currency=currency,
        expires_at=expires_at,
        created_at=now,
    )
    session.add(code)
    session.flush()
    claims: dict[str, Any] = {
        "v": 1,
        "id": code.id,
        "a": account.number,
        "n": account.name,
        "c": currency,
        "m": code.amount_minor,
        "e": int(expires_at.timestamp()) if expires_at else None,
    }
    body = _b64(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    payload = f"{PREFIX}.{body}.{_sign(secret, body)}"
    svg = segno.make(payload, error="m").svg_data_uri(scale=4)
    return QrView(code.id, payload, svg, code.amount_minor, currency, expires_at)


def decode(payload: str, secret: str) -> DecodedQr:
    """Check a payload's signature and read it; QrInvalid if anything was altered."""
    parts = payload.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise QrInvalid()
    body, signature = parts[1], parts[2]
    if not hmac.compare_digest(_sign(secret, body), signature):
        raise QrInvalid()
    try:
        claims = json.loads(_unb64(body))
        expires = claims["e"]
        return DecodedQr(
            id=str(claims["id"]),
            account_number=str(claims["a"]),
            payee_name=str(claims["n"]),
            amount_minor=int(claims["m"]) if claims["m"] is not None else None,
            currency=str(claims["c"]),
            expires_at=datetime.fromtimestamp(int(expires), UTC) if expires else None,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise QrInvalid() from exc


def pay_code(
    session: Session,
    caller: Caller,
    *,
    payload: str,
    from_account_id: int,
    amount: Money | None,
    memo: str,
    secret: str,
) -> TransferView:
    """Pay a scanned code: its amount when it has one, else the amount the payer typed."""
    decoded = decode(payload, secret)
    if decoded.expires_at is not None and decoded.expires_at <= utcnow():
        raise QrExpired()
    code = session.get(QrCode, decoded.id, with_for_update=True)
    if code is None:
        raise QrInvalid()
    if code.paid_transfer_id is not None:
        raise QrAlreadyPaid()
    if decoded.amount_minor is not None:
        pay = Money(decoded.amount_minor, decoded.currency)
    elif amount is None:
        raise QrAmountRequired()
    else:
        pay = amount
    target = ledger.get_account(session, code.account_id)
    source = customer_account(session, caller, from_account_id)
    if source.id == target.id:
        raise SameAccountTransfer()
    view = _create(
        session,
        caller,
        TransferRequest(
            from_account_id=source.id,
            to_account_number=target.number,
            to_name=target.name,
            amount=pay,
            memo=memo,
        ),
        _Destination(TransferKind.INTRA, target.id, None),
        kind=TransferKind.QR,
    )
    # Reserved while the money is on its way; service._release_reservation frees it
    # if this transfer ends unpaid.
    if code.amount_minor is not None and view.status not in (
        TransferStatus.REJECTED,
        TransferStatus.CANCELLED,
    ):
        code.paid_transfer_id = view.id
    return view
