"""Rotating the secret key (docs/security.md, "Rotating the secret key").

While the old secret is a previous key, personal data written under it stays readable and
findable; `rekey` moves everything to the new secret; then the old key can go. Each
"restart" is a new app and a new process keyring built from the environment, as a worker
restarted with new settings would be.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from typer.testing import CliRunner

from tests.identity.factories import (
    PASSWORD,
    Customer,
    device_id,
    idem,
    last_code,
    password_login,
    random_phone,
    register,
    registration_body,
)
from zhangyin import pii
from zhangyin.app import create_app
from zhangyin.cli import app as cli_app
from zhangyin.config import Settings, get_settings
from zhangyin.db import Database
from zhangyin.identity import cli as identity_cli
from zhangyin.identity import models, staff
from zhangyin.identity.policy import IdentityPolicy
from zhangyin.identity.rekey import run_rekey
from zhangyin.identity.service import ID_CONTEXT

SECRET_A = "rotation-a-" + uuid.uuid4().hex
SECRET_B = "rotation-b-" + uuid.uuid4().hex

Restart = Callable[..., TestClient]


@pytest.fixture
def restart(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Restart]:
    """`restart(secret, *previous)`: the app as a worker started with those keys serves it.

    The process keyring is cached (pii.keyring, get_settings): both caches are cleared on
    each restart and at the end, after which monkeypatch restores the environment, so no
    other test sees these keys.
    """
    clients = ExitStack()

    def start(secret: str, *previous: str) -> TestClient:
        monkeypatch.setenv("ZHANGYIN_SECRET_KEY", secret)
        monkeypatch.setenv("ZHANGYIN_PREVIOUS_SECRET_KEYS", ",".join(previous))
        monkeypatch.delenv("ZHANGYIN_DATA_KEYS", raising=False)
        get_settings.cache_clear()
        pii.keyring.cache_clear()
        keys = {"secret_key": secret, "previous_secret_keys": ",".join(previous)}
        app = create_app(settings.model_copy(update=keys), database=db, background_jobs=False)
        client = clients.enter_context(TestClient(app, raise_server_exceptions=False))
        app.state.identity_policy = IdentityPolicy(sms_cooldown_seconds=0)
        return client

    yield start
    clients.close()
    get_settings.cache_clear()
    pii.keyring.cache_clear()


@pytest.fixture
def rekey(db: Database, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Runs `python -m zhangyin identity rekey` against the test database."""
    monkeypatch.setattr(identity_cli, "_database", lambda: db)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_app, ["identity", "rekey", *args])


# --------------------------------------------------------------------------- steps


def _enrol_totp(client: TestClient, customer: Customer) -> str:
    enrolment = client.post("/v1/me/totp", headers=customer.headers)
    assert enrolment.status_code == 201, enrolment.text
    secret: str = enrolment.json()["secret"]
    confirmed = client.post(
        "/v1/me/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=customer.headers
    )
    assert confirmed.status_code == 204, confirmed.text
    return secret


def _enrol_staff(db: Database, username: str) -> str:
    def work(session: Any) -> str:
        staff.create_staff(
            session, username=username, name="钱七", password=PASSWORD, roles=["viewer"]
        )
        return staff.enrol_totp(session, username).secret

    return db.run(work)


def _fresh_totp_steps(db: Database) -> None:
    """Each phase signs in with the current code: the replay guard is not under test here."""

    def work(session: Any) -> None:
        session.execute(update(models.Customer).values(totp_last_step=0))
        session.execute(update(models.Staff).values(totp_last_step=0))

    db.run(work)


def _totp_login(client: TestClient, customer: Customer, secret: str) -> Any:
    """A login from a new device, its second factor the authenticator code."""
    first = client.post(
        "/v1/sessions",
        json={"phone": customer.phone, "password": customer.password, "device_id": device_id()},
    )
    assert first.status_code == 401 and first.json()["code"] == "second_factor_required"
    return client.post(
        "/v1/sessions/second-factor",
        json={"challenge_id": first.json()["challenge_id"], "totp_code": pyotp.TOTP(secret).now()},
    )


