"""Bad input on every identity endpoint: a 4xx problem+json, and nothing stored or sent."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.identity.factories import (
    PASSWORD,
    id_number,
    random_phone,
    register,
    row_counts,
    staff_headers,
)
from zhangyin.db import Database
from zhangyin.identity.models import SmsMessage

UUID = "0b8e2f4e-6a1d-4c7b-9a55-3f2d1e0c9b8a"

#: (method, path, a valid body, who calls: public / customer / admin)
ENDPOINTS: list[tuple[str, str, dict[str, Any], str]] = [
    ("POST", "/v1/sms-codes", {"phone": "13912345678", "purpose": "register"}, "public"),
    (
        "POST",
        "/v1/customers",
        {
            "phone": "13912345678",
            "sms_code": "123456",
            "name": "张三",
            "id_number": "110101199003074514",
            "password": PASSWORD,
            "accept_privacy_version": "2026-01",
        },
        "public",
    ),
    (
        "POST",
        "/v1/sessions",
        {"phone": "13912345678", "password": "x", "device_id": "dev-00000001"},
        "public",
    ),
    ("POST", "/v1/sessions/second-factor", {"challenge_id": UUID, "sms_code": "123456"}, "public"),
    (
        "POST",
        "/v1/sessions/sms-code",
        {"phone": "13912345678", "sms_code": "123456", "device_id": "dev-00000001"},
        "public",
    ),
    ("POST", "/v1/sessions/refresh", {"refresh_token": "zyr_abcdefghijklmnop"}, "public"),
    (
        "POST",
        "/v1/password-resets",
        {
            "phone": "13912345678",
            "sms_code": "123456",
            "id_number": "110101199003074514",
            "new_password": PASSWORD,
        },
        "public",
    ),
    (
        "POST",
        "/v1/passkeys/sessions",
        {"challenge_id": UUID, "credential": {"id": "x"}, "device_id": "dev-00000001"},
        "public",
    ),
    ("POST", "/v1/console/sessions", {"username": "admin", "password": "x"}, "public"),
    ("PUT", "/v1/me/limits", {"per_transaction": "100.00"}, "customer"),
    ("PATCH", "/v1/me", {"elder_mode": True}, "customer"),
    ("PATCH", "/v1/me", {"language": "en-US"}, "customer"),
    ("POST", "/v1/me/phone/start", {"new_phone": "13912345678"}, "customer"),
    (
        "POST",
        "/v1/me/phone/confirm",
        {"change_id": UUID, "sms_code": "123456", "step_up_sms_code": "123456"},
        "customer",
    ),
    ("POST", "/v1/me/totp/confirm", {"code": "123456"}, "customer"),
    ("POST", "/v1/me/consents", {"policy_version": "2026-01"}, "customer"),
    ("POST", "/v1/me/closure", {"challenge_id": UUID, "sms_code": "123456"}, "customer"),
    (
        "POST",
        "/v1/passkeys",
        {"challenge_id": UUID, "credential": {"id": "x"}, "name": "手机"},
        "customer",
    ),
    (
        "POST",
        "/v1/console/enterprises",
        {"name": "掌银科技有限公司", "uscc": "91110000600037341L"},
        "admin",
    ),
    (
        "POST",
        "/v1/console/staff",
        {"username": "someone", "name": "赵六", "password": PASSWORD, "roles": ["viewer"]},
        "admin",
    ),
]

MUTATIONS: list[tuple[str, Any]] = [
    ("wrong type", 12345),
    ("null", None),
    ("over-long", "9" * 5000),
    ("control characters", "abc\x00\x1b[31m"),
    ("emoji", "😀😀😀"),
    ("sql metacharacters", "' OR 1=1; DROP TABLE identity_customers; --"),
    ("nested object", {"$gt": ""}),
]


#: Bodies whose fields are all optional: leaving one out or sending null is a valid request
#: (PUT /v1/me/limits: null restores the default).
OPTIONAL_FIELDS = {"/v1/me/limits"}


def _outbox(db: Database) -> int:
    return db.run(lambda s: s.scalar(select(func.count()).select_from(SmsMessage)))


@pytest.mark.parametrize(
    ("method", "path", "body", "caller"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS]
)
def test_bad_input_is_refused_and_changes_nothing(
    client: TestClient, db: Database, method: str, path: str, body: dict[str, Any], caller: str
) -> None:
    headers: dict[str, str] = {}
    if caller == "customer":
        headers = register(client, db).headers
    elif caller == "admin":
        headers = staff_headers(client, db, "admin")
    before, sent = row_counts(db), _outbox(db)

    cases: list[tuple[str, Any]] = [
        ("not json", b"{not json"),
        ("array body", [body]),
        ("unknown field", {**body, "is_admin": True}),
    ]
    for field in body:
        if path not in OPTIONAL_FIELDS:
            missing = {k: v for k, v in body.items() if k != field}
            cases.append((f"missing {field}", missing))
        for label, value in MUTATIONS:
            if value is None and path in OPTIONAL_FIELDS:
                continue
            changed = copy.deepcopy(body)
            changed[field] = value
            cases.append((f"{field}: {label}", changed))

    for label, payload in cases:
        request_headers = {**headers, "Idempotency-Key": uuid.uuid4().hex}
        if isinstance(payload, bytes):
            response = client.request(
                method,
                path,
                content=payload,
                headers={**request_headers, "Content-Type": "application/json"},
            )
        else:
            response = client.request(method, path, json=payload, headers=request_headers)
        assert 400 <= response.status_code < 500, f"{label}: {response.status_code} {response.text}"
        assert response.headers["content-type"].startswith("application/problem+json"), label
        assert response.json()["code"], label
    assert row_counts(db) == before
    assert _outbox(db) == sent


@pytest.mark.parametrize(
    "phone", ["1391234567", "139123456789", "abc", "13912345678'--", "１３９１２３４５６７８"]
)
def test_dev_inbox_and_console_queries_refuse_bad_phones(
    client: TestClient, db: Database, phone: str
) -> None:
    assert client.get("/v1/dev/sms", params={"phone": phone}).status_code == 422
    admin = staff_headers(client, db, "admin")
    refused = client.get("/v1/console/customers", params={"phone": phone}, headers=admin)
    assert refused.status_code == 422


def test_path_parameters_must_be_uuids(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    for bad in ("1", "../../etc", "' OR 1=1", "0b8e2f4e-6a1d-4c7b-9a55-3f2d1e0c9b8a%00"):
        response = client.delete(f"/v1/me/devices/{bad}", headers=customer.headers)
        assert response.status_code in (404, 422), bad
    assert len(client.get("/v1/me/devices", headers=customer.headers).json()) == 1


def test_name_with_emoji_or_markup_is_refused(client: TestClient, db: Database) -> None:
    from tests.identity.factories import idem, last_code, registration_body

    phone = random_phone()
    client.post("/v1/sms-codes", json={"phone": phone, "purpose": "register"})
    code = last_code(db, phone)
    for name in ("张😀", "<script>", "张\n三", "a", "张" * 31):
        body = registration_body(phone, code, name=name, id_number=id_number())
        response = client.post("/v1/customers", json=body, headers=idem())
        assert response.status_code == 422, name
    assert row_counts(db)["identity_customers"] == 0
