"""The wealth API end to end: catalogue, orders, idempotency, holdings, console, bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.identity import factories as identity_factories
from tests.identity.authz import World
from tests.wealth.authz import buyer
from tests.wealth.factories import conserved
from zhangyin.clock import utcnow
from zhangyin.config import Settings
from zhangyin.db import Database
from zhangyin.wealth import api as wealth_api


def _idem() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def _balance(client: TestClient, headers: dict[str, str], account_id: int) -> str:
    body: dict[str, Any] = client.get(f"/v1/accounts/{account_id}", headers=headers).json()
    return str(body["balance"])


@pytest.fixture
def shopper(client: TestClient, db: Database) -> tuple[dict[str, str], int]:
    owner = identity_factories.register(client, db)
    account_id = buyer(
        World(client, db, Settings()), owner, ["F-BOND", "TD-3M", "DD-SAVE"], "50000.00"
    )
    return owner.headers, account_id


def test_catalogue_filters_and_problem_for_an_unknown_product(
    client: TestClient, shopper: tuple[dict[str, str], int]
) -> None:
    headers, _ = shopper
    products = client.get("/v1/wealth/products", headers=headers).json()
    codes = {p["code"] for p in products}
    assert {"TD-3M", "F-BOND", "F-TECH", "P-TDF2045", "WM-180", "DD-SAVE"} <= codes
    assert {p["risk_level"] for p in products} == {"R1", "R2", "R3", "R4", "R5"}
    funds = client.get("/v1/wealth/products?kind=fund", headers=headers).json()
    assert funds and all(p["kind"] == "fund" for p in funds)
    pension = client.get("/v1/wealth/products?pension=true", headers=headers).json()
    assert {p["code"] for p in pension} == {"P-TDF2045", "P-BOND", "PD-1Y"}
    td = client.get("/v1/wealth/products/TD-12M", headers=headers).json()
    assert (td["rate_percent"], td["early_withdrawal_rate_percent"], td["term_days"]) == (
        "0.95",
        "0.05",
        360,
    )
    assert len(td["documents"]) == 3 and td["needs_risk_assessment"] is False
    missing = client.get("/v1/wealth/products/NOPE", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "wealth_product_not_found"
    navs = client.get("/v1/wealth/products/F-BOND/navs", headers=headers)
    assert navs.status_code == 200 and navs.json()["product_code"] == "F-BOND"
    questionnaire = client.get("/v1/wealth/risk-questionnaire", headers=headers).json()
    assert len(questionnaire["questions"]) == 8
    assert client.get("/v1/wealth/risk-assessment", headers=headers).json()["level"] == "C5"


def test_subscribe_replay_cancel_and_holdings(
    client: TestClient,
    db: Database,
    shopper: tuple[dict[str, str], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One moment for the whole flow: the order can be cancelled until its trade date's
    # 15:00 cut-off (07:00 UTC), which a running clock could pass between order and cancel.
    frozen = utcnow()
    monkeypatch.setattr(wealth_api, "utcnow", lambda: frozen)
    headers, account_id = shopper
    body = {"product_code": "F-BOND", "amount": "1000.00", "account_id": account_id}
    key = _idem()
    first = client.post("/v1/wealth/orders", json=body, headers={**headers, **key})
    assert first.status_code == 201, first.text
    order = first.json()
    assert (order["status"], order["side"], order["cancellable"]) == ("pending", "subscribe", True)
    replay = client.post("/v1/wealth/orders", json=body, headers={**headers, **key})
    assert replay.json()["id"] == order["id"]
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert _balance(client, headers, account_id) == "49000.00"
    assert [o["id"] for o in client.get("/v1/wealth/orders", headers=headers).json()] == [
        order["id"]
    ]
    holdings = client.get("/v1/wealth/holdings", headers=headers).json()
    assert holdings["in_transit"] == "1000.00" and holdings["holdings"] == []

    cancelled = client.post(
        f"/v1/wealth/orders/{order['id']}/cancel", headers={**headers, **_idem()}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = client.post(f"/v1/wealth/orders/{order['id']}/cancel", headers={**headers, **_idem()})
    assert again.status_code == 409 and again.json()["code"] == "order_not_cancellable"
    assert _balance(client, headers, account_id) == "50000.00"

    deposit = client.post(
        "/v1/wealth/orders",
        json={"product_code": "TD-3M", "amount": "20000.00", "account_id": account_id},
        headers={**headers, **_idem()},
    ).json()
    assert deposit["status"] == "confirmed"
    holdings = client.get("/v1/wealth/holdings", headers=headers).json()
    assert [h["product_code"] for h in holdings["holdings"]] == ["TD-3M"]
    assert holdings["total_market_value"] == "20000.00"
    detail = client.get(f"/v1/wealth/holdings/{deposit['holding_id']}", headers=headers).json()
    assert detail["holding"]["principal"] == "20000.00"
    assert [o["id"] for o in detail["orders"]] == [deposit["id"]]
    early = client.post(
        f"/v1/wealth/holdings/{deposit['holding_id']}/redemptions",
        json={},
        headers={**headers, **_idem()},
    )
    assert early.status_code == 201, early.text
    assert early.json()["amount"] == "20000.00"  # withdrawn the same day: no interest
    assert _balance(client, headers, account_id) == "50000.00"
    conserved(db)


def test_a_suspended_product_is_not_sold_and_console_manages_the_shelf(
    client: TestClient, db: Database, shopper: tuple[dict[str, str], int]
) -> None:
    headers, account_id = shopper
    staff = identity_factories.staff_headers(client, db, "operator")
    viewer = identity_factories.staff_headers(client, db, "viewer")
    listed = client.get("/v1/console/wealth/products", headers=viewer)
    assert listed.status_code == 200 and len(listed.json()) >= 17
    forbidden = client.put(
        "/v1/console/wealth/products/F-BOND/status", json={"status": "suspended"}, headers=viewer
    )
    assert forbidden.status_code == 403
    suspended = client.put(
        "/v1/console/wealth/products/F-BOND/status", json={"status": "suspended"}, headers=staff
    )
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    refused = client.post(
        "/v1/wealth/orders",
        json={"product_code": "F-BOND", "amount": "1000.00", "account_id": account_id},
        headers={**headers, **_idem()},
    )
    assert refused.status_code == 409 and refused.json()["code"] == "product_not_on_sale"
    created = client.post(
        "/v1/console/wealth/products",
        json={
            "code": "TD-2M",
            "name_zh": "整存整取 2 个月",
            "name_en": "Term deposit 2 months",
            "kind": "term_deposit",
            "asset_class": "deposit",
            "risk_level": 1,
            "min_amount": "50.00",
            "rate_bp": 60,
            "early_rate_bp": 5,
            "term_days": 60,
        },
        headers={**staff, **_idem()},
    )
    assert created.status_code == 201, created.text
    bad_term = client.post(
        "/v1/console/wealth/products",
        json={
            "code": "TD-BAD",
            "name_zh": "坏",
            "name_en": "Bad",
            "kind": "term_deposit",
            "asset_class": "deposit",
            "risk_level": 1,
            "min_amount": "50.00",
            "rate_bp": 60,
            "term_days": 45,
        },
        headers={**staff, **_idem()},
    )
    assert bad_term.status_code == 422 and bad_term.json()["code"] == "invalid_product"
    nav = client.post(
        "/v1/console/wealth/products/F-BAL/navs",
        json={"nav_date": "2026-03-02", "nav": "1.0234"},
        headers=staff,
    )
    assert nav.status_code == 201 and nav.json()["nav"] == "1.0234"
    batch = client.post("/v1/console/wealth/batch", headers=staff)
    assert batch.status_code == 200
    # new documents: the customer must read them again before buying
    documents = client.put(
        "/v1/console/wealth/products/TD-3M/documents",
        json={"document_version": "v2"},
        headers=staff,
    )
    assert documents.status_code == 200 and documents.json()["document_version"] == "v2"
    unread = client.post(
        "/v1/wealth/orders",
        json={"product_code": "TD-3M", "amount": "1000.00", "account_id": account_id},
        headers={**headers, **_idem()},
    )
    assert unread.status_code == 409 and unread.json()["code"] == "disclosure_required"
    refusals = client.get("/v1/console/wealth/suitability-refusals", headers=viewer)
    assert refusals.status_code == 200
    assert _balance(client, headers, account_id) == "50000.00"


def test_model_portfolios_of_an_empty_shelf_are_an_empty_list(
    client: TestClient, db: Database
) -> None:
    owner = identity_factories.register(client, db)
    response = client.get("/v1/wealth/model-portfolios", headers=owner.headers)
    assert response.status_code == 200 and response.json() == []


def test_model_portfolios_endpoint(client: TestClient, shopper: tuple[dict[str, str], int]) -> None:
    headers, _ = shopper
    body = client.get("/v1/wealth/model-portfolios", headers=headers).json()
    assert [p["risk_level"] for p in body] == ["C1", "C2", "C3", "C4", "C5"]
    assert all(p["disclaimer_en"] for p in body)


BAD_ORDERS: list[tuple[dict[str, Any], int]] = [
    ({}, 422),
    ({"product_code": "F-BOND", "amount": "abc"}, 422),
    ({"product_code": "F-BOND", "amount": "-1"}, 422),
    ({"product_code": "F-BOND", "amount": "0"}, 422),
    ({"product_code": "F-BOND", "amount": "0.001"}, 422),
    ({"product_code": "F-BOND", "amount": "1e5"}, 422),
    ({"product_code": "F-BOND", "amount": 1000}, 422),
    ({"product_code": "F-BOND", "amount": "9" * 24}, 422),
    ({"product_code": "f-bond", "amount": "1000.00"}, 422),
    ({"product_code": "F-BOND", "amount": "1000.00", "account_id": "1"}, 422),
    ({"product_code": "F-BOND", "amount": "1000.00", "from_pension": "true"}, 422),
    ({"product_code": "F-BOND", "amount": "1000.00", "currency": "XYZ"}, 422),
    ({"product_code": "F-BOND", "amount": "1000.00", "currency": "usd"}, 422),
    ({"product_code": "F-BOND", "amount": "1000.00", "surprise": 1}, 422),
    ({"product_code": "NOPE", "amount": "1000.00"}, 404),
    ({"product_code": "F-BOND", "amount": "9.99"}, 422),  # below the minimum
    ({"product_code": "F-BOND", "amount": "1000.00", "currency": "USD"}, 422),
    ({"product_code": "F-BOND", "amount": "1000.00"}, 404),  # no account given
    ({"product_code": "F-BOND", "amount": "1000.00", "account_id": 999_999}, 404),
    ({"product_code": "F-BOND", "amount": "49999.00"}, 422),  # more than the balance
    ({"product_code": "F-BOND", "amount": "99999.00"}, 401),  # large: second factor first
    ({"product_code": "F-BOND", "amount": "1000.00", "from_pension": True}, 409),
    ({"product_code": "P-BOND", "amount": "1000.00", "from_pension": True}, 409),
]


def test_bad_input_on_every_endpoint_is_a_problem_and_buys_nothing(
    client: TestClient, db: Database, shopper: tuple[dict[str, str], int]
) -> None:
    headers, account_id = shopper
    deposit = client.post(
        "/v1/wealth/orders",
        json={"product_code": "DD-SAVE", "amount": "100.00", "account_id": account_id},
        headers={**headers, **_idem()},
    ).json()
    holding = deposit["holding_id"]
    before = _balance(client, headers, account_id)

    def expect(response: Response, status: int) -> None:
        assert response.status_code == status, (response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"]

    for body, status in BAD_ORDERS:
        # every body pays from the customer's own account unless it names another (or none)
        if "account_id" not in body and status != 404:
            body = {**body, "account_id": account_id}
        expect(client.post("/v1/wealth/orders", json=body, headers={**headers, **_idem()}), status)
    # no Idempotency-Key, not JSON, not an object
    good = {"product_code": "F-BOND", "amount": "1000.00", "account_id": account_id}
    expect(client.post("/v1/wealth/orders", json=good, headers=headers), 400)
    expect(
        client.post(
            "/v1/wealth/orders",
            content=b"{not json",
            headers={**headers, **_idem(), "Content-Type": "application/json"},
        ),
        400,
    )
    expect(client.post("/v1/wealth/orders", json=[1], headers={**headers, **_idem()}), 422)
    redemption = f"/v1/wealth/holdings/{holding}/redemptions"
    wrong: list[tuple[dict[str, Any], int]] = [
        ({"amount": "abc"}, 422),
        ({"amount": "100.01"}, 422),
        ({"units": "-1"}, 422),
        ({"amount": "1.00", "x": 1}, 422),
    ]
    for body, status in wrong:
        expect(client.post(redemption, json=body, headers={**headers, **_idem()}), status)
    expect(
        client.post(
            "/v1/wealth/holdings/not-a-uuid/redemptions", json={}, headers={**headers, **_idem()}
        ),
        422,
    )
    expect(
        client.post(
            f"/v1/wealth/holdings/{uuid.uuid4()}/redemptions",
            json={},
            headers={**headers, **_idem()},
        ),
        404,
    )
    expect(
        client.post(f"/v1/wealth/orders/{uuid.uuid4()}/cancel", headers={**headers, **_idem()}),
        404,
    )
    expect(client.get("/v1/wealth/orders/x", headers=headers), 422)
    expect(client.get("/v1/wealth/products/bad%20code", headers=headers), 422)
    expect(client.get("/v1/wealth/products/F-BOND/navs?days=0", headers=headers), 422)
    for answers in ({"answers": {"age": "A"}}, {"answers": "A"}, {"answers": {"age": "Z"}}, {}):
        expect(
            client.post(
                "/v1/wealth/risk-assessments", json=answers, headers={**headers, **_idem()}
            ),
            422,
        )
    for body, status in [({"document_version": "v0"}, 409), ({"document_version": "v 1"}, 422)]:
        expect(
            client.post(
                "/v1/wealth/products/F-BOND/acknowledgements",
                json=body,
                headers={**headers, **_idem()},
            ),
            status,
        )
    expect(
        client.post(
            "/v1/wealth/pension/contributions",
            json={"from_account_id": account_id, "amount": "100.00"},
            headers={**headers, **_idem()},
        ),
        409,
    )
    expect(client.get("/v1/wealth/pension/tax-statement?year=1900", headers=headers), 422)
    # the assessment is still C5, nothing was bought, no money moved
    assert client.get("/v1/wealth/risk-assessment", headers=headers).json()["level"] == "C5"
    assert _balance(client, headers, account_id) == before
    orders = client.get("/v1/wealth/orders", headers=headers).json()
    assert [o["id"] for o in orders] == [deposit["id"]]
    conserved(db)


def test_a_large_purchase_needs_a_second_factor_bound_to_it(
    client: TestClient, db: Database
) -> None:
    owner = identity_factories.register(client, db)
    account_id = buyer(World(client, db, Settings()), owner, ["TD-12M"], "80000.00")
    headers = owner.headers
    body = {"product_code": "TD-12M", "amount": "60000.00", "account_id": account_id}
    key = _idem()
    first = client.post("/v1/wealth/orders", json=body, headers={**headers, **key})
    assert first.status_code == 401, first.text
    problem = first.json()
    assert problem["code"] == "step_up_required" and "sms" in problem["methods"]
    assert _balance(client, headers, account_id) == "80000.00"
    code = identity_factories.last_code(db, owner.phone)
    # the proof approves this purchase only: another amount with it is refused
    other = client.post(
        "/v1/wealth/orders",
        json={
            **body,
            "amount": "70000.00",
            "challenge_id": problem["challenge_id"],
            "sms_code": code,
        },
        headers={**headers, **_idem()},
    )
    assert other.status_code in (401, 403, 422), other.text
    assert other.json()["code"] == "step_up_invalid"
    assert _balance(client, headers, account_id) == "80000.00"
    confirmed = client.post(
        "/v1/wealth/orders",
        json={**body, "challenge_id": problem["challenge_id"], "sms_code": code},
        headers={**headers, **key},
    )
    assert confirmed.status_code == 201, confirmed.text
    assert _balance(client, headers, account_id) == "20000.00"
    # the challenge is used up: the same proof with a new key buys nothing more
    again = client.post(
        "/v1/wealth/orders",
        json={**body, "challenge_id": problem["challenge_id"], "sms_code": code},
        headers={**headers, **_idem()},
    )
    assert again.status_code >= 400 and again.json()["code"] == "step_up_invalid"
    assert _balance(client, headers, account_id) == "20000.00"
    conserved(db)