def _staff_login(client: TestClient, username: str, secret: str) -> Any:
    body = {"username": username, "password": PASSWORD, "totp_code": pyotp.TOTP(secret).now()}
    return client.post("/v1/console/sessions", json=body)


def _export(client: TestClient, customer: Customer) -> Any:
    customer.tokens = password_login(client, customer)  # signed with the running secret
    return client.get("/v1/me/export", headers=customer.headers)


def _register_with(client: TestClient, db: Database, number: str) -> Any:
    phone = random_phone()
    sent = client.post("/v1/sms-codes", json={"phone": phone, "purpose": "register"})
    assert sent.status_code == 202, sent.text
    body = registration_body(phone, last_code(db, phone), id_number=number)
    return client.post("/v1/customers", json=body, headers=idem())


def _reset_code(client: TestClient, db: Database, customer: Customer) -> str:
    sent = client.post("/v1/sms-codes", json={"phone": customer.phone, "purpose": "reset_password"})
    assert sent.status_code == 202, sent.text
    return last_code(db, customer.phone)


def _reset_password(client: TestClient, customer: Customer, code: str, new_password: str) -> Any:
    reset = client.post(
        "/v1/password-resets",
        json={
            "phone": customer.phone,
            "sms_code": code,
            "id_number": customer.id_number,
            "new_password": new_password,
        },
    )
    if reset.status_code == 204:
        customer.password = new_password
    return reset


