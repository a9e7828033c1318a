"""Database access: engine set-up for SQLite and PostgreSQL, and the unit of work.

The caller that owns the transaction (an API handler, a job, a CLI command)
runs its work through `Database.run`, which commits once at the end, rolls back
on any error, and retries the whole unit a bounded number of times when the
database reports a serialisation failure or deadlock. Domain services take the
session and never commit.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.pq import ExecStatus
from sqlalchemy import DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zone type; this keeps both backends returning the same
    aware values, and refuses naive datetimes on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC time is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def is_retryable(exc: BaseException) -> bool:
    """True for a failure that a fresh attempt of the same unit of work can fix."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(exc.orig)


def is_unavailable(exc: BaseException) -> bool:
    """True when the database cannot be reached (as opposed to refusing a statement)."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        # class 08 connection exceptions, 57P0x operator intervention (shutdown)
        return bool(sqlstate.startswith("08") or sqlstate.startswith("57P0"))
    return isinstance(exc, OperationalError) and not is_retryable(exc)


def _back_off(what: str, attempt: int, error: object) -> None:
    """Wait before retry `attempt`: a random pause that doubles with each attempt, so
    transactions that collided once do not start again in step and collide again."""
    log.info(f"retrying {what}", extra={"attempt": attempt, "error": str(error)})
    time.sleep(random.uniform(0, 0.002 * 2**attempt))  # noqa: S311 - jitter, not crypto


def normalise_url(url: str) -> str:
    """Pick our drivers: psycopg 3 for PostgreSQL; SQLite as given."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (see the "begin" hook).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock up front: two deferred transactions that both
        # read and then write would otherwise deadlock on the upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
    )


def _driver_execute(
    driver: psycopg.Connection[Any], sql: str, params: Any
) -> list[tuple[Any, ...]]:
    with driver.cursor() as cursor:
        cursor.execute(sql, params, prepare=True)
        # pgresult, not description: description builds a Column object per column.
        returned = cursor.pgresult is not None and cursor.pgresult.status == ExecStatus.TUPLES_OK
        return cursor.fetchall() if returned else []


def _as_sqlalchemy_error(sql: str, params: Any, exc: psycopg.Error, broken: bool) -> DBAPIError:
    """The SQLAlchemy error for a driver error, so callers and `Database.run` treat it as usual."""
    error = DBAPIError.instance(sql, params, exc, psycopg.Error, connection_invalidated=broken)
    assert isinstance(error, DBAPIError)  # a driver error always maps to a DBAPIError
    return error


def driver_rows(session: Session, sql: str, params: Any) -> list[tuple[Any, ...]]:
    """Run `sql` on the session's psycopg connection, inside the session's transaction.

    For the ledger's hot statements on PostgreSQL: SQLAlchemy's result machinery
    costs more client CPU than the statement itself. Errors come back as
    SQLAlchemy's (so `Database.run` retries deadlocks and callers catch
    IntegrityError as usual), and a connection found broken is invalidated.
    """
    connection = session.connection()
    driver: psycopg.Connection[Any] = connection.connection.driver_connection  # type: ignore[assignment]
    try:
        return _driver_execute(driver, sql, params)
    except psycopg.Error as exc:
        broken = bool(driver.broken)
        if broken:
            connection.invalidate(exc)
        raise _as_sqlalchemy_error(sql, params, exc, broken) from exc


class Database:
    """An engine and its sessions; `run` is the unit of work with bounded retries."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed when the block ends without error."""
        with self.sessions() as session, session.begin():
            yield session

    def run(self, work: Callable[[Session], T], *, attempts: int = 8) -> T:
        """Run `work` in one transaction, retrying serialisation failures and deadlocks."""
        for attempt in range(1, attempts + 1):
            try:
                with self.session() as session:
                    return work(session)
            except DBAPIError as exc:
                # A pooled connection found dead (the server restarted) is
                # discarded by SQLAlchemy; the next attempt takes a fresh one.
                # This replaces a ping before every transaction.
                if attempt == attempts or not (is_retryable(exc) or exc.connection_invalidated):
                    raise
                _back_off("unit of work", attempt, exc.orig)
        raise AssertionError("unreachable")

    def run_statement(self, sql: str, params: Any, *, attempts: int = 8) -> list[tuple[Any, ...]]:
        """Run one statement as a transaction of its own, on PostgreSQL only.

        One statement is atomic by itself, so it runs in autocommit: one round
        trip, where `run` needs three (BEGIN, the statement, COMMIT), and no
        ORM session. For a unit of work that is a single statement (a
        database function). Retries and errors as in `run`.
        """
        if self.backend != "postgresql":
            raise NotImplementedError("run_statement is for PostgreSQL")
        for attempt in range(1, attempts + 1):
            pooled = self.engine.raw_connection()
            driver: psycopg.Connection[Any] = pooled.driver_connection  # type: ignore[assignment]
            try:
                driver.autocommit = True
                try:
                    return _driver_execute(driver, sql, params)
                finally:
                    if not driver.broken:
                        driver.autocommit = False
            except psycopg.Error as exc:
                broken = bool(driver.broken)
                if broken:
                    pooled.invalidate(exc)
                error = _as_sqlalchemy_error(sql, params, exc, broken)
                if attempt == attempts or not (is_retryable(error) or broken):
                    raise error from exc
                _back_off("statement", attempt, exc)
            finally:
                pooled.close()
        raise AssertionError("unreachable")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except DBAPIError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
