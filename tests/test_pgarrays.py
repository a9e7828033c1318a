"""zhangyin.pgarrays sends what PostgreSQL reads back as the same arrays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from zhangyin.db import Database, driver_rows
from zhangyin.pgarrays import Int8Array, TextArray, TimestamptzArray

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

MOMENT = datetime(2026, 12, 3, 16, 59, 1, 123_456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("wrapper", "cast", "values"),
    [
        (Int8Array, "bigint[]", [1, -1, 0, 2**63 - 1, -(2**63), 123_456_789_012]),
        (Int8Array, "bigint[]", [None, 7, None]),
        (Int8Array, "bigint[]", []),
        (TextArray, "varchar[]", ["CNY", "柜台现金存入", "", "a\nb\"c'{}", "x" * 140]),
        (TextArray, "varchar[]", [None, "posted", None]),
        (TextArray, "text[]", []),
        (
            TimestamptzArray,
            "timestamptz[]",
            [MOMENT, MOMENT - timedelta(days=10_000), datetime(2000, 1, 1, tzinfo=UTC), None],
        ),
        (TimestamptzArray, "timestamptz[]", []),
    ],
)
def test_an_array_comes_back_as_sent(
    db: Database, wrapper: Any, cast: str, values: list[Any]
) -> None:
    def echo(session: Any) -> list[Any]:
        ((back, length),) = driver_rows(
            session,
            f"SELECT CAST(%(v)b AS {cast}), cardinality(CAST(%(v)b AS {cast}))",
            {"v": wrapper(values)},
        )
        assert length == len(values)
        return list(back)

    assert db.run(echo) == values


def test_arrays_unnest_side_by_side_into_rows(db: Database) -> None:
    def rows(session: Any) -> list[tuple[Any, ...]]:
        return driver_rows(
            session,
            "SELECT * FROM unnest(CAST(%b AS bigint[]), CAST(%b AS varchar[]),"
            " CAST(%b AS timestamptz[])) ORDER BY 1",
            (Int8Array([2, 1]), TextArray(["乙", None]), TimestamptzArray([None, MOMENT])),
        )

    assert db.run(rows) == [(1, None, MOMENT), (2, "乙", None)]
