"""Hostile-input tests hit the real server (a subprocess) on a PostgreSQL cluster of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.reliability import bank
from tests.reliability.stack import Stack, missing_tools


@dataclass
class Live:
    stack: Stack
    http: httpx.Client
    customer: bank.Customer

    def row_counts(self) -> dict[str, int]:
        """Rows in every table of the database (a refused request changes none)."""
        tables = [
            str(r[0])
            for r in self.stack.sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        union = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
        return {str(name): int(count) for name, count in self.stack.sql(union)}


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    missing = missing_tools()
    if missing:
        message = f"live hostile-input tests need {', '.join(missing)}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    stack = Stack()
    try:
        stack.api.start()
        with httpx.Client(base_url=stack.api.url, timeout=15) as http:
            customer = bank.register(http, stack.sql, "张三")
            yield Live(stack, http, customer)
    finally:
        stack.close()
