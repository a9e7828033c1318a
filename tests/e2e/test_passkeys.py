"""Passkeys in Chromium with a virtual platform authenticator (the DevTools protocol).

The app and the server meet as `localhost` here: WebAuthn's relying party must be a
domain, which 127.0.0.1 is not (see `on_localhost`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.helpers import (
    add_passkey_in_app,
    localhost_phone,
    logout_in_app,
    register_in_app,
    virtual_authenticator,
)
from tests.e2e.support import last_sms_id


@pytest.fixture
def localhost_page(browser: Any, server: str) -> Iterator[Callable[[], Any]]:
    """New phones (browser contexts) that open the app at http://localhost:<port>."""
    contexts: list[Any] = []

    def make() -> Any:
        context = localhost_phone(browser, server)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def _json(page: Any, path: str) -> Any:
    return page.evaluate(f"fetch('{path}').then((r) => r.json())")


def _status(page: Any, path: str) -> int:
    status: int = page.evaluate(f"fetch('{path}').then((r) => r.status)")
    return status


def _passkey_login(page: Any) -> None:
    page.goto("/app/login")
    page.get_by_role("tab", name="指纹/面容登录").click()
    page.get_by_test_id("submit").click()


def test_a_passkey_added_in_settings_logs_in_without_a_password(
    server: str, localhost_page: Callable[[], Any]
) -> None:
    page = localhost_page()
    cdp, authenticator = virtual_authenticator(page)
    customer = register_in_app(page, server)
    me = _json(page, "/v1/me")

    add_passkey_in_app(page)
    listed = _json(page, "/v1/passkeys")
    assert len(listed) == 1 and listed[0]["last_used_at"] is None, listed
    # The phone keeps a discoverable key for this customer (user handle = customer id).
    keys = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(keys) == 1 and keys[0]["isResidentCredential"], keys

    logout_in_app(page)
    assert _status(page, "/v1/me") == 401

    sms_before = last_sms_id(server, customer["phone"])
    _passkey_login(page)
    page.wait_for_url("**/app/home")
    page.get_by_test_id("accounts").locator(".van-cell").first.wait_for()

    assert _json(page, "/v1/me")["id"] == me["id"]
    # The server recorded the use, and no SMS code was needed: the passkey is both factors.
    used = _json(page, "/v1/passkeys")
    assert used[0]["id"] == listed[0]["id"] and used[0]["last_used_at"] is not None, used
    assert last_sms_id(server, customer["phone"]) == sms_before
    keys = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert keys[0]["signCount"] >= 2, keys  # signed at registration and at login


def test_a_removed_passkey_no_longer_logs_in(
    server: str, localhost_page: Callable[[], Any]
) -> None:
    page = localhost_page()
    cdp, authenticator = virtual_authenticator(page)
    register_in_app(page, server)
    add_passkey_in_app(page)
    page.get_by_test_id("passkey").get_by_role("button").click()
    page.get_by_test_id("passkey").wait_for(state="detached")
    assert _json(page, "/v1/passkeys") == []
    logout_in_app(page)

    # The phone still holds the key and signs; the server no longer knows it.
    keys = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(keys) == 1
    _passkey_login(page)
    error = page.get_by_test_id("form-error")
    error.wait_for()
    assert error.inner_text().strip()
    assert "/app/login" in page.url
    assert _status(page, "/v1/me") == 401
