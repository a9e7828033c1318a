"""`python -m zhangyin identity ...` against the test database."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.identity.factories import PASSWORD, register
from zhangyin.cli import app
from zhangyin.db import Database
from zhangyin.identity import cli as identity_cli
from zhangyin.identity import service


@pytest.fixture
def runner(db: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setattr(identity_cli, "_database", lambda: db)
    return CliRunner()


def test_create_staff_then_log_in_to_the_console(
    runner: CliRunner, client: TestClient, db: Database
) -> None:
    args = ["identity", "create-staff", "--username", "root", "--name", "管理员", "--role", "admin"]
    result = runner.invoke(app, args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    login = client.post("/v1/console/sessions", json={"username": "root", "password": PASSWORD})
    assert login.status_code == 201
    again = runner.invoke(app, args, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert again.exit_code == 1 and "taken" in again.output
    bad_role = runner.invoke(
        app,
        ["identity", "create-staff", "--username", "x1", "--name", "某某", "--role", "god"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert bad_role.exit_code == 1


def test_unlock_by_phone(runner: CliRunner, client: TestClient, db: Database) -> None:
    customer = register(client, db, login=False)
    for _ in range(5):
        client.post(
            "/v1/sessions",
            json={
                "phone": customer.phone,
                "password": "Wrong-123x",
                "device_id": customer.device_id,
            },
        )
    assert db.run(lambda s: service.get_customer(s, customer.customer_id)).locked_until
    result = runner.invoke(app, ["identity", "unlock", customer.phone])
    assert result.exit_code == 0, result.output
    assert db.run(lambda s: service.get_customer(s, customer.customer_id)).locked_until is None
    assert runner.invoke(app, ["identity", "unlock", "13900000000"]).exit_code == 1


def test_rotate_keys_keeps_values_readable(
    runner: CliRunner, client: TestClient, db: Database
) -> None:
    customer = register(client, db, login=False)
    result = runner.invoke(app, ["identity", "rotate-keys"])
    assert result.exit_code == 0, result.output
    assert db.run(lambda s: service.reveal_id_number(s, customer.customer_id)) == customer.id_number
