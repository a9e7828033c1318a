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
    return {"phone": phone, "name": name}


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
