"""Steps a customer takes in the app, shared by the end-to-end tests and the screenshots."""

from __future__ import annotations

from typing import Any

from tests.e2e.support import (
    PASSWORD,
    PHONE_VIEWPORT,
    last_sms_id,
    latest_code,
    random_id_number,
    random_name,
    random_phone,
)


def register_in_app(page: Any, server: str) -> dict[str, str]:
    """Sign up through the register screen; ends on the home screen, logged in."""
    phone, name = random_phone(), random_name()
    page.goto("/app/register")
    page.get_by_test_id("phone").locator("input").fill(phone)
    page.get_by_test_id("send-code").click()
    code, _ = latest_code(server, phone)
    page.get_by_test_id("sms-code").locator("input").fill(code)
    page.get_by_test_id("name").locator("input").fill(name)
    page.get_by_test_id("id-number").locator("input").fill(random_id_number())
    page.get_by_test_id("password").locator("input").fill(PASSWORD)
    page.get_by_test_id("consent").click()
    page.get_by_test_id("submit").click()
    page.wait_for_url("**/app/home")
    page.get_by_test_id("accounts").locator(".van-cell").first.wait_for()
    # The full account number, as the app's own session sees it (GET uses the httpOnly cookie).
    accounts = page.evaluate("fetch('/v1/accounts').then((r) => r.json())")
    return {"phone": phone, "name": name, "account_number": accounts[0]["number"]}


def login_on_new_device(page: Any, server: str, phone: str) -> None:
    """Password login from a browser the server has not seen: the SMS second factor follows."""
    before = last_sms_id(server, phone)
    page.goto("/app/login")
    page.get_by_test_id("phone").locator("input").fill(phone)
    page.get_by_test_id("password").locator("input").fill(PASSWORD)
    page.get_by_test_id("submit").click()
    page.wait_for_url("**/app/login/verify")
    code, _ = latest_code(server, phone, after_id=before)
    page.get_by_test_id("sms-code").locator("input").fill(code)
    page.get_by_test_id("submit").click()
    page.wait_for_url("**/app/home")


def fill(page: Any, test_id: str, value: str) -> None:
    page.get_by_test_id(test_id).locator("input, textarea").first.fill(value)


def start_transfer(
    page: Any, *, name: str, account: str, amount: str, arrival: str = "instant"
) -> None:
    """Step 1 and 2 of a transfer; ends on the review screen."""
    page.goto("/app/transfer")
    page.get_by_test_id("to-name").locator("input").wait_for()
    page.get_by_test_id("limits").wait_for()
    fill(page, "to-name", name)
    fill(page, "to-account", account)
    fill(page, "amount", amount)
    page.get_by_test_id(f"arrival-{arrival}").click()
    page.get_by_test_id("next").click()
    page.get_by_test_id("transfer-review").wait_for()


def transfer_status(page: Any) -> str:
    result = page.get_by_test_id("transfer-result")
    result.wait_for()
    status: str = result.get_attribute("data-status")
    return status


def on_localhost(server: str) -> str:
    """The test server's address by the name `localhost`, the relying party of its passkeys.

    WebAuthn needs a domain for the relying party and a secure context: 127.0.0.1 is not a
    domain, `localhost` is both (over plain http too). The server accepts this origin.
    """
    return server.replace("://127.0.0.1:", "://localhost:")


def virtual_authenticator(page: Any) -> tuple[Any, str]:
    """A platform authenticator (fingerprint/face) on `page`, through the DevTools protocol.

    It keeps discoverable credentials and verifies the user on every use, like a phone's
    fingerprint reader; `WebAuthn.getCredentials` on the returned session shows its keys.
    """
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def add_passkey_in_app(page: Any) -> None:
    """Settings → passkeys → add; ends with the new passkey listed."""
    before = len(page.evaluate("fetch('/v1/passkeys').then((r) => r.json())"))
    page.goto("/app/settings/passkeys")
    page.get_by_test_id("add-passkey").click()
    page.get_by_test_id("passkey").nth(before).wait_for()


def logout_in_app(page: Any) -> None:
    page.goto("/app/settings")
    page.get_by_test_id("logout").click()
    page.locator(".van-dialog__confirm").click()
    page.wait_for_url("**/app/welcome")


def receive_qr_in_app(page: Any, amount: str) -> tuple[bytes, str]:
    """Receive screen → set an amount → a dynamic code. The code's picture as the phone
    shows it (a PNG screenshot) and the signed payload the server put in it."""
    page.goto("/app/receive")
    page.get_by_test_id("receive-qr").locator("img").wait_for()
    page.get_by_role("button", name="设置金额").click()
    fill(page, "amount", amount)
    with page.expect_response(
        lambda r: r.url.endswith("/v1/qr-codes") and r.request.method == "POST"
    ) as created:
        page.get_by_role("button", name="生成收款码").click()
    payload: str = created.value.json()["payload"]
    shown = page.get_by_test_id("receive-qr")
    shown.locator(".amount-big").wait_for()
    image = shown.locator("img")
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    png: bytes = image.screenshot()
    return png, payload


def scan_image_in_app(page: Any, png: bytes) -> None:
    """Scan screen → pick a photo of a code (the path where there is no camera)."""
    page.goto("/app/scan")
    page.get_by_test_id("qr-image").set_input_files(
        {"name": "qr.png", "mimeType": "image/png", "buffer": png}
    )


def balance(page: Any) -> str:
    """The first account's balance as the server reports it to the logged-in app."""
    accounts = page.evaluate("fetch('/v1/accounts').then((r) => r.json())")
    amount: str = accounts[0]["balance"]
    return amount


def localhost_phone(browser: Any, server: str) -> Any:
    """A new phone (browser context) that opens the app at http://localhost:<port>, where
    passkeys work (see `on_localhost`). The caller closes it."""
    context = browser.new_context(
        base_url=on_localhost(server),
        viewport=PHONE_VIEWPORT,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(15_000)
    return context
