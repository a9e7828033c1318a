"""Idempotency-Key handling for every request that moves money.

The key is claimed by inserting a row in the same transaction as the work. A
concurrent request with the same key waits on the unique index and then finds
the finished record; a later retry gets the first answer again. A different
body under the same key is a 409. Refusals (a 4xx domain error) are recorded
too, inside a savepoint that undoes the work, so a retry sees the same answer
instead of a second attempt.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from zhangyin.clock import utcnow
from zhangyin.db import Base, Database, UTCDateTime
from zhangyin.errors import (
    DomainError,
    IdempotencyKeyInvalid,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    problem_body,
)

_KEY_RE = re.compile(r"^[\x21-\x7e]{1,128}$")


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def check_key(key: str | None) -> str:
    if key is None:
        raise IdempotencyKeyMissing()
    if not _KEY_RE.match(key):
        raise IdempotencyKeyInvalid()
    return key


def fingerprint(payload: Any) -> str:
    """A stable hash of the request body (key order does not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    db: Database,
    *,
    scope: str,
    key: str | None,
    payload: Any,
    work: Callable[[Session], tuple[int, dict[str, Any]]],
    language: str,
    instance: str,
) -> StoredResponse:
    """Run `work` once per (scope, key); replay its stored answer afterwards.

    `work` returns (status code, JSON body). A DomainError it raises is stored
    as the problem+json answer for the key and re-raised on the first call.
    """
    key = check_key(key)
    request_hash = fingerprint(payload)

    def replay(session: Session) -> StoredResponse | None:
        record = session.get(IdempotencyRecord, (scope, key))
        if record is None:
            return None
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused()
        return StoredResponse(record.status_code, record.response_body, replayed=True)

    def claim(session: Session) -> bool:
        """Insert the key's row; False when it is already there (a retry or a twin).

        One statement on the hot path instead of a read and then an insert. A
        concurrent twin blocks here until the first request finishes; it then
        finds the committed row (or claims the key if the first rolled back).
        """
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        result = session.execute(
            insert(IdempotencyRecord)
            .values(
                scope=scope,
                key=key,
                request_hash=request_hash,
                status_code=0,
                response_body={},
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
            .returning(IdempotencyRecord.key)
        )
        return result.first() is not None

    def finish(session: Session, status_code: int, body: dict[str, Any]) -> None:
        session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
            .values(status_code=status_code, response_body=body)
        )

    def attempt(session: Session) -> StoredResponse | DomainError:
        if not claim(session):
            stored = replay(session)
            if stored is not None:
                return stored
            # The row went away between the two statements (expired and swept): claim again.
            if not claim(session):
                raise RuntimeError("idempotency key neither claimable nor stored")
        savepoint = session.begin_nested()
        try:
            status_code, body = work(session)
            savepoint.commit()
        except DomainError as error:
            savepoint.rollback()
            finish(session, error.status, problem_body(error, language, instance, None))
            return error
        finish(session, status_code, body)
        return StoredResponse(status_code, body, replayed=False)

    try:
        outcome = db.run(attempt)
    except IntegrityError:
        # A concurrent request with the same key committed first: answer as it did.
        stored = db.run(replay)
        if stored is None:
            raise
        outcome = stored
    if isinstance(outcome, DomainError):
        raise outcome
    if outcome.replayed and outcome.status_code >= 400:
        raise ReplayedProblem(outcome.status_code, outcome.body)
    return outcome


class ReplayedProblem(DomainError):
    """The stored refusal of an earlier request with the same Idempotency-Key."""

    def __init__(self, status_code: int, body: dict[str, Any]) -> None:
        self.code = str(body.get("code", "error"))
        self.status = status_code
        self.stored_body = body
        super().__init__()

    def detail(self, language: str) -> str:
        return str(self.stored_body.get("detail", ""))

    def extensions(self) -> dict[str, Any]:
        skip = {"type", "title", "status", "detail", "code", "instance", "request_id"}
        return {k: v for k, v in self.stored_body.items() if k not in skip}
