"""Prometheus metrics: requests and latency per route, ledger postings."""

from __future__ import annotations

from collections import Counter as CounterDict
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session

HTTP_REQUESTS = Counter(
    "zhangyin_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "zhangyin_http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
LEDGER_POSTINGS = Counter(
    "zhangyin_ledger_postings_total", "Ledger postings committed, by currency", ["currency"]
)


def count_postings(currency: str, n: int) -> None:
    """Count `n` committed postings in `currency`."""
    LEDGER_POSTINGS.labels(currency).inc(n)


@event.listens_for(Session, "after_commit")
def _count_committed_postings(session: Session) -> None:
    counts: CounterDict[str] | None = session.info.pop("ledger_postings", None)
    if counts:
        for currency, n in counts.items():
            count_postings(currency, n)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_postings(session: Session) -> None:
    session.info.pop("ledger_postings", None)


def route_label(scope: Mapping[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
