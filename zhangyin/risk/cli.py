"""`python -m zhangyin risk ...`: train and publish models, backtest rules, AML reports."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from zhangyin.clock import business_date, utcnow
from zhangyin.config import get_settings
from zhangyin.db import Database

risk_app = typer.Typer(
    help="Risk control: train/publish the model, backtest rules, AML reports.",
    no_args_is_help=True,
)


def _database() -> Database:
    return Database(get_settings().database_url)


def _moment(text: str | None, default: datetime) -> datetime:
    if text is None:
        return default
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@risk_app.command()
def train(
    since: Annotated[str | None, typer.Option(help="Start (ISO date/time, UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="End, exclusive (default now)")] = None,
    label_delay_days: Annotated[
        int, typer.Option(help="Unreported completed payments older than this count as genuine")
    ] = 7,
    out_dir: Annotated[Path, typer.Option(help="Where to write the model file")] = Path(
        "var/risk/models"
    ),
    trained_by: Annotated[str, typer.Option(help="Who trains (recorded)")] = "cli",
) -> None:
    """Train a model on labelled history (time-based splits); store it as a candidate."""
    from zhangyin.risk import service

    end = _moment(until, utcnow())
    start = _moment(since, end - timedelta(days=90))
    view = _database().run(
        lambda s: service.train_model(
            s,
            start,
            end,
            trained_by=trained_by,
            label_delay_days=label_delay_days,
            write_to=out_dir,
        )
    )
    typer.echo(json.dumps({"version": view.version, "status": view.status, **view.metrics}))


@risk_app.command()
def publish(
    version: Annotated[str, typer.Argument(help="Model version to make live")],
    actor: Annotated[str, typer.Option(help="Who publishes (recorded)")] = "cli",
) -> None:
    """Make a trained model version live on every worker."""
    from zhangyin.risk import service

    view = _database().run(lambda s: service.publish_model(s, version, actor=actor))
    typer.echo(f"model {view.version} is live")


@risk_app.command()
def backtest(
    rule: Annotated[str, typer.Argument(help="Rule text, e.g. 'amount >= 5000 -> hold'")],
    since: Annotated[str | None, typer.Option(help="Start (ISO date/time, UTC)")] = None,
    until: Annotated[str | None, typer.Option(help="End, exclusive (default now)")] = None,
) -> None:
    """Replay a rule over past transactions: hits, frauds caught, good customers stopped."""
    from zhangyin.risk import service
    from zhangyin.risk.errors import RuleInvalid

    end = _moment(until, utcnow())
    start = _moment(since, end - timedelta(days=30))
    try:
        result = _database().run(lambda s: service.backtest(s, rule, start, end))
    except RuleInvalid as exc:
        typer.echo(exc.detail("en-US"), err=True)
        typer.echo(exc.params["pointer"], err=True)
        raise typer.Exit(2) from None
    typer.echo(
        json.dumps(
            {
                "outcome": result.outcome,
                "transactions": result.transactions,
                "hits": result.hits,
                "frauds": result.frauds,
                "frauds_caught": result.frauds_caught,
                "good_stopped": result.good_stopped,
                "good_customers_stopped": result.good_customers_stopped,
                "precision": result.precision,
                "recall": result.recall,
            }
        )
    )


@risk_app.command("aml-report")
def aml_report(
    day: Annotated[
        str | None, typer.Option("--date", help="Business date YYYY-MM-DD (default yesterday)")
    ] = None,
    csv_path: Annotated[Path | None, typer.Option("--csv", help="Also write CSV here")] = None,
) -> None:
    """Generate a business day's large-value and suspicious transaction reports."""
    from zhangyin.risk import aml
    from zhangyin.risk.errors import AmlDayNotOver

    when = date.fromisoformat(day) if day else business_date(utcnow()) - timedelta(days=1)
    db = _database()
    try:
        created = db.run(lambda s: aml.generate_reports(s, when))
    except AmlDayNotOver as error:
        typer.echo(f"refused: {error.detail('en-US')}", err=True)
        raise typer.Exit(2) from None
    reports = db.run(lambda s: aml.list_reports(s, day=when))
    typer.echo(f"{when}: {len(created)} new, {len(reports)} in total")
    for r in reports:
        typer.echo(f"{r.id} {r.kind} {r.rule_code} {r.customer_id} {r.currency} {r.total_minor}")
    if csv_path is not None:
        csv_path.write_text(aml.export_csv(reports))
