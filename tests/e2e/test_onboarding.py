"""Sign up in the app, then log in from a new phone with the SMS second factor."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import login_on_new_device, register_in_app


def test_register_then_login_on_a_new_device_with_sms_code(server: str, new_context: Any) -> None:
    first_phone = new_context().new_page()
    customer = register_in_app(first_phone, server)
    assert first_phone.get_by_test_id("total-amount").inner_text().strip() == "0.00"

    second_phone = new_context().new_page()
    login_on_new_device(second_phone, server, customer["phone"])
    accounts = second_phone.get_by_test_id("accounts").locator(".van-cell")
    accounts.first.wait_for()
    assert accounts.count() == 1
    # The device list now shows both phones, the new one trusted after its second factor.
    second_phone.goto("/app/settings/devices")
    devices = second_phone.get_by_test_id("devices").locator(".van-cell")
    devices.nth(1).wait_for()
    assert devices.count() == 2
