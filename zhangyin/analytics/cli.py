"""`zhangyin analytics ...`: run the aggregation, load the demo channel history."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer

from zhangyin.db import Database

analytics_app = typer.Typer(
    help="Channel analytics: daily aggregation and demo history.", no_args_is_help=True
)


def _database() -> Database:
    from zhangyin.config import get_settings

    return Database(get_settings().database_url)


@analytics_app.command()
def aggregate(
    start: Annotated[
        str | None, typer.Option(help="First day YYYY-MM-DD (default yesterday)")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last day YYYY-MM-DD (default yesterday)")] = None,
) -> None:
    """Compute the daily aggregates of a range of Beijing business days (the nightly job)."""
    from zhangyin.analytics import service
    from zhangyin.clock import business_date, utcnow

    yesterday = business_date(utcnow()) - timedelta(days=1)
    last = date.fromisoformat(end) if end else yesterday
    first = date.fromisoformat(start) if start else last
    result = service.aggregate(_database(), first, last)
    typer.echo(
        f"aggregated {result.start}..{result.end}: {result.rows} rows in {result.seconds:.1f}s"
    )


@analytics_app.command("demo-data")
def demo_data(
    full: Annotated[bool, typer.Option("--full", help="100,000 customers (default 400)")] = False,
    customers: Annotated[int | None, typer.Option(help="Number of customers")] = None,
) -> None:
    """Load 12 months of demo channel history (once) and aggregate it."""
    from zhangyin.analytics.demo import DEFAULT_CUSTOMERS, FULL_CUSTOMERS, load_demo_events

    count = customers or (FULL_CUSTOMERS if full else DEFAULT_CUSTOMERS)
    written = load_demo_events(_database(), count)
    typer.echo(
        f"wrote {written} demo events for {count} customers"
        if written
        else "demo channel history already present; nothing to do"
    )
