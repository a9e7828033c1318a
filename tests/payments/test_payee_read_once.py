"""An intra-bank transfer looks its payee up by number once, for payments and risk together."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.payments.factories import customer, transfer
from zhangyin.db import Database


@pytest.mark.real_risk
def test_the_payee_account_is_looked_up_by_number_once(client: TestClient, db: Database) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(" ".join(str(args[2]).split()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = transfer(client, a, b, "10.00")
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 201, response.text
    by_number = [s for s in statements if "WHERE ledger_accounts.number =" in s]
    assert len(by_number) == 1, by_number
