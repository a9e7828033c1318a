"""The ledger's REST API: shapes, idempotency, authentication and bad input."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.ledger.factories import assert_books_balance, balance, customer_account
from zhangyin.db import Database
from zhangyin.ledger import service as ledger


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def post(client: TestClient, path: str, body: Any, headers: dict[str, str], **extra: str) -> Any:
    return client.post(path, json=body, headers={**headers, **key(), **extra})


def transfers_count(db: Database) -> int:
    from sqlalchemy import func, select

    from zhangyin.ledger.models import LedgerTransfer

    return db.run(lambda s: s.scalar(select(func.count()).select_from(LedgerTransfer)))


def test_open_account_then_transfer_and_read_it_back(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    opened = post(
        client,
        "/v1/ledger/accounts",
        {"kind": "customer_current", "name": "张三", "owner_id": "c-1"},
        service_headers,
    )
    assert opened.status_code == 201, opened.text
    account = opened.json()
    assert (
        account["balance"] == "0.00"
        and account["currency"] == "CNY"
        and len(account["number"]) == 19
    )
    payer = customer_account(db, 1_000_000)
    sent = post(
        client,
        "/v1/ledger/transfers",
        {
            "debit_account_id": payer.id,
            "credit_account_id": account["id"],
            "amount": "1234.50",
            "memo": "午饭",
        },
        service_headers,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "posted" and sent.json()["amount"] == "1234.50"
    got = client.get(f"/v1/ledger/accounts/{account['id']}", headers=service_headers).json()
    assert got["balance"] == "1234.50" and got["available_balance"] == "1234.50"
    statement = client.get(
        f"/v1/ledger/accounts/{account['id']}/statement", headers=service_headers
    ).json()
    assert (
        statement["lines"][0]["direction"] == "in"
        and statement["lines"][0]["balance_after"] == "1234.50"
    )
    by_number = client.get(
        "/v1/ledger/accounts", params={"number": account["number"]}, headers=service_headers
    )
    assert by_number.json()[0]["id"] == account["id"]


def test_hold_then_partial_post_over_http(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    held = post(
        client,
        "/v1/ledger/transfers",
        {"debit_account_id": a.id, "credit_account_id": b.id, "amount": "60.00", "pending": True},
        service_headers,
    ).json()
    assert held["status"] == "pending" and held["expires_at"] is not None
    posted = post(
        client, f"/v1/ledger/transfers/{held['id']}/post", {"amount": "25.00"}, service_headers
    )
    assert posted.status_code == 200 and posted.json()["posted_amount"] == "25.00"
    again = post(client, f"/v1/ledger/transfers/{held['id']}/void", {}, service_headers)
    assert again.status_code == 409 and again.json()["code"] == "transfer_not_pending"
    assert (balance(db, a.id), balance(db, b.id)) == (7_500, 2_500)


def test_retry_with_same_key_posts_once_and_returns_the_first_answer(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    body = {"debit_account_id": a.id, "credit_account_id": b.id, "amount": "10.00"}
    headers = {**service_headers, "Idempotency-Key": "retry-1"}
    first = client.post("/v1/ledger/transfers", json=body, headers=headers)
    second = client.post("/v1/ledger/transfers", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert balance(db, b.id) == 1_000
    different = client.post(
        "/v1/ledger/transfers", json={**body, "amount": "11.00"}, headers=headers
    )
    assert different.status_code == 409 and different.json()["code"] == "idempotency_key_reused"
    assert balance(db, b.id) == 1_000


def test_a_refusal_is_replayed_for_the_same_key_even_after_funds_arrive(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 100)
    b = customer_account(db)
    body = {"debit_account_id": a.id, "credit_account_id": b.id, "amount": "5.00"}
    headers = {**service_headers, "Idempotency-Key": "refused-1"}
    first = client.post("/v1/ledger/transfers", json=body, headers=headers)
    assert first.status_code == 422 and first.json()["code"] == "insufficient_funds"
    cash = ledger.bank_account
    db.run(
        lambda s: ledger.transfer(
            s,
            ledger.TransferOrder(
                cash(s, ledger.AccountKind.BANK_CASH).id, a.id, ledger.Money(10_000, "CNY")
            ),
        )
    )
    second = client.post("/v1/ledger/transfers", json=body, headers=headers)
    assert second.status_code == 422 and second.json()["code"] == "insufficient_funds"
    assert balance(db, b.id) == 0


def test_linked_batch_over_http(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    items = [
        {"debit_account_id": a.id, "credit_account_id": b.id, "amount": "6.00"},
        {"debit_account_id": a.id, "credit_account_id": b.id, "amount": "6.00"},
    ]
    rejected = post(
        client, "/v1/ledger/transfers/batch", {"linked": True, "transfers": items}, service_headers
    )
    assert rejected.status_code == 422 and rejected.json()["code"] == "batch_rejected"
    assert rejected.json()["index"] == 1
    independent = post(
        client, "/v1/ledger/transfers/batch", {"linked": False, "transfers": items}, service_headers
    )
    assert independent.status_code == 201
    assert (independent.json()["posted"], independent.json()["rejected"]) == (1, 1)
    assert balance(db, b.id) == 600


def test_errors_speak_the_callers_language(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 100)
    b = customer_account(db)
    body = {"debit_account_id": a.id, "credit_account_id": b.id, "amount": "5.00"}
    zh = post(client, "/v1/ledger/transfers", body, service_headers)
    en = post(
        client,
        "/v1/ledger/transfers",
        body,
        service_headers,
        **{"Accept-Language": "en-US,en;q=0.9"},
    )
    assert zh.headers["content-type"].startswith("application/problem+json")
    assert "可用余额不足" in zh.json()["detail"]
    assert en.json()["detail"].startswith(
        "Insufficient available balance (1.00 available, 5.00 requested)"
    )
    assert zh.json()["code"] == en.json()["code"] == "insufficient_funds"
    assert zh.json()["status"] == 422 and zh.json()["instance"] == "/v1/ledger/transfers"


def test_ledger_api_needs_the_service_token(client: TestClient) -> None:
    assert client.get("/v1/ledger/trial-balance").status_code == 401
    wrong = client.get("/v1/ledger/trial-balance", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "forbidden"


def _bad_transfers(a: int, b: int, frozen: int, usd: int) -> list[tuple[str, Any, int, str]]:
    ok = {"debit_account_id": a, "credit_account_id": b, "amount": "1.00"}
    return [
        ("negative", {**ok, "amount": "-1.00"}, 422, "validation_error"),
        ("zero", {**ok, "amount": "0.00"}, 422, "amount_not_positive"),
        ("fractional fen", {**ok, "amount": "0.001"}, 422, "amount_precision"),
        ("absurdly large", {**ok, "amount": "99999999999999999"}, 422, "amount_too_large"),
        ("not a number", {**ok, "amount": "ten"}, 422, "validation_error"),
        ("number not string", {**ok, "amount": 1.0}, 422, "validation_error"),
        ("id as string", {**ok, "debit_account_id": str(a)}, 422, "validation_error"),
        ("unknown currency", {**ok, "currency": "XYZ"}, 422, "unknown_currency"),
        ("lowercase currency", {**ok, "currency": "cny"}, 422, "validation_error"),
        ("mismatched currency", {**ok, "credit_account_id": usd}, 422, "currency_mismatch"),
        ("same account", {**ok, "credit_account_id": a}, 422, "same_account"),
        ("unknown account", {**ok, "credit_account_id": 987654321}, 404, "account_not_found"),
        ("frozen account", {**ok, "debit_account_id": frozen}, 422, "account_frozen"),
        ("over-long memo", {**ok, "memo": "x" * 141}, 422, "validation_error"),
        ("control characters", {**ok, "memo": "a\u0000b"}, 422, "validation_error"),
        ("unknown field", {**ok, "amout": "1.00"}, 422, "validation_error"),
        ("missing field", {"debit_account_id": a, "amount": "1.00"}, 422, "validation_error"),
        ("array body", [ok], 422, "validation_error"),
    ]


def test_bad_transfers_are_4xx_problems_and_post_nothing(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 10_000)
    b = customer_account(db)
    frozen = customer_account(db, 10_000)
    usd = customer_account(db, currency="USD")
    db.run(lambda s: ledger.set_account_status(s, frozen.id, ledger.AccountStatus.FROZEN))
    before = transfers_count(db)
    for name, body, status, code in _bad_transfers(a.id, b.id, frozen.id, usd.id):
        response = post(client, "/v1/ledger/transfers", body, service_headers)
        assert (response.status_code, response.json().get("code")) == (status, code), name
        assert response.headers["content-type"].startswith("application/problem+json"), name
    assert transfers_count(db) == before
    assert (balance(db, a.id), balance(db, b.id)) == (10_000, 0)
    assert_books_balance(db)


def test_malformed_json_wrong_type_and_missing_key_are_clear_4xx(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    before = transfers_count(db)
    malformed = client.post(
        "/v1/ledger/transfers",
        content=b'{"amount": "1.00",',
        headers={**service_headers, **key(), "Content-Type": "application/json"},
    )
    assert malformed.status_code == 400 and malformed.json()["code"] == "malformed_body"
    wrong_type = client.post(
        "/v1/ledger/transfers",
        content=b"amount=1",
        headers={**service_headers, **key(), "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415 and wrong_type.json()["code"] == "unsupported_media_type"
    no_key = client.post("/v1/ledger/transfers", json={}, headers=service_headers)
    assert no_key.status_code in (400, 422)
    bad_key = client.post(
        "/v1/ledger/transfers",
        json={"debit_account_id": 1, "credit_account_id": 2, "amount": "1.00"},
        headers={**service_headers, "Idempotency-Key": "x" * 200},
    )
    assert bad_key.status_code == 400 and bad_key.json()["code"] == "idempotency_key_invalid"
    assert transfers_count(db) == before


def test_missing_idempotency_key_is_refused(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 1_000)
    b = customer_account(db)
    response = client.post(
        "/v1/ledger/transfers",
        json={"debit_account_id": a.id, "credit_account_id": b.id, "amount": "1.00"},
        headers=service_headers,
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "idempotency_key_missing"
    assert balance(db, b.id) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/v1/ledger/accounts/abc",
        "/v1/ledger/accounts/1/statement?cursor=abc",
        "/v1/ledger/accounts/1/statement?limit=0",
        "/v1/ledger/transfers/not-a-uuid!",
        "/v1/ledger/trial-balance?as_of=2026-13-40",
        "/v1/ledger/accounts?number=123",
    ],
)
def test_bad_reads_are_4xx(
    client: TestClient, service_headers: dict[str, str], path: str, db: Database
) -> None:
    customer_account(db, 100)
    response = client.get(path, headers=service_headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_trial_balance_and_reconciliation_endpoints(
    client: TestClient, service_headers: dict[str, str], db: Database
) -> None:
    a = customer_account(db, 10_000)
    customer_account(db, 5_000)
    tb = client.get("/v1/ledger/trial-balance", headers=service_headers).json()
    assert tb["balanced"] is True
    assert tb["totals"] == [{"currency": "CNY", "debits": "150.00", "credits": "150.00"}]
    rec = client.get("/v1/ledger/reconciliation", headers=service_headers).json()
    assert rec == {"balanced": True, "differences": []}
    history = client.get(
        f"/v1/ledger/accounts/{a.id}/balance-history", headers=service_headers
    ).json()
    assert len(history["days"]) == 30 and history["days"][-1]["balance"] == "100.00"
