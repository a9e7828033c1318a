"""A real server and Debian's Chromium for the app's end-to-end tests.

The server is `python -m zhangyin serve` on a free port with a fresh SQLite database
and demo mode on (the SMS inbox and counter deposits). Chromium is /usr/bin/chromium,
never a downloaded browser. Without the built app or Chromium the tests are skipped
(`make e2e` builds and installs both first).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE_VIEWPORT,
    ServerDidNotStart,
    running_server,
)
from zhangyin.web import APP_DIST


def _missing_prerequisite() -> str | None:
    if not (APP_DIST / "index.html").is_file():
        return "the app is not built (make frontend)"
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="session")
def server_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The fresh SQLite database the test server runs on."""
    return f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'zhangyin.db'}"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, server_database_url: str) -> Iterator[str]:
    missing = _missing_prerequisite()
    if missing:
        pytest.skip(missing)
    workdir = tmp_path_factory.mktemp("e2e-server")
    try:
        with running_server(workdir, server_database_url) as base:
            yield base
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Chromium for one test module, closed when the module ends.

    While Playwright's sync API is open it leaves an asyncio loop marked running in
    the main thread, so anything else in the same process that needs a loop (a second
    `sync_playwright()`, `asyncio.run` in a later test file) failed whenever it landed
    on the same xdist worker. One browser per module, closed at the module's end,
    keeps e2e modules from leaking that state into the tests after them.
    """
    missing = _missing_prerequisite()
    if missing:
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def browser(server: str, chromium_browser: Any) -> Any:
    return chromium_browser


@pytest.fixture
def new_context(browser: Any, server: str) -> Iterator[Any]:
    """Make browser contexts: each one is a new phone (its own storage, so a new device)."""
    contexts: list[Any] = []

    def make(*, locale: str = "zh-CN", bypass_csp: bool = False) -> Any:
        context = browser.new_context(
            bypass_csp=bypass_csp,
            base_url=server,
            viewport=PHONE_VIEWPORT,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale=locale,
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
