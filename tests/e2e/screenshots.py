"""Screenshots of the app's main screens at a phone's size (390x844), normal and elder mode.

    python -m tests.e2e.screenshots docs/screenshots     (what `make screenshots` runs)

Starts its own server on a fresh database, signs a customer up through the app, gives
them some history, and writes <screen>.png and <screen>-elder.png.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.e2e.helpers import fill, register_in_app, start_transfer, transfer_status
from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE_VIEWPORT,
    add_bill,
    api_customer,
    deposit,
    running_server,
)

LOGGED_OUT = [("welcome", "/app/welcome"), ("login", "/app/login"), ("register", "/app/register")]


def _settle(page: Any) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # transitions and the icon font


def _shot(page: Any, out: Path, name: str, elder: bool) -> None:
    _settle(page)
    path = out / f"{name}{'-elder' if elder else ''}.png"
    page.screenshot(path=str(path))
    print(path)


def _logged_in_screens(page: Any, server: str, out: Path, elder: bool, payee: Any) -> None:
    page.goto("/app/home")
    page.get_by_test_id("accounts").locator(".van-cell").first.wait_for()
    _shot(page, out, "home", elder)
    page.get_by_test_id("accounts").locator(".van-cell").first.click()
    page.get_by_test_id("transaction").first.wait_for()
    _shot(page, out, "account", elder)

    start_transfer(page, name=payee.name, account=payee.account_number, amount="100.00")
    page.get_by_test_id("next").wait_for(state="hidden")
    _shot(page, out, "transfer-review", elder)
    page.get_by_test_id("submit-transfer").click()
    transfer_status(page)
    _shot(page, out, "transfer-result", elder)

    page.goto("/app/transfer")
    page.get_by_test_id("limits").wait_for()
    fill(page, "to-name", payee.name)
    fill(page, "to-account", payee.account_number)
    fill(page, "amount", "1234.5")
    _shot(page, out, "transfer", elder)

    page.goto("/app/bills")
    page.get_by_test_id("biller-bj-water").click()
    fill(page, "bill-account", "20261100")
    page.get_by_test_id("lookup").click()
    page.get_by_test_id("owed").wait_for()
    _shot(page, out, "bills", elder)

    for name, path in (
        ("receive", "/app/receive"),
        ("cardless", "/app/cardless"),
        ("messages", "/app/messages"),
        ("settings", "/app/settings"),
        ("privacy", "/app/privacy"),
    ):
        page.goto(path)
        _shot(page, out, name, elder)


def capture(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with (
            running_server(workdir, f"sqlite:///{workdir / 'zhangyin.db'}") as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            options = {
                "base_url": server,
                "viewport": PHONE_VIEWPORT,
                "device_scale_factor": 1,
                "is_mobile": True,
                "has_touch": True,
                "locale": "zh-CN",
                "timezone_id": "Asia/Shanghai",
            }
            for elder in (False, True):
                context = browser.new_context(**options)
                context.set_default_timeout(30_000)
                if elder:
                    # Chosen before login, as on the welcome screen: saved to the customer at login.
                    context.add_init_script(
                        "localStorage.setItem('zy_elder', '1');"
                        "localStorage.setItem('zy_prefs_pending', '{\"elder_mode\":true}')"
                    )
                page = context.new_page()
                for name, path in LOGGED_OUT:
                    page.goto(path)
                    _shot(page, out, name, elder)
                customer = register_in_app(page, server)
                payee = api_customer(server)
                deposit(server, payee, customer["account_number"], "12345.67")
                add_bill(server, "bj-water", "20261100", "86.40", customer["name"])
                _logged_in_screens(page, server, out, elder, payee)
                context.close()
            browser.close()


if __name__ == "__main__":
    capture(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
