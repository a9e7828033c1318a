"""The console in Chromium: log in as staff → the dashboard shows figures → an operator
drafts and submits a banner, an admin approves it → the app's GET /v1/app/home-config
serves it; a risk analyst approves a held transfer from the review queue → it completes;
the customer 360 shows money formatted and links a risk event to its case's own page,
which a link opened in a new tab reaches after logging in.

Its own server (like conftest's) so that staff and a week of channel history exist
before it starts.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.support import CHROMIUM, ServerDidNotStart, running_server
from zhangyin.web import APP_DIST

CONSOLE_DIST = APP_DIST.parent / "console"
PASSWORD = "Zhangyin2026ok"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not (CONSOLE_DIST / "index.html").is_file():
        pytest.skip("the console is not built (make frontend)")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing")
    workdir = tmp_path_factory.mktemp("e2e-console")
    url = f"sqlite:///{workdir / 'zhangyin.db'}"
    _seed(url)
    try:
        with running_server(workdir, url, is_ours=_ours) as base:
            yield base
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


def _ours(base: str) -> bool:
    """This server has our database (another worker's server on the port would not)."""
    login = httpx.post(
        f"{base}/v1/console/sessions",
        json={"username": "e2e-admin", "password": PASSWORD},
        timeout=10,
    )
    return login.status_code == 201


def _seed(url: str) -> None:
    """Two staff members and the hand-made week of channel events, aggregated."""
    from tests.analytics.factories import MONDAY, week_of_events
    from zhangyin.analytics import service as analytics
    from zhangyin.db import Database
    from zhangyin.identity import service as identity
    from zhangyin.migrate import upgrade

    db = Database(url)
    upgrade(db)
    staff = (("e2e-operator", "operator"), ("e2e-admin", "admin"), ("e2e-analyst", "risk_analyst"))
    for username, role in staff:
        db.run(
            lambda s, u=username, r=role: identity.create_staff(
                s, username=u, name="运营", password=PASSWORD, roles=[r]
            )
        )
    db.run(lambda s: analytics.record_events(s, week_of_events()))
    analytics.aggregate(db, MONDAY, MONDAY + timedelta(days=6))
    db.dispose()


@pytest.fixture(scope="module")
def chromium(console_server: str, chromium_browser: Any) -> Any:
    return chromium_browser


def _login(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base}/console/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-test=login]")
    page.wait_for_selector("[data-test=kpis]")
    return page


def test_staff_logs_in_sees_dashboard_and_publishes_a_banner(
    console_server: str, chromium: Any
) -> None:
    from tests.analytics.factories import MONDAY

    operator = _login(chromium, console_server, "e2e-operator")
    # The dashboard reads the aggregates: pick the hand-made week and see its figures.
    start, end = str(MONDAY), str(MONDAY + timedelta(days=6))
    operator.wait_for_selector("[data-test='kpi-customers.registered']")
    response = operator.evaluate(
        "async ([s, e]) => (await fetch(`/v1/console/analytics/overview?start=${s}&end=${e}`,"
        " {headers: {}})).status",
        [start, end],
    )
    assert response == 401  # the token is not in a cookie or storage: only the app holds it
    registered = operator.locator("[data-test='kpi-customers.registered']")
    assert registered.is_visible()

    operator.click("[data-test=nav-home]")
    operator.fill("input[name=title_zh]", "端到端横幅")
    operator.fill("input[name=title_en]", "End-to-end banner")
    operator.click("[data-test=save-draft]")
    row = operator.locator("[data-test=home-items] tr", has_text="端到端横幅")
    row.wait_for()
    row.locator("[data-test=submit]").click()
    operator.locator("[data-test=home-items] tr", has_text="pending_approval").wait_for()
    assert httpx.get(f"{console_server}/v1/app/home-config").json()["banners"] == []

    admin = _login(chromium, console_server, "e2e-admin")
    admin.click("[data-test=nav-home]")
    pending = admin.locator("[data-test=home-items] tr", has_text="端到端横幅")
    pending.locator("[data-test=approve]").click()
    admin.locator("[data-test=home-items] tr", has_text="live").wait_for()
    admin.locator("[data-test=phone-preview]", has_text="端到端横幅").wait_for()

    home = httpx.get(f"{console_server}/v1/app/home-config").json()
    assert [b["title"] for b in home["banners"]] == ["端到端横幅"]


def _held_transfer(server: str, funds: str) -> tuple[Any, Any, dict[str, Any]]:
    """A new customer funded with `funds` whose ¥6,000 to another new customer risk holds
    (a large first transfer): (payer, payee, the transfer as the API answered it)."""
    from tests.e2e.support import api_customer, deposit

    payer, payee = api_customer(server), api_customer(server)
    deposit(server, payer, payer.account_number, funds)
    held = httpx.post(
        f"{server}/v1/transfers",
        json={
            "from_account_id": payer.account_id,
            "to_account_number": payee.account_number,
            "to_name": payee.name,
            "amount": "6000.00",
        },
        headers=payer.headers(),
    )
    assert held.status_code == 201, held.text
    assert held.json()["status"] == "held_for_review", held.text
    return payer, payee, held.json()


def _open_360(page: Any, account_number: str) -> None:
    """The customer 360 of the customer holding `account_number`, found by the search."""
    page.click("[data-test=nav-customers]")
    page.fill("input[name=customer-search]", account_number)
    page.keyboard.press("Enter")
    page.locator("[data-test=customer-hits] tbody tr").first.click()


