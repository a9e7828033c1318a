"""How fast the home screen is usable on a mid-range phone: Chromium with 4x CPU throttling
and DevTools' "Fast 3G" network, logged in, first visit (empty cache) and repeat visit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.e2e.helpers import register_in_app

#: DevTools "Fast 3G": 562.5 ms latency, ~1.44 Mbit/s down, ~675 kbit/s up.
FAST_3G = {
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1.44 * 1024 * 1024 / 8,
    "uploadThroughput": 675 * 1024 / 8,
}
TARGET_MS = 1500
READY = "[data-testid=accounts] .van-cell"


def _home_ready_ms(page: Any) -> float:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", FAST_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    page.goto("/app/home", wait_until="commit")
    page.locator(READY).first.wait_for(timeout=60_000)
    # When the accounts are on screen, measured from the start of the navigation.
    ready: float = page.evaluate("performance.now()")
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    return ready


def test_home_is_usable_quickly_on_a_throttled_phone(server: str, new_context: Any) -> None:
    context = new_context()
    page = context.new_page()
    register_in_app(page, server)
    # The service worker has installed the shell once it is active (waiting 500 ms instead
    # measured a "warm" visit without it whenever the machine was slow).
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.active !== null)")
    warm_page = context.new_page()
    warm = _home_ready_ms(warm_page)
    # Same customer on a phone with an empty cache: its cookies and local storage (the
    # signed-in hint, when the access cookie expires), no service worker, no cached files.
    # The refresh token rotates on use and reusing an old one ends the session, so the
    # cookies are copied after the warm run.
    storage = warm_page.evaluate("JSON.stringify(Object.entries(localStorage))")
    cold_context = new_context()
    cold_context.add_cookies(context.cookies())
    cold_context.add_init_script(
        f"for (const [key, value] of {storage}) localStorage.setItem(key, value)"
    )
    cold = _home_ready_ms(cold_context.new_page())
    figures = {
        "bench": "app-home",
        "cpu_throttling": 4,
        "network": "Fast 3G (562.5 ms, 1.44 Mbit/s)",
        "cold_home_ready_ms": round(cold),
        "warm_home_ready_ms": round(warm),
        "target_ms": TARGET_MS,
    }
    figures["warm_meets_target"] = warm < TARGET_MS
    print(json.dumps(figures))
    out = Path("bench/out")
    out.mkdir(parents=True, exist_ok=True)
    (out / "app_home.json").write_text(json.dumps(figures) + "\n")
    # Recorded in bench/RESULTS.md. Asserted loosely: the figure depends on the machine's
    # load (the suite shares two cores), and a first visit over 3G is bound by round trips.
    assert 0 < warm < 15_000, figures
    assert 0 < cold < 30_000, figures
