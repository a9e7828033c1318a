"""The registry behind the authorisation-matrix test: how to make "an object of customer A".

Every customer route with a path parameter must be registered, or the matrix
test fails and names it. A domain registers its routes in its own
`tests/<domain>/authz.py` (found and imported automatically):

    from tests.identity.authz import Target, World, owned_object

    @owned_object("/v1/transfers/{transfer_id}")                # every method of the path
    def a_transfer(world: World, owner: Customer) -> Target:
        transfer = ...  # make one as `owner` (world.client, owner.headers, world.db)
        return Target({"transfer_id": transfer["id"]})

    @owned_object("/v1/transfers/{transfer_id}/confirm", "POST")
    def a_pending_transfer(world: World, owner: Customer) -> Target:
        ...
        return Target({"transfer_id": ...}, body={"sms_code": "000000", ...})

A path parameter that names a shared object rather than a customer's (a biller,
a wealth product) is declared with `not_owned("/v1/billers/{biller_id}/bills",
reason="billers are the bank's catalogue")`.

The body must be *valid* for the route (so the request reaches the ownership
check instead of stopping at validation). The test then proves that another
customer gets 404 for that object, and that the owner does not.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.identity import factories
from tests.identity.factories import Customer
from tests.identity.soft_authenticator import SoftAuthenticator
from zhangyin.config import Settings
from zhangyin.db import Database


@dataclass
class World:
    """What a maker may use: the API client, the database, the settings."""

    client: TestClient
    db: Database
    settings: Settings

    def new_customer(self) -> Customer:
        return factories.register(self.client, self.db)


@dataclass(frozen=True)
class Target:
    path_params: dict[str, Any]
    body: dict[str, Any] | None = None
    query: dict[str, Any] = field(default_factory=dict)


Maker = Callable[[World, Customer], Target]
_REGISTRY: dict[tuple[str, str], Maker] = {}


def owned_object(path: str, *methods: str) -> Callable[[Maker], Maker]:
    """Register how to make an object owned by a customer for `path` (all methods by default)."""

    def register(maker: Maker) -> Maker:
        for method in methods or ("*",):
            key = (method.upper(), path)
            if key in _REGISTRY:
                raise AssertionError(f"{method} {path} registered twice")
            _REGISTRY[key] = maker
        return maker

    return register


def maker_for(method: str, path: str) -> Maker | None:
    load_registrations()
    return _REGISTRY.get((method.upper(), path)) or _REGISTRY.get(("*", path))


_NOT_OWNED: dict[str, str] = {}


def not_owned(path: str, reason: str) -> None:
    """Declare that the path parameter of `path` names a shared object (a biller, a product),
    not one a customer owns; `reason` says why. Such routes still need a token (tested)."""
    if not reason.strip():
        raise AssertionError("say why the object is not a customer's")
    _NOT_OWNED[path] = reason


def not_owned_reason(path: str) -> str | None:
    load_registrations()
    return _NOT_OWNED.get(path)


_loaded = False


def load_registrations() -> None:
    """Import every tests/<domain>/authz.py so that its registrations exist."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    tests_dir = Path(__file__).resolve().parent.parent
    for module in sorted(tests_dir.glob("*/authz.py")):
        importlib.import_module(f"tests.{module.parent.name}.authz")


# --------------------------------------------------------------------------- identity's objects


@owned_object("/v1/me/devices/{device_id}")
def a_device(world: World, owner: Customer) -> Target:
    devices = world.client.get("/v1/me/devices", headers=owner.headers).json()
    other = [d for d in devices if d["id"] != owner.tokens["device_id"]]
    if not other:  # a second device, so that revoking it leaves the owner's session alive
        factories.login_from_new_device(world.client, world.db, owner)
        devices = world.client.get("/v1/me/devices", headers=owner.headers).json()
        other = [d for d in devices if d["id"] != owner.tokens["device_id"]]
    return Target({"device_id": other[0]["id"]})


@owned_object("/v1/passkeys/{passkey_id}")
def a_passkey(world: World, owner: Customer) -> Target:
    authenticator = SoftAuthenticator()
    options = world.client.post("/v1/passkeys/registration-options", headers=owner.headers).json()
    created = world.client.post(
        "/v1/passkeys",
        json={
            "challenge_id": options["challenge_id"],
            "credential": authenticator.create(options["options"]),
            "name": "iPhone",
        },
        headers=owner.headers,
    )
    assert created.status_code == 201, created.text
    return Target({"passkey_id": created.json()["id"]})
