"""One intra-bank transfer's statements: nothing read or updated twice by payments and risk."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.payments.factories import customer, transfer
from tests.statements import counted
from zhangyin.db import Database
from zhangyin.payments.models import PaymentTransfer
from zhangyin.risk import service as risk


def _transfer_statements(client: TestClient, db: Database) -> tuple[dict[str, Any], list[str]]:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    with counted(db) as statements:
        response = transfer(client, a, b, "10.00")
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body, statements


@pytest.mark.real_risk
def test_the_payee_account_is_looked_up_by_number_once(client: TestClient, db: Database) -> None:
    _, statements = _transfer_statements(client, db)
    by_number = [s for s in statements if "WHERE ledger_accounts.number =" in s]
    assert len(by_number) == 1, by_number


@pytest.mark.real_risk
def test_the_risk_decision_is_updated_once_with_its_outcome_and_latency(
    client: TestClient, db: Database
) -> None:
    body, statements = _transfer_statements(client, db)
    updates = [s for s in statements if s.startswith("UPDATE risk_decisions")]
    assert len(updates) == 1, updates
    payment = db.run(lambda s: s.get(PaymentTransfer, body["id"]))
    decision = db.run(lambda s: risk.get_decision_row(s, payment.risk_decision_id))
    assert decision.reference == body["id"]
    assert decision.latency_ms > 0
