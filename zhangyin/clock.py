"""Time: stored timezone-aware in UTC; business days and display use Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def business_date(moment: datetime) -> date:
    """The Beijing-time calendar date of a UTC moment."""
    return moment.astimezone(SHANGHAI).date()


def business_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC start (inclusive) and end (exclusive) of a Beijing-time calendar day."""
    start = datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)
    return start, start + timedelta(days=1)
