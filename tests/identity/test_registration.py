"""Onboarding: SMS-verified phone, real name, resident ID, password; a CNY account."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.identity.factories import (
    id_number,
    idem,
    last_code,
    messages,
    random_phone,
    register,
    registration_body,
    row_counts,
)
from zhangyin.clock import business_date, utcnow
from zhangyin.db import Database
from zhangyin.events import OutboxEvent
from zhangyin.identity import service
from zhangyin.identity.errors import AgeNotEligible
from zhangyin.identity.models import Consent, Customer
from zhangyin.identity.policy import IdentityPolicy
from zhangyin.ledger import service as ledger


def _code(client: TestClient, db: Database, phone: str) -> str:
    assert (
        client.post("/v1/sms-codes", json={"phone": phone, "purpose": "register"}).status_code
        == 202
    )
    return last_code(db, phone)


def test_registration_opens_an_account_and_answers_masked(client: TestClient, db: Database) -> None:
    phone = random_phone()
    body = registration_body(phone, _code(client, db, phone), name="王小明")
    created = client.post("/v1/customers", json=body, headers=idem())
    assert created.status_code == 201, created.text
    customer, account = created.json()["customer"], created.json()["account"]
    assert customer["phone"] == f"{phone[:3]}****{phone[-4:]}"
    assert customer["name"] == "王**"
    assert customer["id_number"] == body["id_number"][:3] + "*" * 11 + body["id_number"][-4:]
    assert customer["kyc_level"] == "II" and customer["status"] == "active"
    assert len(account["number"]) == 19 and account["currency"] == "CNY"
    assert body["id_number"] not in created.text and phone not in created.text

    accounts = db.run(lambda s: ledger.list_accounts(s, customer["id"]))
    assert [a.number for a in accounts] == [account["number"]]
    assert accounts[0].kind == "customer_current" and accounts[0].name == "王小明"

    row = db.run(lambda s: s.get(Customer, customer["id"]))
    assert body["id_number"] not in row.id_number_enc and row.id_number_enc.startswith("v")
    assert row.password_hash.startswith("$argon2id$") and body["password"] not in row.password_hash
    assert db.run(lambda s: service.reveal_id_number(s, customer["id"])) == body["id_number"]
    consents = db.run(lambda s: s.scalars(select(Consent)).all())
    assert [(c.customer_id, c.policy_version) for c in consents] == [(customer["id"], "2026-01")]
    event = db.run(
        lambda s: s.scalar(
            select(OutboxEvent).where(OutboxEvent.event_type == "identity.customer_registered")
        )
    )
    assert event.aggregate_id == customer["id"] and phone not in str(event.payload)


def test_retry_with_the_same_idempotency_key_registers_once(
    client: TestClient, db: Database
) -> None:
    phone = random_phone()
    body = registration_body(phone, _code(client, db, phone))
    headers = idem()
    first = client.post("/v1/customers", json=body, headers=headers)
    again = client.post("/v1/customers", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == again.json()
    assert row_counts(db)["identity_customers"] == 1


def test_wrong_code_registers_nothing(client: TestClient, db: Database) -> None:
    phone = random_phone()
    code = _code(client, db, phone)
    before = row_counts(db)
    wrong = "000000" if code != "000000" else "111111"
    refused = client.post("/v1/customers", json=registration_body(phone, wrong), headers=idem())
    assert refused.status_code == 422 and refused.json()["code"] == "code_invalid"
    assert row_counts(db) == before


def test_a_code_registers_once(client: TestClient, db: Database) -> None:
    phone = random_phone()
    code = _code(client, db, phone)
    assert (
        client.post(
            "/v1/customers", json=registration_body(phone, code), headers=idem()
        ).status_code
        == 201
    )
    before = row_counts(db)
    replay = client.post("/v1/customers", json=registration_body(phone, code), headers=idem())
    assert replay.status_code in (409, 422)
    assert row_counts(db) == before


def test_registration_code_cannot_be_brute_forced(client: TestClient, db: Database) -> None:
    phone = random_phone()
    code = _code(client, db, phone)
    for guess in range(5):
        wrong = f"{(int(code) + guess + 1) % 1_000_000:06d}"
        body = registration_body(phone, wrong)
        assert client.post("/v1/customers", json=body, headers=idem()).status_code == 422
    late = client.post("/v1/customers", json=registration_body(phone, code), headers=idem())
    assert late.status_code == 422 and late.json()["code"] == "code_invalid"
    assert row_counts(db)["identity_customers"] == 0


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("phone", "12012345678", "invalid_phone"),
        ("phone", "14012345678", "invalid_phone"),
        ("id_number", "110101199003071230", "invalid_id_number"),  # wrong check digit (fixed below)
        ("id_number", "future", "invalid_id_number"),
        ("id_number", "minor", "age_not_eligible"),
        ("id_number", "bad-date", "invalid_id_number"),
        ("password", "onlyletters", "weak_password"),
        ("password", "12345678", "weak_password"),
        ("password", "short1", "weak_password"),
        ("accept_privacy_version", "2020-01", "privacy_version_unknown"),
    ],
)
def test_invalid_registration_is_refused_with_its_code(
    client: TestClient, db: Database, field: str, value: str, code: str
) -> None:
    phone = random_phone()
    sms = _code(client, db, phone)
    # The bank's today (Beijing); two days on stays in the future even if the server's
    # clock passes midnight Beijing (16:00 UTC) after this line.
    today = business_date(utcnow())
    special = {
        "future": id_number(today + timedelta(days=2)),
        "minor": id_number(date(today.year - 10, 1, 1)),
        "bad-date": "11010119901332" + "0000",
    }
    if field == "id_number" and value == "110101199003071230":
        valid = id_number()
        value = valid[:-1] + ("0" if valid[-1] != "0" else "1")
    value = special.get(value, value)
    if value == special.get("bad-date"):
        from stdnum.cn import ric

        value = value[:-1] + ric.calc_check_digit(value)
    body = registration_body(phone, sms)
    body[field] = value
    before = row_counts(db)
    refused = client.post("/v1/customers", json=body, headers=idem())
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == code
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert row_counts(db) == before


@pytest.mark.parametrize(
    ("utc_now", "born", "accepted"),
    [
        # 16:30 UTC on 23 Nov is 00:30 on 24 Nov in Beijing: the 16th birthday has begun.
        (datetime(2026, 11, 23, 16, 30, tzinfo=UTC), date(2010, 11, 24), True),
        (datetime(2026, 11, 23, 16, 30, tzinfo=UTC), date(2010, 11, 25), False),
        # 15:30 UTC is 23:30 in Beijing: still the day before the birthday.
        (datetime(2026, 11, 23, 15, 30, tzinfo=UTC), date(2010, 11, 24), False),
    ],
)
def test_age_turns_at_midnight_beijing_time(
    monkeypatch: pytest.MonkeyPatch, utc_now: datetime, born: date, accepted: bool
) -> None:
    monkeypatch.setattr(service, "utcnow", lambda: utc_now)
    number = id_number(born)
    if accepted:
        assert service.check_id_number(number) == (number, born)
    else:
        with pytest.raises(AgeNotEligible):
            service.check_id_number(number)


def test_registered_phone_gets_a_notice_not_a_code(client: TestClient, db: Database) -> None:
    client.app.state.identity_policy = IdentityPolicy(sms_cooldown_seconds=0)  # type: ignore[attr-defined]
    existing = register(client, db, login=False)
    before = len(messages(db, existing.phone))
    again = client.post("/v1/sms-codes", json={"phone": existing.phone, "purpose": "register"})
    assert again.status_code == 202  # same answer as for a new phone
    sent = messages(db, existing.phone)
    assert len(sent) == before + 1 and "已注册" in sent[-1].text
    refused = client.post(
        "/v1/customers",
        json=registration_body(existing.phone, "123456"),
        headers=idem(),
    )
    assert refused.status_code == 422 and row_counts(db)["identity_customers"] == 1


def test_one_id_number_registers_one_customer(client: TestClient, db: Database) -> None:
    first = register(client, db, login=False)
    phone = random_phone()
    body = registration_body(phone, _code(client, db, phone), id_number=first.id_number)
    before = row_counts(db)
    refused = client.post("/v1/customers", json=body, headers=idem())
    assert refused.status_code == 409 and refused.json()["code"] == "registration_refused"
    assert row_counts(db) == before


def test_login_and_reset_codes_are_not_sent_to_unknown_phones(
    client: TestClient, db: Database
) -> None:
    phone = random_phone()
    for purpose in ("login", "reset_password", "step_up"):
        answer = client.post("/v1/sms-codes", json={"phone": phone, "purpose": purpose})
        assert answer.status_code == 202
    assert messages(db, phone) == []
