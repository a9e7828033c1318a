"""The holiday calendar and the 15:00 cut-off: trade dates and T+1 across weekends and holidays."""

from __future__ import annotations

from datetime import date, time

import pytest

from tests.wealth.factories import beijing
from zhangyin.wealth import calendar
from zhangyin.wealth.service import add_months, cutoff_of, trade_date_for


def test_national_day_2025_is_eight_days_off_and_the_makeup_saturday_is_no_trading_day() -> None:
    for offset in range(8):
        assert not calendar.is_trading_day(date(2025, 10, 1 + offset))
    assert calendar.is_working_day(date(2025, 10, 11))  # 调休上班 Saturday
    assert not calendar.is_trading_day(date(2025, 10, 11))  # exchanges stay shut
    assert calendar.next_trading_day(date(2025, 9, 30)) == date(2025, 10, 9)


def test_spring_festival_2026_runs_from_the_15th_to_the_23rd() -> None:
    assert calendar.next_trading_day(date(2026, 2, 13)) == date(2026, 2, 24)
    assert calendar.is_working_day(date(2026, 2, 14)) and calendar.is_working_day(date(2026, 2, 28))
    assert not calendar.is_working_day(date(2026, 2, 16))


def test_new_year_2026_and_the_makeup_sunday() -> None:
    assert {date(2026, 1, 1), date(2026, 1, 2), date(2026, 1, 3)} <= calendar.HOLIDAYS
    assert calendar.is_working_day(date(2026, 1, 4)) and not calendar.is_trading_day(
        date(2026, 1, 4)
    )
    assert calendar.next_trading_day(date(2025, 12, 31)) == date(2026, 1, 5)


def test_weekends_outside_the_covered_years_are_still_closed() -> None:
    assert not calendar.is_trading_day(date(2030, 6, 8))  # a Saturday
    assert calendar.is_trading_day(date(2030, 6, 10))


@pytest.mark.parametrize(
    ("placed", "trade", "confirm"),
    [
        # before the cut-off on a trading day: T is today, confirmed the next trading day
        (beijing(date(2025, 9, 29), time(14, 59, 59)), date(2025, 9, 29), date(2025, 9, 30)),
        # 15:00 sharp is after the cut-off
        (beijing(date(2025, 9, 29), time(15, 0)), date(2025, 9, 30), date(2025, 10, 9)),
        # the last trading day before National Day: T+1 is after the holiday
        (beijing(date(2025, 9, 30), time(10, 0)), date(2025, 9, 30), date(2025, 10, 9)),
        (beijing(date(2025, 9, 30), time(15, 30)), date(2025, 10, 9), date(2025, 10, 10)),
        # during the holiday
        (beijing(date(2025, 10, 3), time(9, 0)), date(2025, 10, 9), date(2025, 10, 10)),
        # Friday after the cut-off, and the make-up Saturday: Monday, confirmed Tuesday
        (beijing(date(2025, 10, 10), time(16, 0)), date(2025, 10, 13), date(2025, 10, 14)),
        (beijing(date(2025, 10, 11), time(10, 0)), date(2025, 10, 13), date(2025, 10, 14)),
        # Beijing midnight is 16:00 UTC the day before: still Friday in UTC, Saturday in Beijing
        (beijing(date(2026, 1, 10), time(0, 30)), date(2026, 1, 12), date(2026, 1, 13)),
        # Spring Festival 2026
        (beijing(date(2026, 2, 13), time(15, 1)), date(2026, 2, 24), date(2026, 2, 25)),
    ],
)
def test_trade_and_confirmation_dates(placed: object, trade: date, confirm: date) -> None:
    from datetime import datetime

    assert isinstance(placed, datetime)
    assert trade_date_for(placed) == trade
    assert calendar.next_trading_day(trade) == confirm


def test_the_cut_off_is_seven_in_the_morning_utc() -> None:
    assert cutoff_of(date(2025, 9, 30)).isoformat() == "2025-09-30T07:00:00+00:00"


def test_add_months_keeps_the_day_or_takes_the_month_end() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2025, 9, 30), 3) == date(2025, 12, 30)
    assert add_months(date(2025, 12, 15), 60) == date(2030, 12, 15)
