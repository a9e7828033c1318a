"""One intra-bank transfer reads the customer and their device from identity in one statement."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.payments.factories import customer, transfer
from tests.statements import counted
from zhangyin.db import Database
from zhangyin.identity import service as identity
from zhangyin.identity.models import Device


@pytest.mark.real_risk
def test_limits_and_risk_profile_share_one_read_of_customer_and_device(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db)
    b = customer(client, db, "李四", deposit=None)
    with counted(db) as statements:
        response = transfer(client, a, b, "10.00")
    assert response.status_code == 201, response.text
    identity_reads = [
        s for s in statements if "FROM identity_customers" in s or "FROM identity_devices" in s
    ]
    assert len(identity_reads) == 1, identity_reads
    assert "identity_devices" in identity_reads[0]


def _device(db: Database, customer_id: str) -> Device:
    return db.run(
        lambda s: s.scalars(select(Device).where(Device.customer_id == customer_id)).one()
    )


def test_the_risk_profile_sees_only_the_callers_own_device(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db, deposit=None)
    b = customer(client, db, "李四", deposit=None)
    own, other = _device(db, a.customer_id), _device(db, b.customer_id)

    def profiles(session: Session) -> tuple[identity.RiskProfile, identity.RiskProfile]:
        identity.customer_limits(session, a.customer_id, own.id)
        mine = identity.risk_profile(session, a.customer_id, own.id)
        identity.customer_limits(session, a.customer_id, other.id)
        return mine, identity.risk_profile(session, a.customer_id, other.id)

    mine, theirs = db.run(profiles)
    assert mine.device_first_seen_at == own.first_seen_at
    assert theirs.device_first_seen_at is None and not theirs.device_trusted
