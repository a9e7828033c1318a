"""The wealth domain's daily work, safe to run every few seconds: each step does only what
is due and skips what is done. NAVs from the feed, the T+1 confirmation batch, deposit
interest accrual (and quarterly settlement), and maturities, each in its own transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import typer

from zhangyin.clock import utcnow
from zhangyin.db import Database
from zhangyin.wealth import service
from zhangyin.wealth.nav import NavFeed, default_feed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchResult:
    navs_published: int
    orders_confirmed: int
    holdings_accrued: int
    holdings_matured: int


def run_wealth_jobs(
    db: Database, now: datetime | None = None, feed: NavFeed | None = None
) -> BatchResult:
    now = now or utcnow()
    feed = feed or default_feed()
    navs = db.run(lambda s: service.publish_navs(s, feed, now))
    confirmed = db.run(lambda s: service.confirm_due_orders(s, now))
    accrued = db.run(lambda s: service.accrue_interest(s, now))
    matured = db.run(lambda s: service.mature_holdings(s, now))
    result = BatchResult(navs, confirmed, accrued, matured)
    if any((navs, confirmed, accrued, matured)):
        log.info("wealth jobs", extra=result.__dict__)
    return result


# ------------------------------------------------------------------- command line

cli = typer.Typer(
    help="Wealth: T+1 confirmation, interest accrual, demo NAVs.", no_args_is_help=True
)


def _db() -> Database:
    from zhangyin.config import get_settings

    return Database(get_settings().database_url)


@cli.command("confirm-orders")
def confirm_orders_command() -> None:
    """Publish due NAVs, then confirm every order whose T+1 day has come."""
    db = _db()
    now = utcnow()
    feed = default_feed()
    navs = db.run(lambda s: service.publish_navs(s, feed, now))
    confirmed = db.run(lambda s: service.confirm_due_orders(s, now))
    typer.echo(f"published {navs} NAVs, confirmed {confirmed} orders")


@cli.command("accrue-interest")
def accrue_interest_command() -> None:
    """Accrue deposit interest up to today and pay what has matured."""
    db = _db()
    now = utcnow()
    accrued = db.run(lambda s: service.accrue_interest(s, now))
    matured = db.run(lambda s: service.mature_holdings(s, now))
    typer.echo(f"accrued {accrued} holdings, matured {matured}")


@cli.command("nav-demo")
def nav_demo_command(
    days: Annotated[int, typer.Option(help="How many calendar days back to fill")] = 365,
) -> None:
    """Fill the demo NAV history of every NAV product (for charts and the check-up)."""
    db = _db()
    now = utcnow()
    feed = default_feed()
    count = db.run(lambda s: service.publish_navs(s, feed, now, backfill_days=days))
    typer.echo(f"published {count} demo NAVs")
