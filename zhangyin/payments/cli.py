"""Payments commands: `payments run-jobs`, `payments reconcile-clearing`, and `clearing-sim`."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from zhangyin.db import Database

payments_app = typer.Typer(
    help="Payments: scheduler pass, clearing reconciliation.", no_args_is_help=True
)


def _database() -> Database:
    from zhangyin.config import get_settings
    from zhangyin.db import Database

    return Database(get_settings().database_url)


@payments_app.command("run-jobs")
def run_jobs() -> None:
    """One pass of the payments scheduler (delayed posts, clearing, expiry, scheduled runs)."""
    from zhangyin.payments.jobs import run_payment_jobs

    typer.echo(json.dumps(run_payment_jobs(_database())))


@payments_app.command("reconcile-clearing")
def reconcile_clearing(
    day: Annotated[
        str | None, typer.Option(help="Business date YYYY-MM-DD (default today)")
    ] = None,
) -> None:
    """Compare the clearing account with the clearing house's report; exit 1 on a difference."""
    from zhangyin.clock import business_date, utcnow
    from zhangyin.payments.clearing import default_gateway
    from zhangyin.payments.interbank import reconcile_clearing as run
    from zhangyin.payments.service import OUR_BANK_CODE

    when = date.fromisoformat(day) if day else business_date(utcnow())
    gateway = default_gateway(OUR_BANK_CODE)
    result = _database().run(lambda s: run(s, gateway, when))
    typer.echo(
        f"{when}: ours {result.ours_net_minor}, clearing house {result.theirs_net_minor}, "
        f"pending {result.pending_outgoing}: {'matched' if result.matched else 'DIFFERENCE'}"
    )
    if not result.matched:
        raise typer.Exit(1)


def clearing_sim(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8600,
    answer_delay: Annotated[float, typer.Option(help="Seconds before a status report")] = 1.0,
    return_share: Annotated[float, typer.Option(help="Share of payments returned later")] = 0.05,
) -> None:
    """Run the clearing-house simulator (the other banks, over ISO 20022)."""
    from zhangyin.payments.clearing_sim import serve

    serve(host, port, answer_delay, return_share)
