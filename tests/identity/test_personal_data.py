"""Personal data and the customer's own settings: export, closure, consent, limits, TOTP."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient

from tests.identity.factories import device_id, last_code, register, row_counts, wrong_code
from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.identity import service
from zhangyin.identity.errors import CustomerNotFound
from zhangyin.identity.models import Customer, KycLevel, Passkey
from zhangyin.identity.policy import IdentityPolicy
from zhangyin.ledger import service as ledger
from zhangyin.ledger.models import AccountKind
from zhangyin.money import Money


def test_export_gives_the_customer_all_their_data(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    exported = client.get("/v1/me/export", headers=customer.headers)
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    data = exported.json()
    assert data["customer"]["id_number"] == customer.id_number
    assert data["customer"]["phone"] == customer.phone
    assert data["accounts"][0]["number"] == customer.account["number"]
    assert data["consents"][0]["policy_version"] == "2026-01"
    assert len(data["devices"]) == 1


def test_closure_needs_step_up_closes_accounts_and_anonymises(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    started = client.post("/v1/me/closure/step-up", headers=customer.headers)
    assert started.status_code == 201 and started.json()["methods"] == ["sms"]
    challenge_id = started.json()["challenge_id"]
    wrong = client.post(
        "/v1/me/closure",
        json={"challenge_id": challenge_id, "sms_code": wrong_code(last_code(db, customer.phone))},
        headers=customer.headers,
    )
    assert wrong.status_code == 403 and wrong.json()["code"] == "step_up_invalid"
    closed = client.post(
        "/v1/me/closure",
        json={"challenge_id": challenge_id, "sms_code": last_code(db, customer.phone)},
        headers=customer.headers,
    )
    assert closed.status_code == 204, closed.text
    assert client.get("/v1/me", headers=customer.headers).status_code == 401
    row = db.run(lambda s: s.get(Customer, customer.customer_id))
    assert row.status == "closed" and row.phone is None and row.password_hash is None
    assert row.retain_until > utcnow() + timedelta(days=5 * 365)  # kept for AML
    assert db.run(lambda s: service.get_customer_any_status(s, row.id)).name == "张三"
    assert [a.status for a in db.run(lambda s: ledger.list_accounts(s, row.id))] == ["closed"]
    with pytest.raises(CustomerNotFound):
        db.run(lambda s: service.get_customer(s, row.id))
    client.app.state.identity_policy = IdentityPolicy(sms_cooldown_seconds=0)  # type: ignore[attr-defined]
    again = register(client, db, phone=customer.phone, login=False)  # the number is free again
    assert again.customer_id != customer.customer_id


def test_closure_with_money_on_the_account_changes_nothing(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)

    def fund(session):  # type: ignore[no-untyped-def]
        cash = ledger.bank_account(session, AccountKind.BANK_CASH)
        ledger.transfer(
            session, ledger.TransferOrder(cash.id, customer.account["id"], Money(100, "CNY"))
        )

    db.run(fund)
    challenge_id = client.post("/v1/me/closure/step-up", headers=customer.headers).json()[
        "challenge_id"
    ]
    before = row_counts(db)
    refused = client.post(
        "/v1/me/closure",
        json={"challenge_id": challenge_id, "sms_code": last_code(db, customer.phone)},
        headers=customer.headers,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "account_not_empty"
    assert row_counts(db) == before
    assert client.get("/v1/me", headers=customer.headers).json()["status"] == "active"


def test_consent_accept_and_withdraw(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    unknown = client.post(
        "/v1/me/consents", json={"policy_version": "1999-01"}, headers=customer.headers
    )
    assert unknown.status_code == 422 and unknown.json()["current"] == "2026-01"
    withdrawn = client.post("/v1/me/consents/withdraw", headers=customer.headers)
    assert withdrawn.status_code == 200 and withdrawn.json()[0]["withdrawn_at"] is not None
    accepted = client.post(
        "/v1/me/consents", json={"policy_version": "2026-01"}, headers=customer.headers
    )
    assert accepted.status_code == 201 and accepted.json()[-1]["withdrawn_at"] is None
    assert len(client.get("/v1/me/consents", headers=customer.headers).json()) == 2


def test_limits_come_from_the_level_and_can_only_be_lowered(
    client: TestClient, db: Database
) -> None:
    customer = register(client, db)
    limits = client.get("/v1/me/limits", headers=customer.headers).json()
    assert limits == {
        "kyc_level": "II",
        "currency": "CNY",
        "per_transaction": "10000.00",
        "daily_amount": "10000.00",
        "daily_count": 20,
        "default_per_transaction": "10000.00",
        "default_daily_amount": "10000.00",
        "default_daily_count": 20,
    }
    lowered = client.put(
        "/v1/me/limits",
        json={"per_transaction": "500.00", "daily_count": 5},
        headers=customer.headers,
    )
    assert lowered.status_code == 200
    effective = db.run(lambda s: service.customer_limits(s, customer.customer_id))
    assert (effective.per_transaction_minor, effective.daily_amount_minor) == (50_000, 1_000_000)
    assert effective.daily_count == 5
    above = client.put("/v1/me/limits", json={"daily_amount": "10000.01"}, headers=customer.headers)
    assert above.status_code == 422 and above.json()["code"] == "limit_above_default"
    assert db.run(lambda s: service.customer_limits(s, customer.customer_id)) == effective
    # A later downgrade of the class caps the customer's own choice too.
    db.run(lambda s: service.set_kyc_level(s, customer.customer_id, KycLevel.III))
    capped = db.run(lambda s: service.customer_limits(s, customer.customer_id))
    assert capped.per_transaction_minor == 50_000 and capped.daily_amount_minor == 200_000


def test_risk_profile_has_the_facts_risk_needs(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    profile = db.run(
        lambda s: service.risk_profile(s, customer.customer_id, customer.tokens["device_id"])
    )
    assert profile.kyc_level == "II" and profile.device_trusted
    assert profile.device_first_seen_at is not None and profile.last_login_at is not None
    assert profile.customer_since <= profile.last_login_at
    unknown = db.run(lambda s: service.risk_profile(s, customer.customer_id, None))
    assert unknown.device_first_seen_at is None and not unknown.device_trusted


def test_totp_enrolment_login_and_replay(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    enrolment = client.post("/v1/me/totp", headers=customer.headers)
    assert enrolment.status_code == 201
    secret = enrolment.json()["secret"]
    row = db.run(lambda s: s.get(Customer, customer.customer_id))
    assert secret not in row.totp_secret_enc  # encrypted at rest
    totp = pyotp.TOTP(secret)
    bad = client.post("/v1/me/totp/confirm", json={"code": "000000"}, headers=customer.headers)
    if totp.now() != "000000":
        assert bad.status_code == 422
    code = totp.now()
    assert (
        client.post(
            "/v1/me/totp/confirm", json={"code": code}, headers=customer.headers
        ).status_code
        == 204
    )
    assert client.get("/v1/me", headers=customer.headers).json()["totp_enabled"] is True

    first = client.post(
        "/v1/sessions",
        json={"phone": customer.phone, "password": customer.password, "device_id": device_id()},
    ).json()
    assert first["methods"] == ["sms", "totp"]
    replay = client.post(
        "/v1/sessions/second-factor",
        json={"challenge_id": first["challenge_id"], "totp_code": code},
    )
    assert replay.status_code == 401  # the code used to confirm cannot be used again
    next_code = totp.at(utcnow() + timedelta(seconds=30))
    ok = client.post(
        "/v1/sessions/second-factor",
        json={"challenge_id": first["challenge_id"], "totp_code": next_code},
    )
    assert ok.status_code == 201 and ok.json()["auth_methods"] == ["pwd", "otp"]


def test_closed_customer_keeps_no_passkeys(client: TestClient, db: Database) -> None:
    from tests.identity.authz import World, a_passkey

    customer = register(client, db)
    a_passkey(World(client, db, None), customer)  # type: ignore[arg-type]
    db.run(lambda s: service.close_customer(s, customer.customer_id))
    assert db.run(lambda s: s.query(Passkey).count()) == 0
