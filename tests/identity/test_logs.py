"""Personal data and secrets never reach the logs."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from tests.identity.factories import device_id, last_code, login_from_new_device, register
from zhangyin.db import Database


def test_onboarding_and_login_log_no_personal_data_or_secrets(
    client: TestClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    customer = register(client, db)
    login_from_new_device(client, db, customer)
    client.post(
        "/v1/sessions",
        json={"phone": customer.phone, "password": "Wrong-pass-1", "device_id": device_id()},
    )
    client.get("/v1/dev/sms", params={"phone": customer.phone})
    code = last_code(db, customer.phone)
    server = [r for r in caplog.records if not r.name.startswith("httpx")]  # httpx: the test client
    assert any(r.name == "zhangyin.http" for r in server), "the access log records requests"
    secrets = [customer.phone, customer.id_number, customer.password, "Wrong-pass-1"]
    secrets += [customer.tokens["access_token"], customer.tokens["refresh_token"]]
    for record in server:
        logged = record.getMessage() + " " + " ".join(str(v) for v in record.__dict__.values())
        for secret in secrets:
            assert secret not in logged, f"{record.name} logged a secret: {logged[:200]}"
        assert f"验证码 {code}" not in logged
