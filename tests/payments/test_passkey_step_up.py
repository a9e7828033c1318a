"""A challenged transfer confirmed with a passkey: the reply carries the WebAuthn options, and
the signature approves only the transfer it was made for."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.identity.soft_authenticator import SoftAuthenticator
from tests.payments.factories import Payer, available, balance, customer, idem, transfer
from zhangyin.db import Database


def _enrol(client: TestClient, payer: Payer) -> SoftAuthenticator:
    authenticator = SoftAuthenticator()
    options = client.post("/v1/passkeys/registration-options", headers=payer.headers)
    assert options.status_code == 200, options.text
    created = client.post(
        "/v1/passkeys",
        json={
            "challenge_id": options.json()["challenge_id"],
            "credential": authenticator.create(options.json()["options"]),
            "name": "我的手机",
        },
        headers=payer.headers,
    )
    assert created.status_code == 201, created.text
    return authenticator


def _confirm(client: TestClient, payer: Payer, body: dict[str, Any], assertion: Any) -> Any:
    return client.post(
        f"/v1/transfers/{body['id']}/confirm",
        json={"challenge_id": body["challenge_id"], "passkey_assertion": assertion},
        headers={**payer.headers, **idem()},
    )


def test_challenge_offers_passkey_only_to_a_customer_who_has_one(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db, deposit="20000.00")
    b = customer(client, db, "李四", deposit=None)
    without = transfer(client, a, b, "6000.00").json()
    assert without["status"] == "pending_challenge"
    assert without["challenge_methods"] == ["sms"] and without["challenge_passkey_options"] is None
    _enrol(client, a)
    with_passkey = transfer(client, a, b, "6000.00").json()
    assert with_passkey["challenge_methods"] == ["sms", "passkey"]
    options = with_passkey["challenge_passkey_options"]
    assert options["challenge"] and options["allowCredentials"], options
    # A later read does not hand out a ceremony again.
    read = client.get(f"/v1/transfers/{with_passkey['id']}", headers=a.headers).json()
    assert read["challenge_passkey_options"] is None


def test_passkey_for_one_transfer_cannot_confirm_another(client: TestClient, db: Database) -> None:
    a = customer(client, db, deposit="20000.00")
    b = customer(client, db, "李四", deposit=None)
    authenticator = _enrol(client, a)
    first = transfer(client, a, b, "6000.00").json()
    second = transfer(client, a, b, "7000.00").json()
    signed_first = authenticator.get(first["challenge_passkey_options"])
    # The first transfer's signature, offered for the second (with either challenge id): refused.
    crossed = _confirm(client, a, second, signed_first)
    assert crossed.status_code >= 400 and crossed.status_code < 500, crossed.text
    mixed = _confirm(client, a, {**second, "challenge_id": first["challenge_id"]}, signed_first)
    assert 400 <= mixed.status_code < 500, mixed.text
    assert balance(db, b.account_id) == 0 and available(db, a.account_id) == 2_000_000
    # The signature still approves the transfer it was made for.
    confirmed = _confirm(client, a, first, signed_first)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed"
    assert balance(db, b.account_id) == 600_000
    assert client.get(f"/v1/transfers/{second['id']}", headers=a.headers).json()["status"] == (
        "pending_challenge"
    )


def test_another_customer_cannot_confirm_with_their_passkey(
    client: TestClient, db: Database
) -> None:
    a = customer(client, db, deposit="20000.00")
    b = customer(client, db, "李四", deposit="20000.00")
    _enrol(client, a)
    b_authenticator = _enrol(client, b)
    mine = transfer(client, a, b, "6000.00").json()
    theirs = transfer(client, b, a, "6000.00").json()
    signed_by_b = b_authenticator.get(theirs["challenge_passkey_options"])
    stolen = _confirm(client, b, mine, signed_by_b)
    assert stolen.status_code == 404, stolen.text
    forged = _confirm(client, a, mine, signed_by_b)
    assert 400 <= forged.status_code < 500, forged.text
    assert available(db, a.account_id) == 2_000_000
