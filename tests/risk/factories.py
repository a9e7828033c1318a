"""Small builders for risk tests: contexts, ledger accounts, staff sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from zhangyin.db import Database
from zhangyin.identity import service as identity
from zhangyin.risk import service as risk
from zhangyin.risk.context import RiskContext
from zhangyin.risk.models import RiskDecision

#: A Wednesday, 10:00 Beijing time.
NOON = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
PAYEE = "6222020200012345678"  # another bank's account number (not ours)


def ctx(**overrides: Any) -> RiskContext:
    """A small daytime transfer by a long-standing customer on a known device."""
    at = overrides.pop("occurred_at", NOON)
    base: dict[str, Any] = {
        "operation": "transfer",
        "customer_id": "cust-1",
        "account_id": 1,
        "amount_minor": 20_000,
        "currency": "CNY",
        "payee_account_number": PAYEE,
        "payee_name": "李四",
        "payee_bank_code": "ICBC",
        "device_id": "dev-1",
        "ip": "10.0.0.1",
        "channel": "app",
        "occurred_at": at,
        "customer_since": at - timedelta(days=800),
        "kyc_level": 1,
        "device_first_seen_at": at - timedelta(days=300),
        "last_password_change_at": at - timedelta(days=200),
        "last_phone_change_at": None,
        "last_login_at": at - timedelta(minutes=5),
    }
    base.update(overrides)
    return RiskContext(**base)


def assess(db: Database, context: RiskContext) -> risk.RiskDecision:
    return db.run(lambda s: risk.assess(s, context))


def complete(
    db: Database,
    decision: risk.RiskDecision,
    reference: str | None = None,
    settled_at: datetime | None = None,
) -> None:
    """Payments reports the transaction completed (settled at `settled_at`, default: when made)."""
    ref = reference or "ref-" + uuid.uuid4().hex[:12]
    report_outcome(db, decision.decision_id, ref, "completed", settled_at)


def report_outcome(
    db: Database, decision_id: str, reference: str, status: str, at: datetime | None = None
) -> None:
    """`record_outcome`, as if payments reported it at `at` (default: when the transaction was
    made). The service stamps the wall clock; tests on fixed dates move the stamp to their day."""

    def work(session: Session) -> None:
        risk.record_outcome(session, decision_id, reference=reference, status=status)
        row = session.get(RiskDecision, decision_id)
        assert row is not None
        row.status_at = at or row.occurred_at

    db.run(work)


def history(db: Database, context: RiskContext, days: list[int], **overrides: Any) -> None:
    """Completed payments like `context`, `days` before it (builds a known payee / habits)."""
    for d in days:
        past = ctx(
            **{
                **context.__dict__,
                "occurred_at": context.occurred_at - timedelta(days=d),
                **overrides,
            }
        )
        complete(db, assess(db, past))


def staff_headers(
    client: TestClient, db: Database, roles: list[str], username: str | None = None
) -> dict[str, str]:
    username = username or "analyst" + uuid.uuid4().hex[:8]
    password = "Zhangyin2026ok!"
    db.run(
        lambda s: identity.create_staff(
            s, username=username, name="分析员", password=password, roles=roles
        )
    )
    response = client.post(
        "/v1/console/sessions", json={"username": username, "password": password}
    )
    assert response.status_code == 201, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}
