"""The command line: migrate is idempotent; reconcile exits non-zero on a difference."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from tests.ledger.factories import customer_account
from zhangyin.cli import app
from zhangyin.config import get_settings
from zhangyin.db import Database
from zhangyin.ledger.models import LedgerAccount

runner = CliRunner()


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZHANGYIN_SECRET_KEY", "cli-test")
    get_settings.cache_clear()
    yield database_url  # type: ignore[misc]
    get_settings.cache_clear()


def test_help_explains_each_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "migrate", "demo-data", "ledger"):
        assert command in result.output


def test_migrate_twice_then_demo_data_once(cli_env: str) -> None:
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    second = runner.invoke(app, ["migrate"])
    assert second.exit_code == 0 and "at migration" in second.output
    assert "demo data loaded" in runner.invoke(app, ["demo-data"]).output
    assert "already present" in runner.invoke(app, ["demo-data"]).output
    reconciled = runner.invoke(app, ["ledger", "reconcile"])
    assert reconciled.exit_code == 0 and "no differences" in reconciled.output
    tb = runner.invoke(app, ["ledger", "trial-balance"])
    assert tb.exit_code == 0 and "TOTAL CNY" in tb.output


def test_reconcile_exits_1_and_names_the_difference(cli_env: str, db: Database) -> None:
    a = customer_account(db, 5_000)
    db.run(
        lambda s: s.execute(
            update(LedgerAccount).where(LedgerAccount.id == a.id).values(credits_posted_minor=5_001)
        )
    )
    result = runner.invoke(app, ["ledger", "reconcile"])
    assert result.exit_code == 1
    assert (
        f"DIFFERENCE: account {a.number} credits_posted: cached 5001, recomputed 5000"
        in result.output
    )


def test_service_token_is_derived_not_constant(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = runner.invoke(app, ["service-token"]).output.strip()
    monkeypatch.setenv("ZHANGYIN_SECRET_KEY", "another")
    get_settings.cache_clear()
    assert runner.invoke(app, ["service-token"]).output.strip() != first