def _stored(db: Database) -> dict[str, tuple[str, str, str | None]]:
    """Each customer's (encrypted ID number, ID-number index, encrypted TOTP secret)."""
    rows = db.run(
        lambda s: s.execute(
            select(
                models.Customer.id,
                models.Customer.id_number_enc,
                models.Customer.id_number_index,
                models.Customer.totp_secret_enc,
            )
        ).all()
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _works_everywhere(
    client: TestClient, db: Database, customer: Customer, totp: str, username: str, staff_totp: str
) -> None:
    """The customer's ID number reads, finds and refuses a duplicate; both TOTP logins work."""
    export = _export(client, customer)
    assert export.status_code == 200, export.text
    assert export.json()["customer"]["id_number"] == customer.id_number
    again = _register_with(client, db, customer.id_number)
    assert again.status_code == 409 and again.json()["code"] == "registration_refused"
    _fresh_totp_steps(db)
    login = _totp_login(client, customer, totp)
    assert login.status_code == 201 and login.json()["auth_methods"] == ["pwd", "otp"]
    assert _staff_login(client, username, staff_totp).status_code == 201


# --------------------------------------------------------------------------- specifications


def test_rotation_keeps_personal_data_usable_and_rekey_lets_the_old_key_go(
    restart: Restart, rekey: Callable[..., Any], db: Database
) -> None:
    under_a = restart(SECRET_A)
    customer = register(under_a, db)
    totp = _enrol_totp(under_a, customer)
    username = "rekey" + uuid.uuid4().hex[:8]
    staff_totp = _enrol_staff(db, username)
    code_sent_under_a = _reset_code(under_a, db, customer)
    written_under_a = _stored(db)

    # Restart under B with A as a previous key: nothing is lost.
    mid_rotation = restart(SECRET_B, SECRET_A)
    reset = _reset_password(mid_rotation, customer, code_sent_under_a, "Rotated2026ok")
    assert reset.status_code == 204, reset.text  # code hashed under A, ID indexed under A
    _works_everywhere(mid_rotation, db, customer, totp, username, staff_totp)
    newcomer = register(mid_rotation, db, login=False)
    ring = pii.keyring()
    new_row = db.run(lambda s: s.get(models.Customer, newcomer.customer_id))
    assert new_row.id_number_enc.startswith(f"v{pii.derived_version(SECRET_B)}:")
    assert new_row.id_number_index == ring.blind_index(newcomer.id_number, ID_CONTEXT)

    first = rekey("--batch-size", "1")
    assert first.exit_code == 0, first.output
    assert "customers checked: 2; ID numbers re-encrypted: 1; ID-number indexes recomputed: 1" in (
        first.output
    )
    assert "staff checked: 1; TOTP secrets re-encrypted (customers and staff): 2" in first.output
    again = rekey()
    assert again.exit_code == 0, again.output
    assert "ID numbers re-encrypted: 0; ID-number indexes recomputed: 0" in again.output
    assert "TOTP secrets re-encrypted (customers and staff): 0" in again.output
    enc, index, totp_enc = _stored(db)[customer.customer_id]
    old_enc, old_index, old_totp = written_under_a[customer.customer_id]
    assert enc.startswith(f"v{ring.current_version}:") and enc != old_enc
    assert index == ring.blind_index(customer.id_number, ID_CONTEXT) != old_index
    assert totp_enc is not None and totp_enc.startswith(f"v{ring.current_version}:")
    assert totp_enc != old_totp

    # Restart under B alone: still everything works.
    after = restart(SECRET_B)
    assert pii.keyring().index_keys == ring.index_keys[:1]
    code = _reset_code(after, db, customer)
    assert _reset_password(after, customer, code, "Afterwards2026ok").status_code == 204
    _works_everywhere(after, db, customer, totp, username, staff_totp)


def test_dropping_the_old_key_before_rekey_fails_as_documented(
    restart: Restart, rekey: Callable[..., Any], db: Database
) -> None:
    under_a = restart(SECRET_A)
    customer = register(under_a, db)
    totp = _enrol_totp(under_a, customer)
    written_under_a = _stored(db)

    too_soon = restart(SECRET_B)
    export = _export(too_soon, customer)
    assert export.status_code == 503, export.text
    assert export.json()["code"] == "personal_data_unavailable"
    assert customer.id_number not in export.text and "version" not in export.text
    login = _totp_login(too_soon, customer, totp)
    assert login.status_code == 503 and login.json()["code"] == "personal_data_unavailable"
    code = _reset_code(too_soon, db, customer)
    reset = _reset_password(too_soon, customer, code, "Rotated2026ok")
    assert reset.status_code == 422 and reset.json()["code"] == "code_invalid"  # ID not found

    refused = rekey()
    assert refused.exit_code == 1
    assert "unreadable under every configured key" in refused.output
    assert "keep the previous keys" in refused.output
    assert _stored(db) == written_under_a  # rekey changed nothing it could not read

    # The duplicate check cannot see an index under a key it does not hold: the documented
    # reason never to drop the old key before rekey.
    assert _register_with(too_soon, db, customer.id_number).status_code == 201


class _InterruptedAfter:
    """A database whose unit of work stops (like Ctrl-C) once `batches` units committed."""

    def __init__(self, db: Database, batches: int) -> None:
        self.db, self.left = db, batches

    def run(self, work: Callable[[Any], Any]) -> Any:
        if self.left == 0:
            raise KeyboardInterrupt
        self.left -= 1
        return self.db.run(work)


def test_an_interrupted_rekey_keeps_its_batches_and_the_next_run_finishes(
    restart: Restart, db: Database
) -> None:
    under_a = restart(SECRET_A)
    numbers = [register(under_a, db, login=False).id_number for _ in range(3)]
    restart(SECRET_B, SECRET_A)
    ring = pii.keyring()

    with pytest.raises(KeyboardInterrupt):
        run_rekey(_InterruptedAfter(db, 1), ring, batch_size=2)  # type: ignore[arg-type]
    stored = _stored(db).values()
    moved = [enc for enc, _, _ in stored if enc.startswith(f"v{ring.current_version}:")]
    assert len(moved) == 2  # the first batch committed

    rest = run_rekey(db, ring, batch_size=2)
    assert (rest.customers, rest.id_numbers, rest.id_indexes) == (3, 1, 1)
    assert not rest.unreadable and not rest.conflicts
    indexes = {ring.blind_index(number, ID_CONTEXT) for number in numbers}
    assert {index for _, index, _ in _stored(db).values()} == indexes
