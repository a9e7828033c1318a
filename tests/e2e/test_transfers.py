"""Transfers in the app against the real server: instant, challenged, delayed and cancelled."""

from __future__ import annotations

from typing import Any

from tests.e2e.helpers import login_on_new_device, register_in_app, start_transfer, transfer_status
from tests.e2e.support import (
    age_customer,
    api_customer,
    deposit,
    last_sms_id,
    latest_code,
    transactions,
)


def _funded_customer(server: str, new_context: Any, amount: str) -> tuple[Any, dict[str, str], Any]:
    """A customer signed up in the app with `amount` paid in at the counter, and a payee."""
    page = new_context().new_page()
    customer = register_in_app(page, server)
    payee = api_customer(server)
    deposit(server, payee, customer["account_number"], amount)
    return page, customer, payee


def test_transfer_to_another_customer_shows_in_both_histories(
    server: str, new_context: Any
) -> None:
    page, _customer, payee = _funded_customer(server, new_context, "1000.00")
    start_transfer(page, name=payee.name, account=payee.account_number, amount="100.00")
    assert page.get_by_test_id("review-words").inner_text().endswith("壹佰元整")
    page.get_by_test_id("submit-transfer").click()
    assert transfer_status(page) == "completed"

    # The payer's history, in the app.
    page.goto("/app/home")
    page.get_by_test_id("accounts").locator(".van-cell").first.click()
    first = page.get_by_test_id("transaction").first
    first.wait_for()
    assert "-100.00" in first.inner_text()
    assert page.get_by_test_id("account-summary").inner_text().count("900.00") >= 1

    # The payee's history, in the app on the payee's own (new) phone.
    payee_page = new_context().new_page()
    login_on_new_device(payee_page, server, payee.phone)
    payee_page.get_by_test_id("accounts").locator(".van-cell").first.click()
    incoming = payee_page.get_by_test_id("transaction").filter(has_text="+100.00")
    incoming.first.wait_for()
    assert any(
        t["direction"] == "in" and t["amount"] == "100.00" for t in transactions(server, payee)
    )


def _established(page: Any, database_url: str) -> None:
    customer_id = page.evaluate("fetch('/v1/me').then((r) => r.json())")["id"]
    age_customer(database_url, customer_id)


def test_a_large_transfer_is_challenged_and_confirmed_with_the_sms_code(
    server: str, server_database_url: str, new_context: Any
) -> None:
    page, customer, payee = _funded_customer(server, new_context, "9000.00")
    _established(page, server_database_url)
    before = last_sms_id(server, customer["phone"])
    start_transfer(page, name=payee.name, account=payee.account_number, amount="6000.00")
    page.get_by_test_id("submit-transfer").click()
    sheet = page.get_by_test_id("second-factor-sheet")
    sheet.wait_for()
    # What is approved comes from the server's transfer, not from the form.
    assert "6,000.00" in page.get_by_test_id("challenge-amount").inner_text()
    assert payee.name in page.get_by_test_id("challenge-payee").inner_text()
    code, _ = latest_code(server, customer["phone"], after_id=before)
    sheet.get_by_test_id("sms-code").locator("input").fill(code)
    page.get_by_test_id("confirm-challenge").click()
    assert transfer_status(page) == "completed"
    received = transactions(server, payee)
    assert any(t["amount"] == "6000.00" and t["direction"] == "in" for t in received), received


def test_a_large_first_transfer_from_a_new_customer_is_held_for_review(
    server: str, new_context: Any
) -> None:
    page, _customer, payee = _funded_customer(server, new_context, "20000.00")
    start_transfer(page, name=payee.name, account=payee.account_number, amount="6000.00")
    page.get_by_test_id("submit-transfer").click()
    assert transfer_status(page) == "held_for_review"
    assert "审核" in page.get_by_test_id("transfer-explain").inner_text()
    assert transactions(server, payee) == []


def test_a_wrong_code_is_shown_in_the_sheet_and_moves_nothing(
    server: str, server_database_url: str, new_context: Any
) -> None:
    page, _customer, payee = _funded_customer(server, new_context, "9000.00")
    _established(page, server_database_url)
    start_transfer(page, name=payee.name, account=payee.account_number, amount="5500.00")
    page.get_by_test_id("submit-transfer").click()
    sheet = page.get_by_test_id("second-factor-sheet")
    sheet.wait_for()
    sheet.get_by_test_id("sms-code").locator("input").fill("000000")
    page.get_by_test_id("confirm-challenge").click()
    error = sheet.locator(".van-field__error-message")
    error.wait_for()
    assert error.inner_text().strip()
    assert transactions(server, payee) == []


def test_a_delayed_transfer_can_be_cancelled_before_it_arrives(
    server: str, new_context: Any
) -> None:
    page, _customer, payee = _funded_customer(server, new_context, "1000.00")
    start_transfer(
        page, name=payee.name, account=payee.account_number, amount="200.00", arrival="2h"
    )
    page.get_by_test_id("submit-transfer").click()
    assert transfer_status(page) == "delayed"
    page.get_by_test_id("cancel-transfer").click()
    page.locator(".van-dialog__confirm").click()
    page.locator('[data-testid="transfer-result"][data-status="cancelled"]').wait_for()
    page.goto("/app/home")
    assert page.get_by_test_id("total-amount").inner_text().strip() == "1,000.00"
    assert transactions(server, payee) == []


def test_a_name_that_does_not_match_the_account_is_shown_next_to_the_name(
    server: str, new_context: Any
) -> None:
    page, _customer, payee = _funded_customer(server, new_context, "1000.00")
    start_transfer(page, name="错误名字", account=payee.account_number, amount="10.00")
    page.get_by_test_id("submit-transfer").click()
    error = page.get_by_test_id("to-name").locator(".van-field__error-message")
    error.wait_for()
    assert "姓名" in error.inner_text()
    assert transactions(server, payee) == []
