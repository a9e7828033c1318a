"""Scan to pay: a receive code shown in one phone's app, paid from another phone's app.

Headless Chromium has no camera and, on Linux, no BarcodeDetector: the payer uses the
scan screen's photo path, which reads the code's pixels itself.
"""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import segno

from tests.e2e.helpers import (
    balance,
    receive_qr_in_app,
    register_in_app,
    scan_image_in_app,
    transfer_status,
)
from tests.e2e.support import age_customer, api_customer, deposit, last_sms_id, latest_code


def _payee_and_funded_payer(
    server: str, new_context: Any, funds: str
) -> tuple[Any, dict[str, str], Any, dict[str, str]]:
    """Customer A (the payee) and customer B (the payer, `funds` paid in), each on a phone."""
    payee_page = new_context().new_page()
    payee = register_in_app(payee_page, server)
    payer_page = new_context().new_page()
    payer = register_in_app(payer_page, server)
    deposit(server, api_customer(server), payer["account_number"], funds)
    return payee_page, payee, payer_page, payer


def _history_shows(page: Any, text: str) -> None:
    page.goto("/app/home")
    page.get_by_test_id("accounts").locator(".van-cell").first.click()
    page.get_by_test_id("transaction").filter(has_text=text).first.wait_for()


def test_a_dynamic_code_shown_by_a_is_paid_by_b_from_a_photo(
    server: str, server_database_url: str, new_context: Any
) -> None:
    payee_page, payee, payer_page, payer = _payee_and_funded_payer(server, new_context, "9000.00")
    # An established payer, so the risk engine asks for the second factor rather than a hold.
    age_customer(
        server_database_url, payer_page.evaluate("fetch('/v1/me').then((r) => r.json())")["id"]
    )
    png, _payload = receive_qr_in_app(payee_page, "6000.00")

    scan_image_in_app(payer_page, png)
    payer_page.get_by_text(f"付款给 {payee['name']}").wait_for()
    assert "6,000.00" in payer_page.locator(".payee .amount-big").inner_text()
    before = last_sms_id(server, payer["phone"])
    payer_page.get_by_test_id("pay-qr").click()

    # Paying a code is a transfer like any other: a large one asks for the SMS code.
    assert transfer_status(payer_page) == "pending_challenge"
    payer_page.get_by_test_id("open-challenge").click()
    sheet = payer_page.get_by_test_id("second-factor-sheet")
    assert payee["name"] in sheet.get_by_test_id("challenge-payee").inner_text()
    assert "6,000.00" in sheet.get_by_test_id("challenge-amount").inner_text()
    code, _ = latest_code(server, payer["phone"], after_id=before)
    sheet.get_by_test_id("sms-code").locator("input").fill(code)
    payer_page.get_by_test_id("confirm-challenge").click()
    payer_page.locator('[data-testid="transfer-result"][data-status="completed"]').wait_for()

    assert balance(payer_page) == "3000.00"
    assert balance(payee_page) == "6000.00"
    _history_shows(payer_page, "-6,000.00")
    _history_shows(payee_page, "+6,000.00")


def _tampered(payload: str, amount_minor: int) -> str:
    """The same code with another amount written in and the old signature kept."""
    prefix, body, signature = payload.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["m"] = amount_minor
    edited = base64.urlsafe_b64encode(
        json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode()
    )
    return f"{prefix}.{edited.decode().rstrip('=')}.{signature}"


def test_a_tampered_code_is_refused_and_moves_no_money(server: str, new_context: Any) -> None:
    payee_page, _payee, payer_page, _payer = _payee_and_funded_payer(server, new_context, "1000.00")
    _png, payload = receive_qr_in_app(payee_page, "500.00")
    tampered = _tampered(payload, 1)
    picture = io.BytesIO()
    segno.make(tampered, error="m").save(picture, kind="png", scale=8)

    with payer_page.expect_response(lambda r: r.url.endswith("/v1/qr-codes/decode")) as asked:
        scan_image_in_app(payer_page, picture.getvalue())
    # The photo was read (the edited payload went to the server) and the signature failed.
    assert asked.value.status == 422
    assert asked.value.json()["code"] == "qr_invalid"
    assert asked.value.request.post_data_json == {"payload": tampered}
    error = payer_page.get_by_test_id("form-error")
    error.wait_for()
    assert "二维码无效" in error.inner_text()
    assert payer_page.get_by_test_id("pay-qr").count() == 0

    # Paying it anyway, around the app's screen, is refused just the same.
    account_id = payer_page.evaluate("fetch('/v1/accounts').then((r) => r.json())")[0]["id"]
    refused = payer_page.evaluate(
        """([payload, account]) => fetch('/v1/qr-payments', {
            method: 'POST',
            headers: {'Content-Type': 'application/json', 'X-Requested-With': 'zhangyin',
                      'Idempotency-Key': crypto.randomUUID()},
            body: JSON.stringify({payload, from_account_id: account}),
        }).then(async (r) => [r.status, (await r.json()).code])""",
        [tampered, account_id],
    )
    assert refused == [422, "qr_invalid"]
    assert balance(payer_page) == "1000.00"
    assert balance(payee_page) == "0.00"
