"""Steps a customer takes in the app, shared by the end-to-end tests and the screenshots."""

from __future__ import annotations

from typing import Any

from tests.e2e.support import (
    PASSWORD,
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
