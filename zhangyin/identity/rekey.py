"""Re-keying personal data: every value under the current data key, every ID-number blind
index under the current secret key (`python -m zhangyin identity rekey`).

Customers, then staff, in primary-key order, one transaction per batch: an interrupted run
keeps what it committed, and a second run finds nothing left to do. A value that no
configured key opens, or an ID number that another customer already holds under the new
index, is left as it is and reported, never guessed at.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhangyin import pii
from zhangyin.db import Database
from zhangyin.identity.models import Customer, Staff
from zhangyin.identity.service import ID_CONTEXT, TOTP_CONTEXT
from zhangyin.identity.staff import STAFF_TOTP_CONTEXT


@dataclass
class RekeyCounts:
    """What a `rekey` run did; `unreadable` and `conflicts` name rows left as they were."""

    customers: int = 0
    staff: int = 0
    id_numbers: int = 0
    id_indexes: int = 0
    totp_secrets: int = 0
    unreadable: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def add(self, batch: RekeyCounts) -> None:
        self.customers += batch.customers
        self.staff += batch.staff
        self.id_numbers += batch.id_numbers
        self.id_indexes += batch.id_indexes
        self.totp_secrets += batch.totp_secrets
        self.unreadable += batch.unreadable
        self.conflicts += batch.conflicts


#: One batch's counts and the id to continue after (None: that was the last batch).
Batch = tuple[RekeyCounts, str | None]


def run_rekey(db: Database, ring: pii.Keyring, batch_size: int) -> RekeyCounts:
    """Every customer, then every staff member, in batches of one transaction each."""
    total = RekeyCounts()
    for batch in (_customer_batch, _staff_batch):
        after: str | None = ""
        while after is not None:
            counts, after = db.run(batch(ring, after, batch_size))
            total.add(counts)
    return total


def _customer_batch(ring: pii.Keyring, after: str, limit: int) -> Callable[[Session], Batch]:
    def work(session: Session) -> Batch:
        counts = RekeyCounts()  # made per attempt: Database.run may retry the unit
        rows = session.scalars(
            select(Customer)
            .where(Customer.id > after)
            .order_by(Customer.id)
            .limit(limit)
            .with_for_update()
        ).all()
        for row in rows:
            _rekey_customer(session, ring, row, counts)
        counts.customers = len(rows)
        return counts, (rows[-1].id if len(rows) == limit else None)

    return work


def _staff_batch(ring: pii.Keyring, after: str, limit: int) -> Callable[[Session], Batch]:
    def work(session: Session) -> Batch:
        counts = RekeyCounts()
        rows = session.scalars(
            select(Staff).where(Staff.id > after).order_by(Staff.id).limit(limit).with_for_update()
        ).all()
        for row in rows:
            secret = _opened(
                ring, row.totp_secret_enc, STAFF_TOTP_CONTEXT, counts, f"staff {row.id}"
            )
            if secret is not None:
                row.totp_secret_enc = ring.encrypt(secret, STAFF_TOTP_CONTEXT)
                counts.totp_secrets += 1
        counts.staff = len(rows)
        return counts, (rows[-1].id if len(rows) == limit else None)

    return work


def _rekey_customer(
    session: Session, ring: pii.Keyring, row: Customer, counts: RekeyCounts
) -> None:
    target = f"customer {row.id}"
    try:
        number, current = ring.open(row.id_number_enc, ID_CONTEXT)
    except pii.DecryptionFailed as error:
        counts.unreadable.append(f"{target}, {ID_CONTEXT}: {error}")
    else:
        if not current:
            row.id_number_enc = ring.encrypt(number, ID_CONTEXT)
            counts.id_numbers += 1
        _reindex(session, ring, row, number, counts)
    secret = _opened(ring, row.totp_secret_enc, TOTP_CONTEXT, counts, target)
    if secret is not None:
        row.totp_secret_enc = ring.encrypt(secret, TOTP_CONTEXT)
        counts.totp_secrets += 1


def _reindex(
    session: Session, ring: pii.Keyring, row: Customer, number: str, counts: RekeyCounts
) -> None:
    index = ring.blind_index(number, ID_CONTEXT)
    if index == row.id_number_index:
        return
    # Another customer with this number already under the current key (registered by a
    # worker that knew only one of the keys): a person decides, the run does not merge.
    holder = session.scalar(
        select(Customer.id).where(Customer.id_number_index == index, Customer.id != row.id)
    )
    if holder is not None:
        counts.conflicts.append(f"customer {row.id} has the ID number of customer {holder}")
        return
    row.id_number_index = index
    counts.id_indexes += 1


def _opened(
    ring: pii.Keyring, token: str | None, context: str, counts: RekeyCounts, target: str
) -> str | None:
    """The plaintext of a value to re-encrypt: None when it is absent or already current,
    or when no configured key opens it (then the row is reported)."""
    if token is None:
        return None
    try:
        plaintext, current = ring.open(token, context)
    except pii.DecryptionFailed as error:
        counts.unreadable.append(f"{target}, {context}: {error}")
        return None
    return None if current else plaintext
