"""A challenged transfer confirmed with a passkey (fingerprint / face) in the app.

Chromium's virtual platform authenticator stands in for the phone's fingerprint reader; the
app and the server meet as `localhost` (WebAuthn's relying party must be a domain).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import (
    add_passkey_in_app,
    balance,
    localhost_phone,
    receive_qr_in_app,
    register_in_app,
    scan_image_in_app,
    start_transfer,
    transfer_status,
    virtual_authenticator,
)
from tests.e2e.support import (
    ApiCustomer,
    age_customer,
    api_customer,
    deposit,
    last_sms_id,
    latest_code,
)


@pytest.fixture
def phone(browser: Any, server: str) -> Iterator[Callable[[], Any]]:
    contexts: list[Any] = []

    def make() -> Any:
        contexts.append(localhost_phone(browser, server))
        return contexts[-1].new_page()

    yield make
    for context in contexts:
        context.close()


def _payer_with_passkey(
    server: str, server_database_url: str, phone: Callable[[], Any], funds: str
) -> tuple[Any, Any, str, dict[str, str]]:
    """A funded, established customer whose phone holds a passkey the bank knows."""
    page = phone()
    cdp, authenticator = virtual_authenticator(page)
    payer = register_in_app(page, server)
    add_passkey_in_app(page)
    deposit(server, api_customer(server), payer["account_number"], funds)
    # An established payer, so the risk engine asks for the second factor rather than a hold.
    age_customer(server_database_url, page.evaluate("fetch('/v1/me').then((r) => r.json())")["id"])
    return page, cdp, authenticator, payer


def _submit(page: Any) -> tuple[Any, dict[str, Any]]:
    """Submit the reviewed transfer; the server challenges it. The sheet, and the reply."""
    with page.expect_response(
        lambda r: r.url.endswith("/v1/transfers") and r.request.method == "POST"
    ) as created:
        page.get_by_test_id("submit-transfer").click()
    reply: dict[str, Any] = created.value.json()
    assert reply["status"] == "pending_challenge", reply
    assert reply["challenge_methods"] == ["sms", "passkey"], reply
    sheet = page.get_by_test_id("second-factor-sheet")
    sheet.wait_for()
    return sheet, reply


def _balance_of(server: str, customer: ApiCustomer) -> str:
    """A customer's balance as the server reports it to them (over the API)."""
    account = httpx.get(
        f"{server}/v1/accounts/{customer.account_id}",
        headers={"Authorization": f"Bearer {customer.token}"},
    ).json()
    amount: str = account["balance"]
    return amount


def _status_of(page: Any, transfer_id: str) -> str:
    status: str = page.evaluate(
        f"fetch('/v1/transfers/{transfer_id}').then((r) => r.json()).then((t) => t.status)"
    )
    return status


def test_a_challenged_transfer_is_confirmed_with_the_passkey(
    server: str, server_database_url: str, phone: Callable[[], Any]
) -> None:
    page, cdp, authenticator, _payer = _payer_with_passkey(
        server, server_database_url, phone, "9000.00"
    )
    payee = api_customer(server)
    # Elder mode: the passkey button is a main action, at least 60 px tall.
    page.goto("/app/settings")
    with page.expect_response(lambda r: r.url.endswith("/v1/me") and r.request.method == "PATCH"):
        page.get_by_test_id("elder-switch").click()
    page.locator("html.elder").wait_for(state="attached")
    start_transfer(page, name=payee.name, account=payee.account_number, amount="6000.00")
    sheet, reply = _submit(page)

    # What the sheet shows is the server's challenge: the payee and the amount it signs for.
    assert payee.name in sheet.get_by_test_id("challenge-payee").inner_text()
    assert "6,000.00" in sheet.get_by_test_id("challenge-amount").inner_text()
    button = sheet.get_by_test_id("confirm-passkey")
    assert button.inner_text().strip() == "使用指纹/面容 (通行密钥)"
    # The laid-out CSS height: a bounding box at a fractional y reads 59.9999 for 60 px.
    height = float(button.evaluate("(el) => getComputedStyle(el).height").removesuffix("px"))
    assert height >= 60, height
    assert sheet.get_by_test_id("use-sms").is_visible()  # SMS stays the other choice

    signed_before = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    with page.expect_response(
        lambda r: r.url.endswith(f"/v1/transfers/{reply['id']}/confirm")
    ) as confirmed:
        button.click()
    sent = confirmed.value.request.post_data_json
    assert set(sent) == {"challenge_id", "passkey_assertion"}, sent
    assert sent["challenge_id"] == reply["challenge_id"]
    assert transfer_status(page) == "completed"

    assert balance(page) == "3000.00"
    accounts = page.evaluate("fetch('/v1/accounts').then((r) => r.json())")
    assert accounts[0]["available_balance"] == "3000.00"
    signed_after = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert (
        signed_after["credentials"][0]["signCount"] > signed_before["credentials"][0]["signCount"]
    )
    # The payee's account received it.
    assert _balance_of(server, payee) == "6000.00"


def test_a_cancelled_passkey_falls_back_to_the_sms_code(
    server: str, server_database_url: str, phone: Callable[[], Any]
) -> None:
    page, cdp, authenticator, payer = _payer_with_passkey(
        server, server_database_url, phone, "9000.00"
    )
    payee = api_customer(server)
    before = last_sms_id(server, payer["phone"])
    start_transfer(page, name=payee.name, account=payee.account_number, amount="6000.00")
    sheet, reply = _submit(page)

    # The customer does not verify (cancels the fingerprint prompt): the phone refuses to sign.
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    sheet.get_by_test_id("confirm-passkey").click()
    fallback = sheet.get_by_test_id("passkey-fallback")
    fallback.wait_for()
    assert "短信验证码" in fallback.inner_text()
    assert _status_of(page, reply["id"]) == "pending_challenge"

    code, _ = latest_code(server, payer["phone"], after_id=before)
    sheet.get_by_test_id("sms-code").locator("input").fill(code)
    page.get_by_test_id("confirm-challenge").click()
    assert transfer_status(page) == "completed"
    assert balance(page) == "3000.00"
    assert _balance_of(server, payee) == "6000.00"


def test_a_scanned_code_is_paid_with_the_passkey_from_the_result_screen(
    server: str, server_database_url: str, phone: Callable[[], Any]
) -> None:
    payee_page = phone()
    payee = register_in_app(payee_page, server)
    png, _payload = receive_qr_in_app(payee_page, "6000.00")
    page, _cdp, _authenticator, _payer = _payer_with_passkey(
        server, server_database_url, phone, "9000.00"
    )

    scan_image_in_app(page, png)
    page.get_by_text(f"付款给 {payee['name']}").wait_for()
    page.get_by_test_id("pay-qr").click()
    # The result screen was handed the challenge's passkey options by the scan screen.
    assert transfer_status(page) == "pending_challenge"
    page.get_by_test_id("open-challenge").click()
    sheet = page.get_by_test_id("second-factor-sheet")
    assert "6,000.00" in sheet.get_by_test_id("challenge-amount").inner_text()
    sheet.get_by_test_id("confirm-passkey").click()
    page.locator('[data-testid="transfer-result"][data-status="completed"]').wait_for()
    assert balance(page) == "3000.00"
    assert balance(payee_page) == "6000.00"
