"""End-of-day account statements as ISO 20022 camt.053 (for enterprise clients and the console)."""

from __future__ import annotations

from datetime import date, timedelta

import uuid_utils
from sqlalchemy.orm import Session

from zhangyin.clock import business_day_bounds
from zhangyin.ledger import service as ledger
from zhangyin.payments import clearing


def camt053_for(session: Session, account_id: int, start: date, end: date) -> str:
    """The account's booked entries from `start` to `end` (Beijing days, inclusive)."""
    account = ledger.get_account(session, account_id)
    range_start, _ = business_day_bounds(start)
    _, range_end = business_day_bounds(end)
    opening = ledger.balance_history(
        session, account_id, start - timedelta(days=1), start - timedelta(days=1)
    )[0].balance_minor
    closing = ledger.balance_history(session, account_id, end, end)[0].balance_minor
    entries: list[clearing.StatementEntry] = []
    cursor: str | None = None
    while True:
        page = ledger.statement(session, account_id, cursor=cursor, limit=200)
        for line in page.lines:
            if range_start <= line.created_at < range_end:
                entries.append(
                    clearing.StatementEntry(
                        reference=line.transfer_id.replace("-", ""),
                        amount_minor=line.amount_minor,
                        booked_at=line.created_at,
                        memo=line.memo,
                    )
                )
        oldest = page.lines[-1].created_at if page.lines else None
        if page.next_cursor is None or (oldest is not None and oldest < range_start):
            break
        cursor = page.next_cursor
    entries.reverse()  # oldest first, as a statement reads
    message_id = uuid_utils.uuid7().hex
    return clearing.build_camt053(
        clearing.AccountStatement(
            message_id=message_id,
            statement_id=f"{account.number}-{start:%Y%m%d}-{end:%Y%m%d}"[:35],
            account_number=account.number,
            currency=account.currency,
            start=range_start,
            end=range_end,
            opening_minor=opening,
            closing_minor=closing,
            entries=entries,
        )
    )