def test_risk_analyst_releases_a_held_transfer_from_the_queue(
    console_server: str, chromium: Any
) -> None:
    payer, payee, held = _held_transfer(console_server, "20000.00")

    analyst = _login(chromium, console_server, "e2e-analyst")
    analyst.click("[data-test=nav-risk]")
    case = analyst.locator("[data-test=risk-cases] tr", has_text=payee.name)
    case.wait_for()
    case.locator("[data-test=case-approve]").click()
    case.wait_for(state="detached")

    deadline = time.monotonic() + 30
    status = ""
    while time.monotonic() < deadline:
        status = httpx.get(
            f"{console_server}/v1/transfers/{held['id']}",
            headers={"Authorization": f"Bearer {payer.token}"},
        ).json()["status"]
        if status == "completed":
            break
        time.sleep(0.5)
    assert status == "completed"


def test_customer_360_shows_money_and_links_a_risk_event_to_its_case(
    console_server: str, chromium: Any
) -> None:
    payer, payee, _ = _held_transfer(console_server, "12345.67")

    analyst = _login(chromium, console_server, "e2e-analyst")
    _open_360(analyst, payer.account_number)
    # Integer minor units from the API, shown as money with the currency's two decimals.
    expect(analyst.locator("[data-test=accounts]")).to_contain_text("¥12,345.67")
    expect(analyst.locator("[data-test=transfers]")).to_contain_text("¥6,000.00")
    expect(analyst.locator("[data-test=risk-events]")).to_contain_text("¥6,000.00")

    # Every case of this customer, decided ones too, from the 360.
    analyst.click("[data-test=risk-all-cases]")
    expect(analyst).to_have_url(re.compile(r"/console/risk\?customer_id="))
    expect(analyst.locator("[data-test=risk-customer-filter]")).to_be_visible()
    expect(analyst.locator("[data-test=risk-cases] tbody tr")).to_have_count(1)
    expect(analyst.locator("[data-test=risk-cases]")).to_contain_text(payee.name)
    _open_360(analyst, payer.account_number)

    analyst.locator("[data-test=risk-event-case]").first.click()
    expect(analyst).to_have_url(re.compile(r"/console/risk/cases/[0-9a-f-]{36}$"))
    case_url = analyst.url
    case = analyst.locator("[data-test=risk-case]")
    expect(case).to_contain_text(payee.name)
    expect(case.locator("[data-test=risk-case-amount]")).to_have_text("¥6,000.00")

    # The link as an alert e-mail carries it: a new tab logs in, then opens that case.
    mailed = chromium.new_page(viewport={"width": 1400, "height": 900})
    mailed.goto(case_url)
    mailed.fill("input[name=username]", "e2e-analyst")
    mailed.fill("input[name=password]", PASSWORD)
    mailed.click("[data-test=login]")
    expect(mailed).to_have_url(case_url)
    expect(mailed.locator("[data-test=risk-case-status]")).to_have_text("open")
    mailed.click("[data-test=risk-case-approve]")
    expect(mailed.locator("[data-test=risk-case-status]")).to_have_text("approved")

    mailed.goto(f"{console_server}/console/risk/cases/{uuid.uuid4()}")
    mailed.fill("input[name=username]", "e2e-analyst")
    mailed.fill("input[name=password]", PASSWORD)
    mailed.click("[data-test=login]")
    expect(mailed.locator("[data-test=risk-case-error]")).to_be_visible()


def test_admin_edits_a_levels_daily_limit_and_sees_it_saved(
    console_server: str, chromium: Any
) -> None:
    # Class III: the other flows' customers are class II, so any order of flows works.
    admin = _login(chromium, console_server, "e2e-admin")
    admin.click("[data-test=nav-limits]")
    daily = admin.locator("input[name=daily_amount-III]")
    daily.wait_for()
    assert daily.input_value() == "2000.00"

    # Below the per-transaction limit (2000.00): refused with the reason, nothing saved.
    daily.fill("500.00")
    admin.click("[data-test=save-limits-III]")
    admin.locator("[data-test=limits-error]").wait_for()
    # The screen shows the error, then reloads the stored limits: wait for the reload.
    expect(admin.locator("input[name=daily_amount-III]")).to_have_value("2000.00")

    admin.locator("input[name=daily_amount-III]").fill("3000.00")
    admin.click("[data-test=save-limits-III]")
    admin.locator("[data-test=limits-saved]").wait_for()
    assert admin.locator("input[name=daily_amount-III]").input_value() == "3000.00"

    token = httpx.post(
        f"{console_server}/v1/console/sessions",
        json={"username": "e2e-operator", "password": PASSWORD},
    ).json()["access_token"]
    levels = httpx.get(
        f"{console_server}/v1/console/limits", headers={"Authorization": f"Bearer {token}"}
    ).json()
    [level_three] = [row for row in levels if row["level"] == "III"]
    assert (level_three["per_transaction"], level_three["daily_amount"]) == ("2000.00", "3000.00")

    # An operator reads them (no limits.edit): the amounts as money, not input boxes.
    operator = _login(chromium, console_server, "e2e-operator")
    operator.click("[data-test=nav-limits]")
    expect(operator.locator("[data-test=per_transaction-III]")).to_have_text("¥2,000.00")
    expect(operator.locator("[data-test=daily_amount-III]")).to_have_text("¥3,000.00")
    assert operator.locator("input[name=daily_amount-III]").count() == 0
