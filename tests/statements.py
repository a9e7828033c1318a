"""Counting the SQL a piece of work sends, for tests that pin how many statements it costs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from zhangyin.db import Database


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """The statements `db`'s engine sends inside the block, each on one line."""
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
