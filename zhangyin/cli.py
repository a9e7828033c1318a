"""Command line: `python -m zhangyin --help`."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Annotated

import typer

from zhangyin.config import get_settings
from zhangyin.db import Database

app = typer.Typer(help="Zhangyin (掌银) mobile banking platform.", no_args_is_help=True)
ledger_app = typer.Typer(
    help="Ledger operations: reconcile, trial balance, hold expiry.", no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")
from zhangyin.analytics.cli import analytics_app  # noqa: E402 - sub-app of its domain

app.add_typer(analytics_app, name="analytics")

from zhangyin.identity.cli import identity_app  # noqa: E402 - sub-app of its domain

app.add_typer(identity_app, name="identity")
from zhangyin.wealth.jobs import cli as wealth_cli  # noqa: E402

app.add_typer(wealth_cli, name="wealth")
from zhangyin.payments.cli import clearing_sim, payments_app  # noqa: E402

app.add_typer(payments_app, name="payments")
from zhangyin.risk.cli import risk_app  # noqa: E402 - sub-app of its domain

app.add_typer(risk_app, name="risk")
app.command("clearing-sim")(clearing_sim)


def _database() -> Database:
    return Database(get_settings().database_url)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema to the latest migration (safe to run again)."""
    from zhangyin.migrate import migration_state, upgrade

    db = _database()
    upgrade(db)
    state = migration_state(db)
    typer.echo(f"database {db.backend} at migration {state.current}")


@app.command("demo-data")
def demo_data(
    force: Annotated[bool, typer.Option(help="Load even if demo data already exists")] = False,
) -> None:
    """Load the demo bank (customers, accounts, history) unless it is already there."""
    from zhangyin.demo import load_demo_data

    db = _database()
    loaded = load_demo_data(db, force=force)
    typer.echo("demo data loaded" if loaded else "demo data already present; nothing to do")


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (default HOST or 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default PORT or 8000)")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Serve the API (and the built front ends) with uvicorn."""
    import uvicorn

    from zhangyin.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    bind_host = host or settings.host
    bind_port = port or settings.port
    typer.echo(f"Zhangyin API     http://{bind_host}:{bind_port}/docs")
    typer.echo(f"Health           http://{bind_host}:{bind_port}/readyz")
    uvicorn.run(
        "zhangyin.asgi:app",
        host=bind_host,
        port=bind_port,
        workers=workers,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@app.command("service-token")
def print_service_token() -> None:
    """Print the bearer token internal services use for /v1/ledger."""
    from zhangyin.security import service_token

    typer.echo(service_token(get_settings()))


@ledger_app.command()
def reconcile() -> None:
    """Recompute every balance from postings; print differences; exit 1 if there are any."""
    from zhangyin.ledger.service import reconcile as run_reconcile
    from zhangyin.ledger.service import total_by_currency

    db = _database()
    differences = db.run(run_reconcile)
    totals = db.run(total_by_currency)
    for currency, total in sorted(totals.items()):
        typer.echo(f"{currency}: sum of postings {total}")
        if total != 0:
            typer.echo(f"DIFFERENCE: {currency} postings do not sum to zero")
    for d in differences:
        typer.echo(
            f"DIFFERENCE: {d.subject} {d.field}: cached {d.cached}, recomputed {d.recomputed}"
        )
    if differences or any(totals.values()):
        raise typer.Exit(1)
    typer.echo("reconciled: no differences")


@ledger_app.command("trial-balance")
def trial_balance_command(
    as_of: Annotated[
        str | None, typer.Option(help="Business date YYYY-MM-DD (default today, Beijing)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Print the trial balance at the end of a business day; exit 1 if it does not balance."""
    from zhangyin.clock import business_date, utcnow
    from zhangyin.ledger.service import trial_balance
    from zhangyin.money import format_minor

    day = date.fromisoformat(as_of) if as_of else business_date(utcnow())
    tb = _database().run(lambda s: trial_balance(s, day))
    if as_json:
        json.dump(
            {
                "as_of": day.isoformat(),
                "balanced": tb.balanced,
                "totals": {c: {"debits": d, "credits": k} for c, (d, k) in tb.totals.items()},
            },
            sys.stdout,
        )
        typer.echo()
    else:
        typer.echo(f"Trial balance as of {day} (Asia/Shanghai)")
        for row in tb.rows:
            typer.echo(
                f"{row.number}  {row.kind:<18} {row.currency} "
                f"Dr {format_minor(row.debits_minor, row.currency):>18} "
                f"Cr {format_minor(row.credits_minor, row.currency):>18}"
            )
        for currency, (debits, credits) in sorted(tb.totals.items()):
            dr, cr = format_minor(debits, currency), format_minor(credits, currency)
            typer.echo(f"TOTAL {currency} Dr {dr} Cr {cr}")
    if not tb.balanced:
        raise typer.Exit(1)


@ledger_app.command("expire-holds")
def expire_holds_command() -> None:
    """Void every hold whose time has run out (the server also does this every 15 s)."""
    from zhangyin.jobs import expire_due_holds

    typer.echo(f"expired {expire_due_holds(_database())} holds")


if __name__ == "__main__":  # pragma: no cover
    app()
