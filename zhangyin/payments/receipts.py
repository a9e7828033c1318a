"""Electronic receipts (电子回单): a PDF per completed transfer, with a verification code.

The code is an HMAC of the transfer's id, amount, currency and completion
time under a key derived from the server's secret, so the console (or anyone
the customer shows the receipt to, through the bank) can check that a receipt
is genuine and unaltered without the bank storing the PDF.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime

from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

from zhangyin.clock import SHANGHAI
from zhangyin.ledger import service as ledger
from zhangyin.money import format_minor
from zhangyin.payments.errors import PaymentNotFound, ReceiptNotAvailable
from zhangyin.payments.models import PaymentTransfer, TransferStatus
from zhangyin.payments.service import (
    KNOWN_BANKS,
    Caller,
    derive_key,
    mask_account_number,
)

FONT = "STSong-Light"  # a CID font every PDF reader has: Chinese text without embedding a font
pdfmetrics.registerFont(UnicodeCIDFont(FONT))


@dataclass(frozen=True)
class ReceiptCheck:
    valid: bool
    transfer_id: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    completed_at: datetime | None = None


def verification_code(secret: str, payment: PaymentTransfer) -> str:
    """16 characters in 4 groups, e.g. `K3JD-98QW-...`, bound to what the receipt shows."""
    assert payment.completed_at is not None
    message = "|".join(
        (
            payment.id,
            str(payment.amount_minor),
            payment.currency,
            payment.to_account_number,
            payment.completed_at.isoformat(),
        )
    )
    digest = hmac.new(derive_key(secret, "receipt"), message.encode(), hashlib.sha256).digest()
    text = base64.b32encode(digest).decode()[:16]
    return "-".join(text[i : i + 4] for i in range(0, 16, 4))


def _completed(session: Session, transfer_id: str) -> PaymentTransfer:
    payment = session.get(PaymentTransfer, transfer_id)
    if payment is None:
        raise PaymentNotFound()
    return payment


def receipt_pdf(session: Session, caller: Caller, transfer_id: str, secret: str) -> bytes:
    payment = _completed(session, transfer_id)
    if payment.customer_id != caller.customer_id:
        raise PaymentNotFound()
    if payment.status != TransferStatus.COMPLETED or payment.completed_at is None:
        raise ReceiptNotAvailable()
    source = ledger.get_account(session, payment.from_account_id)
    code = verification_code(secret, payment)
    bank = KNOWN_BANKS.get(payment.to_bank_code or "", ("掌银", "Zhangyin Bank"))[0]
    rows = [
        ("交易流水号 Transaction", payment.id),
        ("付款人 Payer", f"{source.name}  {mask_account_number(source.number)}"),
        ("收款人 Payee", f"{payment.to_name}  {mask_account_number(payment.to_account_number)}"),
        ("收款银行 Payee bank", bank),
        (
            "金额 Amount",
            f"{payment.currency} {format_minor(payment.amount_minor, payment.currency)}",
        ),
        ("用途 Memo", payment.memo or "-"),
        (
            "完成时间 Completed",
            payment.completed_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S (北京时间)"),
        ),
        ("验证码 Verification code", code),
    ]
    buffer = io.BytesIO()
    page = landscape(A5)
    pdf = canvas.Canvas(buffer, pagesize=page)
    pdf.setTitle(f"电子回单 {payment.id}")
    pdf.setAuthor("Zhangyin")
    width, height = page
    pdf.setFont(FONT, 16)
    pdf.drawCentredString(width / 2, height - 18 * mm, "掌银 电子回单 / Electronic Receipt")
    pdf.setFont(FONT, 10)
    y = height - 32 * mm
    for label, value in rows:
        pdf.drawString(15 * mm, y, label)
        pdf.drawString(70 * mm, y, value)
        y -= 8 * mm
    pdf.setFont(FONT, 8)
    pdf.drawString(
        15 * mm,
        12 * mm,
        "可在掌银或任一网点凭验证码核验本回单真伪。Verify this receipt with its code.",
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def verify_receipt(session: Session, transfer_id: str, code: str, secret: str) -> ReceiptCheck:
    """Is `code` the verification code of this completed transfer? (console check)"""
    payment = session.get(PaymentTransfer, transfer_id)
    if payment is None or payment.status != TransferStatus.COMPLETED:
        return ReceiptCheck(False)
    expected = verification_code(secret, payment)
    if not hmac.compare_digest(expected, code.strip().upper()):
        return ReceiptCheck(False)
    return ReceiptCheck(
        True, payment.id, payment.amount_minor, payment.currency, payment.completed_at
    )
