"""Customer 360 search by a masked phone (138****5678): masked hits only, audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.console.factories import staff
from tests.identity.factories import register
from zhangyin.db import Database
from zhangyin.identity import service as identity


def _masked(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def test_masked_pattern_finds_every_customer_it_fits_and_reveals_nothing(
    client: TestClient, db: Database
) -> None:
    first = register(client, db, phone="13812345678")
    second = register(client, db, phone="13899995678")
    other_prefix = register(client, db, phone="13912345678")
    other_suffix = register(client, db, phone="13812345679")
    viewer = staff(client, db, "viewer")

    found = client.get(
        "/v1/console/customer-search", params={"q": "138****5678"}, headers=viewer.headers
    )
    assert found.status_code == 200, found.text
    assert {h["id"] for h in found.json()} == {first.customer_id, second.customer_id}
    assert all(h["phone_masked"] == "138****5678" for h in found.json())
    for customer in (first, second, other_prefix, other_suffix):
        assert customer.phone not in found.text
        assert customer.id_number not in found.text

    [entry] = [
        e
        for e in db.run(lambda s: identity.audit_log(s, limit=50))
        if e.action == "customer.search"
    ]
    assert entry.details == {"by": "masked_phone", "hits": 2}
    assert entry.staff_id == viewer.staff_id


def test_full_phone_and_account_number_still_work(client: TestClient, db: Database) -> None:
    customer = register(client, db)
    viewer = staff(client, db, "viewer")
    by_phone = client.get(
        "/v1/console/customer-search", params={"q": customer.phone}, headers=viewer.headers
    )
    assert [h["id"] for h in by_phone.json()] == [customer.customer_id]
    assert by_phone.json()[0]["phone_masked"] == _masked(customer.phone)
    by_account = client.get(
        "/v1/console/customer-search",
        params={"q": customer.account["number"]},
        headers=viewer.headers,
    )
    assert [h["id"] for h in by_account.json()] == [customer.customer_id]


@pytest.mark.parametrize(
    "term",
    [
        "138***5678",
        "138*****5678",
        "138****567",
        "12****5678",
        "238****5678",
        "138____5678",
        "138%%%%5678",
        "1**********",
        "***********",
        "138****56a8",
    ],
)
def test_bad_patterns_are_refused(client: TestClient, db: Database, term: str) -> None:
    register(client, db, phone="13812345678")
    viewer = staff(client, db, "viewer")
    refused = client.get("/v1/console/customer-search", params={"q": term}, headers=viewer.headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "search_term_invalid"


def test_masked_search_needs_a_console_permission(client: TestClient, db: Database) -> None:
    customer = register(client, db, phone="13812345678")
    refused = client.get(
        "/v1/console/customer-search", params={"q": "138****5678"}, headers=customer.headers
    )
    assert refused.status_code == 403
    assert customer.phone not in refused.text
