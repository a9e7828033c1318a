"""A real server and Debian's Chromium for the app's end-to-end tests.

The server is `python -m zhangyin serve` on a free port with a fresh SQLite database
and demo mode on (the SMS inbox and counter deposits). Chromium is /usr/bin/chromium,
never a downloaded browser. Without the built app or Chromium the tests are skipped
(`make e2e` builds and installs both first).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.support import SERVICE_TOKEN
from zhangyin.web import APP_DIST

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PHONE_VIEWPORT = {"width": 390, "height": 844}


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


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
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": server_database_url,
        "ZHANGYIN_DEMO": "1",
        "ZHANGYIN_SECRET_KEY": secrets.token_urlsafe(32),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "ZHANGYIN_SERVICE_TOKEN": SERVICE_TOKEN,
    }
    for name in ("REDIS_URL", "NATS_URL"):
        env.pop(name, None)
    subprocess.run([sys.executable, "-m", "zhangyin", "migrate"], cwd=workdir, env=env, check=True)
    log = (workdir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "zhangyin", "serve"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"server did not start: {(workdir / 'server.log').read_text()[-2000:]}")
        time.sleep(0.2)
    try:
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def browser(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_context(browser: Any, server: str) -> Iterator[Any]:
    """Make browser contexts: each one is a new phone (its own storage, so a new device)."""
    contexts: list[Any] = []

    def make(*, locale: str = "zh-CN") -> Any:
        context = browser.new_context(
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
