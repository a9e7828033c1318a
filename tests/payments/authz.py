"""Payments' objects for the authorisation matrix (tests/identity/test_authorization_matrix.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from tests.identity.authz import Target, World, not_owned, owned_object
from tests.identity.factories import Customer
from zhangyin.payments import service


@contextmanager
def risk_says(outcome: str) -> Iterator[None]:
    """Make the object under a known risk answer (the real engine may hold a new payee)."""

    def decide(session: Any, caller: Any, payment: Any) -> Any:
        return service.RiskVerdict(None, outcome, [])

    def decide_operation(session: Any, caller: Any, **facts: Any) -> Any:
        return service.RiskVerdict(None, outcome, [])

    originals = (service._risk_decision, service.assess_operation)
    service._risk_decision = decide  # type: ignore[assignment]
    service.assess_operation = decide_operation  # type: ignore[assignment]
    try:
        yield
    finally:
        service._risk_decision, service.assess_operation = originals  # type: ignore[assignment]


@contextmanager
def risk_records_but_allows() -> Iterator[None]:
    """The real engine records a decision (a fraud report labels it); the payment goes ahead."""
    real = service._risk_decision

    def decide(session: Any, caller: Any, payment: Any) -> Any:
        verdict = real(session, caller, payment)
        return service.RiskVerdict(verdict.decision_id, "allow", [])

    service._risk_decision = decide  # type: ignore[assignment]
    try:
        yield
    finally:
        service._risk_decision = real  # type: ignore[assignment]


def _idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _account(world: World, owner: Customer, deposit: str = "5000.00") -> dict[str, object]:
    account: dict[str, object] = world.client.get("/v1/accounts", headers=owner.headers).json()[0]
    made = world.client.post(
        "/v1/dev/deposits",
        json={"account_number": account["number"], "amount": deposit},
        headers={**owner.headers, **_idem()},
    )
    assert made.status_code == 201, made.text
    return account


def _delayed_transfer(world: World, owner: Customer) -> str:
    account = _account(world, owner)
    payee = world.new_customer()
    payee_account = world.client.get("/v1/accounts", headers=payee.headers).json()[0]
    with risk_says("allow"):
        created = world.client.post(
            "/v1/transfers",
            json={
                "from_account_id": account["id"],
                "to_account_number": payee_account["number"],
                "to_name": payee_account["name"],
                "amount": "10.00",
                "arrival": "24h",
            },
            headers={**owner.headers, **_idem()},
        )
    assert created.status_code == 201, created.text
    transfer_id: str = created.json()["id"]
    return transfer_id


@owned_object("/v1/accounts/{account_id}")
@owned_object("/v1/accounts/{account_id}/transactions")
def an_account(world: World, owner: Customer) -> Target:
    return Target({"account_id": _account(world, owner)["id"]})


@owned_object("/v1/transfers/{transfer_id}", "GET")
@owned_object("/v1/transfers/{transfer_id}/cancel", "POST")
def a_delayed_transfer(world: World, owner: Customer) -> Target:
    return Target({"transfer_id": _delayed_transfer(world, owner)})


def _completed_transfer_id(
    world: World, owner: Customer, risk: AbstractContextManager[None]
) -> str:
    """A completed instant transfer from `owner` to a new customer, decided under `risk`."""
    account = _account(world, owner)
    payee = world.new_customer()
    payee_account = world.client.get("/v1/accounts", headers=payee.headers).json()[0]
    with risk:
        created = world.client.post(
            "/v1/transfers",
            json={
                "from_account_id": account["id"],
                "to_account_number": payee_account["number"],
                "to_name": payee_account["name"],
                "amount": "10.00",
                "arrival": "instant",
            },
            headers={**owner.headers, **_idem()},
        )
    assert created.status_code == 201 and created.json()["status"] == "completed", created.text
    transfer_id: str = created.json()["id"]
    return transfer_id


@owned_object("/v1/transfers/{transfer_id}/receipt", "GET")
def a_completed_transfer(world: World, owner: Customer) -> Target:
    return Target({"transfer_id": _completed_transfer_id(world, owner, risk_says("allow"))})


@owned_object("/v1/transfers/{transfer_id}/report-fraud", "POST")
def a_completed_transfer_risk_decided(world: World, owner: Customer) -> Target:
    transfer_id = _completed_transfer_id(world, owner, risk_records_but_allows())
    return Target({"transfer_id": transfer_id}, body={"description": "冒充客服"})


@owned_object("/v1/transfers/{transfer_id}/confirm", "POST")
def a_pending_challenge_transfer(world: World, owner: Customer) -> Target:
    account = _account(world, owner, deposit="20000.00")
    payee = world.new_customer()
    payee_account = world.client.get("/v1/accounts", headers=payee.headers).json()[0]
    with risk_says("allow"):
        created = world.client.post(
            "/v1/transfers",
            json={
                "from_account_id": account["id"],
                "to_account_number": payee_account["number"],
                "to_name": payee_account["name"],
                "amount": "6000.00",
            },
            headers={**owner.headers, **_idem()},
        )
    body = created.json()
    assert body["status"] == "pending_challenge", created.text
    from tests.identity.factories import last_code

    return Target(
        {"transfer_id": body["id"]},
        body={"challenge_id": body["challenge_id"], "sms_code": last_code(world.db, owner.phone)},
    )


@owned_object("/v1/payees/{payee_id}", "DELETE")
def a_payee(world: World, owner: Customer) -> Target:
    payee = world.new_customer()
    payee_account = world.client.get("/v1/accounts", headers=payee.headers).json()[0]
    created = world.client.post(
        "/v1/payees",
        json={"account_number": payee_account["number"], "name": payee_account["name"]},
        headers={**owner.headers, **_idem()},
    )
    assert created.status_code == 201, created.text
    return Target({"payee_id": created.json()["id"]})


@owned_object("/v1/bill-accounts/{saved_id}", "DELETE")
def a_saved_bill_account(world: World, owner: Customer) -> Target:
    saved = world.client.post(
        "/v1/bill-accounts",
        json={"biller_id": "bj-water", "bill_account": "12345678"},
        headers={**owner.headers, **_idem()},
    )
    assert saved.status_code == 201, saved.text
    return Target({"saved_id": saved.json()["id"]})


@owned_object("/v1/cardless-withdrawals/{withdrawal_id}/cancel", "POST")
def a_cardless_code(world: World, owner: Customer) -> Target:
    account = _account(world, owner)
    with risk_says("allow"):
        made = world.client.post(
            "/v1/cardless-withdrawals",
            json={"account_id": account["id"], "amount": "100.00"},
            headers={**owner.headers, **_idem()},
        )
    assert made.status_code == 201, made.text
    return Target({"withdrawal_id": made.json()["id"]})


@owned_object("/v1/scheduled-transfers/{scheduled_id}/cancel", "POST")
def a_scheduled_transfer(world: World, owner: Customer) -> Target:
    from zhangyin.clock import business_date, utcnow

    account = _account(world, owner)
    payee = world.new_customer()
    payee_account = world.client.get("/v1/accounts", headers=payee.headers).json()[0]
    made = world.client.post(
        "/v1/scheduled-transfers",
        json={
            "from_account_id": account["id"],
            "to_account_number": payee_account["number"],
            "to_name": payee_account["name"],
            "amount": "10.00",
            "frequency": "monthly",
            "start_date": business_date(utcnow()).isoformat(),
        },
        headers={**owner.headers, **_idem()},
    )
    assert made.status_code == 201, made.text
    return Target({"scheduled_id": made.json()["id"]})


not_owned(
    "/v1/billers/{biller_id}/bills",
    reason="billers are a shared catalogue: no customer owns one (nothing to refuse)",
)
