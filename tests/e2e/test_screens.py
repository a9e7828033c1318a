"""Bill payment, elder mode, both languages and accessibility (axe-core) in the real browser."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import fill, register_in_app, transfer_status
from tests.e2e.support import add_bill, api_customer, deposit, transactions

AXE = Path(__file__).resolve().parents[2] / "frontend/app/node_modules/axe-core/axe.min.js"


def test_a_bill_is_looked_up_and_paid(server: str, new_context: Any) -> None:
    page = new_context().new_page()
    customer = register_in_app(page, server)
    funder = api_customer(server)
    deposit(server, funder, customer["account_number"], "500.00")
    add_bill(server, "bj-water", "12345678", "88.50", customer["name"])

    page.goto("/app/bills")
    page.get_by_test_id("biller-bj-water").click()
    fill(page, "bill-account", "12345678")
    page.get_by_test_id("lookup").click()
    assert page.get_by_test_id("owed").inner_text() == "¥88.50"
    page.get_by_test_id("pay-bill").click()
    assert transfer_status(page) == "completed"
    page.goto("/app/home")
    assert page.get_by_test_id("total-amount").inner_text().strip() == "411.50"
    # Nothing is owed any more.
    page.goto("/app/bills")
    page.get_by_test_id("biller-bj-water").click()
    fill(page, "bill-account", "12345678")
    page.get_by_test_id("lookup").click()
    error = page.get_by_test_id("bill-account").locator(".van-field__error-message")
    error.wait_for()
    assert "暂无待缴账单" in error.inner_text()


def _px(page: Any, selector: str, prop: str) -> float:
    value: str = page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")
    return float(value.removesuffix("px"))


def _height(page: Any, selector: str) -> float:
    height: float = page.eval_on_selector(selector, "e => e.getBoundingClientRect().height")
    return height


def test_elder_mode_has_big_text_big_targets_and_a_simple_home(
    server: str, new_context: Any
) -> None:
    page = new_context().new_page()
    register_in_app(page, server)
    assert page.get_by_test_id("shortcut-wealth").is_visible()
    assert page.get_by_test_id("banners").is_visible()
    assert _px(page, "body", "fontSize") < 18

    page.goto("/app/settings")
    page.get_by_test_id("elder-switch").click()
    page.goto("/app/home")
    page.get_by_test_id("elder-home").wait_for()
    assert page.evaluate("document.documentElement.classList.contains('elder')")
    assert _px(page, "body", "fontSize") >= 18
    assert _px(page, ".van-cell__title", "fontSize") >= 18
    assert _px(page, ".van-tabbar-item", "fontSize") >= 18
    # Headings larger than the text.
    assert _px(page, ".section-title", "fontSize") >= 18
    # Touch targets: 48 px, main actions 60 px.
    assert _height(page, ".van-tabbar-item") >= 48
    assert _height(page, ".van-cell") >= 48
    assert _height(page, "[data-testid=eye-toggle]") >= 48
    assert _height(page, "[data-testid=elder-transfer]") >= 60
    assert _height(page, "[data-testid=call-service]") >= 60
    assert (
        page.get_by_test_id("call-service").get_attribute("href", timeout=1000).startswith("tel:")
    )
    # Wealth, marketing and banners are gone; balance, transactions and transfer remain.
    assert page.get_by_test_id("shortcut-wealth").count() == 0
    assert page.get_by_test_id("banners").count() == 0
    assert page.get_by_test_id("total-amount").is_visible()
    assert page.get_by_test_id("elder-transactions").is_visible()

    # The choice is remembered: a reload (and a new login on this phone) keeps it.
    page.reload()
    page.get_by_test_id("elder-home").wait_for()


def test_elder_confirm_screen_reads_the_amount_in_words(server: str, new_context: Any) -> None:
    page = new_context().new_page()
    customer = register_in_app(page, server)
    payee = api_customer(server)
    deposit(server, payee, customer["account_number"], "300.00")
    page.goto("/app/settings")
    page.get_by_test_id("elder-switch").click()
    page.goto("/app/transfer")
    page.get_by_test_id("limits").wait_for()
    fill(page, "to-name", payee.name)
    fill(page, "to-account", payee.account_number)
    fill(page, "amount", "100")
    page.get_by_test_id("next").click()
    words = page.get_by_test_id("review-words")
    assert words.inner_text().endswith("壹佰元整")
    assert _px(page, "[data-testid=review-words]", "fontSize") >= 24
    assert _height(page, "[data-testid=submit-transfer]") >= 60
    page.get_by_test_id("submit-transfer").click()
    assert transfer_status(page) == "completed"
    assert any(t["amount"] == "100.00" for t in transactions(server, payee))


def test_both_languages_including_errors_from_the_server(server: str, new_context: Any) -> None:
    payee = api_customer(server)
    for language, title, wrong_password in (
        ("zh-CN", "欢迎使用掌银", "手机号或密码不正确"),
        ("en-US", "Welcome to Zhangyin", "The mobile number or password is wrong"),
    ):
        page = new_context(locale=language).new_page()
        page.goto("/app/welcome")
        if language == "en-US":
            page.get_by_test_id("language-switch").click()
        assert page.locator("h1").first.inner_text() == title
        assert page.evaluate("document.documentElement.lang") == language
        page.get_by_test_id("go-login").click()
        fill(page, "phone", payee.phone)
        fill(page, "password", "not-the-password-1")
        page.get_by_test_id("submit").click()
        error = page.get_by_test_id("password").locator(".van-field__error-message")
        error.wait_for()
        assert error.inner_text() == wrong_password


def _axe(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE.read_text())
    result: dict[str, Any] = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then((r) => ({violations: r.violations"
        ".map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target)}))}))"
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def test_no_serious_accessibility_violations_on_the_main_screens(
    server: str, new_context: Any
) -> None:
    # axe-core is injected as a script, which the app's CSP forbids; this context bypasses it.
    page = new_context(bypass_csp=True).new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    for path in ("/app/welcome", "/app/login", "/app/register", "/app/privacy"):
        page.goto(path)
        page.locator("h1").first.wait_for()
        found[path] = _axe(page)
    customer = register_in_app(page, server)
    payee = api_customer(server)
    deposit(server, payee, customer["account_number"], "50.00")
    for elder in (False, True):
        if elder:
            page.goto("/app/settings")
            page.get_by_test_id("elder-switch").click()
        for path in (
            "/app/home",
            "/app/accounts",
            "/app/transfer",
            "/app/bills",
            "/app/receive",
            "/app/cardless",
            "/app/messages",
            "/app/settings",
            "/app/settings/devices",
        ):
            page.goto(path)
            page.locator(".van-nav-bar, .home-head").first.wait_for()
            page.wait_for_load_state("networkidle")
            found[f"{path}{' (elder)' if elder else ''}"] = _axe(page)
    problems = {path: v for path, v in found.items() if v}
    assert problems == {}, json.dumps(problems, ensure_ascii=False, indent=1)


#: True once the service worker controls the page and its cache holds every app file the
#: page has loaded (it stores assets after answering, so they land a moment later).
SHELL_CACHED = """async () => {
  if (!navigator.serviceWorker.controller) return false
  const loaded = performance
    .getEntriesByType('resource')
    .map((entry) => new URL(entry.name))
    .filter((url) => url.origin === location.origin && url.pathname.startsWith('/app/assets/'))
  const hits = await Promise.all(loaded.map((url) => caches.match(url.pathname)))
  return hits.every(Boolean)
}"""


def test_the_shell_loads_offline_with_a_clear_banner(server: str, new_context: Any) -> None:
    context = new_context()
    page = context.new_page()
    customer = register_in_app(page, server)
    payee = api_customer(server)
    deposit(server, payee, customer["account_number"], "100.00")
    page.goto("/app/transfer")  # visited once online: its code is in the service worker's cache
    page.get_by_test_id("limits").wait_for()
    page.goto("/app/welcome")
    # Offline, the reload is served by the service worker: wait until it controls the page
    # and has stored every app file this page loaded (a fixed second was short when slow).
    page.wait_for_function(SHELL_CACHED)
    context.set_offline(True)
    page.reload()
    page.get_by_test_id("offline-banner").wait_for()
    assert "网络" in page.get_by_test_id("offline-banner").inner_text()
    assert page.locator("h1").first.is_visible()
    context.set_offline(False)
