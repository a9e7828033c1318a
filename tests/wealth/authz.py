"""Wealth's objects for the authorisation matrix (tests/identity/test_authorization_matrix.py)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.identity.authz import Target, World, not_owned, owned_object
from tests.identity.factories import Customer
from tests.wealth.factories import answers_for
from zhangyin.wealth import catalogue

for _path in (
    "/v1/wealth/products/{product_code}",
    "/v1/wealth/products/{product_code}/navs",
    "/v1/wealth/products/{product_code}/acknowledgements",
):
    not_owned(_path, reason="products are the bank's catalogue; the route acts for the caller")


def _idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def buyer(world: World, owner: Customer, codes: list[str], deposit: str = "50000.00") -> int:
    """Shelf installed, owner funded, assessed C5 and has read the documents of `codes`."""
    world.db.run(catalogue.install_demo_products)
    client, headers = world.client, owner.headers
    account: dict[str, Any] = client.get("/v1/accounts", headers=headers).json()[0]
    made = client.post(
        "/v1/dev/deposits",
        json={"account_number": account["number"], "amount": deposit},
        headers={**headers, **_idem()},
    )
    assert made.status_code == 201, made.text
    assessed = client.post(
        "/v1/wealth/risk-assessments",
        json={"answers": answers_for(5)},
        headers={**headers, **_idem()},
    )
    assert assessed.status_code == 201, assessed.text
    for code in codes:
        version = client.get(f"/v1/wealth/products/{code}", headers=headers).json()
        acked = client.post(
            f"/v1/wealth/products/{code}/acknowledgements",
            json={"document_version": version["document_version"]},
            headers={**headers, **_idem()},
        )
        assert acked.status_code == 201, acked.text
    account_id: int = account["id"]
    return account_id


def _order(world: World, owner: Customer, code: str, amount: str) -> dict[str, Any]:
    account_id = buyer(world, owner, [code])
    made = world.client.post(
        "/v1/wealth/orders",
        json={"product_code": code, "amount": amount, "account_id": account_id},
        headers={**owner.headers, **_idem()},
    )
    assert made.status_code == 201, made.text
    order: dict[str, Any] = made.json()
    return order


@owned_object("/v1/wealth/orders/{order_id}")
@owned_object("/v1/wealth/orders/{order_id}/cancel", "POST")
def a_pending_fund_order(world: World, owner: Customer) -> Target:
    return Target({"order_id": _order(world, owner, "F-BOND", "1000.00")["id"]})


@owned_object("/v1/wealth/holdings/{holding_id}")
@owned_object("/v1/wealth/holdings/{holding_id}/redemptions", "POST")
def a_demand_deposit_holding(world: World, owner: Customer) -> Target:
    order = _order(world, owner, "DD-SAVE", "1000.00")
    return Target({"holding_id": order["holding_id"]}, body={"amount": "1.00"})
