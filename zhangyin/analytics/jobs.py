"""The nightly aggregation, run by the periodic loop (cheap when there is nothing to do)."""

from __future__ import annotations

from zhangyin.analytics import service
from zhangyin.db import Database


def run_analytics_jobs(db: Database) -> None:
    """Aggregate yesterday (and any recent day missed) once the day is over, Beijing time."""
    service.run_nightly(db)
