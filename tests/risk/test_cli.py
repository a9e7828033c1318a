"""`python -m zhangyin risk ...` against a real database."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.risk.factories import NOON, assess, complete, ctx
from zhangyin.cli import app
from zhangyin.clock import business_date, utcnow
from zhangyin.config import get_settings
from zhangyin.db import Database
from zhangyin.risk.models import AmlRun


@pytest.fixture
def cli_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_backtest_command_reports_hits_and_points_at_bad_text(db: Database, cli_env: None) -> None:
    complete(db, assess(db, ctx(amount_minor=900_000)))
    complete(db, assess(db, ctx(amount_minor=100_000)))
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "risk",
            "backtest",
            "amount >= 5000 -> hold",
            "--since",
            "2026-11-01",
            "--until",
            (NOON.replace(day=30)).isoformat(),
        ],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert (figures["transactions"], figures["hits"], figures["good_stopped"]) == (2, 1, 1)
    bad = runner.invoke(app, ["risk", "backtest", "amount >= -> hold"])
    assert bad.exit_code == 2
    assert "character 11" in bad.output


def test_aml_report_command_writes_csv(db: Database, cli_env: None, tmp_path) -> None:  # type: ignore[no-untyped-def]
    complete(db, assess(db, ctx(amount_minor=60_000_000)))
    out = tmp_path / "aml.csv"
    result = CliRunner().invoke(
        app, ["risk", "aml-report", "--date", "2026-11-18", "--csv", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "TRANSFER_INDIVIDUAL" in result.output
    assert "TRANSFER_INDIVIDUAL" in out.read_text()


def test_aml_report_command_refuses_a_day_that_is_not_over(db: Database, cli_env: None) -> None:
    today = business_date(utcnow() + timedelta(seconds=10)).isoformat()  # also across 16:00 UTC
    result = CliRunner().invoke(app, ["risk", "aml-report", "--date", today])
    assert result.exit_code == 2
    assert f"Business day {today} is not over" in result.output
    assert db.run(lambda s: s.scalars(select(AmlRun)).all()) == []
