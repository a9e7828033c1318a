"""The `wealth` commands: demo NAVs, the confirmation batch and interest accrual."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from zhangyin.cli import app
from zhangyin.clock import business_date, utcnow
from zhangyin.config import get_settings
from zhangyin.db import Database
from zhangyin.wealth import catalogue, service

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZHANGYIN_SECRET_KEY", "cli-test")
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_demo_data_brings_the_shelf_and_the_commands_run(cli_env: str, db: Database) -> None:
    assert runner.invoke(app, ["demo-data"]).exit_code == 0
    products = db.run(lambda s: catalogue.list_products(s))
    assert len(products) >= 17
    filled = runner.invoke(app, ["wealth", "nav-demo", "--days", "30"])
    assert filled.exit_code == 0, filled.output
    assert "published" in filled.output and not filled.output.startswith("published 0 ")
    today = business_date(utcnow())
    assert db.run(lambda s: service.latest_nav(s, "F-BOND", today)) is not None
    confirmed = runner.invoke(app, ["wealth", "confirm-orders"])
    assert confirmed.exit_code == 0 and "confirmed 0 orders" in confirmed.output
    accrued = runner.invoke(app, ["wealth", "accrue-interest"])
    assert accrued.exit_code == 0 and "accrued 0 holdings" in accrued.output
    reconciled = runner.invoke(app, ["ledger", "reconcile"])
    assert reconciled.exit_code == 0, reconciled.output
