"""Mainland China business calendar as data: public holidays and make-up working days (调休).

Two kinds of day matter to wealth products:

- a *trading day* (交易日) is a weekday that is not a public holiday. Exchanges
  never open on a weekend, not even on a make-up working Saturday, so fund
  cut-offs, NAVs and T+1 confirmations count trading days;
- a *working day* (工作日) is a weekday or a make-up working day, and not a
  public holiday: the bank's own working days.

2025 and 2026 follow the State Council's notices (国办发明电〔2024〕12号 and the
notice of 4 November 2025). 2027 has not been published at the time of writing:
its entries are the statutory days only (春节 from the eve, 清明, 劳动节,
端午, 中秋, 国庆) with no make-up arrangements; replace them when the notice
appears (`PROVISIONAL_YEARS` says which years are estimates). Outside the
covered years only weekends are non-trading days.
"""

from __future__ import annotations

from datetime import date, timedelta


def _span(start: date, days: int) -> set[date]:
    return {start + timedelta(days=i) for i in range(days)}


#: Public holidays, including the weekdays moved into a holiday block.
HOLIDAYS: frozenset[date] = frozenset(
    # 2025
    _span(date(2025, 1, 1), 1)  # 元旦
    | _span(date(2025, 1, 28), 8)  # 春节 1.28-2.4
    | _span(date(2025, 4, 4), 3)  # 清明 4.4-4.6
    | _span(date(2025, 5, 1), 5)  # 劳动节 5.1-5.5
    | _span(date(2025, 5, 31), 3)  # 端午 5.31-6.2
    | _span(date(2025, 10, 1), 8)  # 国庆、中秋 10.1-10.8
    # 2026
    | _span(date(2026, 1, 1), 3)  # 元旦 1.1-1.3
    | _span(date(2026, 2, 15), 9)  # 春节 2.15-2.23
    | _span(date(2026, 4, 4), 3)  # 清明 4.4-4.6
    | _span(date(2026, 5, 1), 5)  # 劳动节 5.1-5.5
    | _span(date(2026, 6, 19), 3)  # 端午 6.19-6.21
    | _span(date(2026, 9, 25), 3)  # 中秋 9.25-9.27
    | _span(date(2026, 10, 1), 7)  # 国庆 10.1-10.7
    # 2027 (provisional: statutory days only)
    | _span(date(2027, 1, 1), 1)  # 元旦
    | _span(date(2027, 2, 5), 4)  # 春节: 除夕 2.5, 初一至初三 2.6-2.8
    | _span(date(2027, 4, 5), 1)  # 清明
    | _span(date(2027, 5, 1), 2)  # 劳动节
    | _span(date(2027, 6, 9), 1)  # 端午
    | _span(date(2027, 9, 15), 1)  # 中秋
    | _span(date(2027, 10, 1), 3)  # 国庆
)

#: Weekend days that are working days because a holiday block borrowed them (调休上班).
MAKEUP_WORKDAYS: frozenset[date] = frozenset(
    {
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    }
)

COVERED_YEARS = (2025, 2026, 2027)
PROVISIONAL_YEARS = (2027,)


def is_holiday(day: date) -> bool:
    return day in HOLIDAYS


def is_trading_day(day: date) -> bool:
    """Exchanges open: a weekday that is not a public holiday (make-up Saturdays are not)."""
    return day.weekday() < 5 and day not in HOLIDAYS


def is_working_day(day: date) -> bool:
    """The bank works: a weekday or make-up working day that is not a public holiday."""
    if day in HOLIDAYS:
        return False
    return day.weekday() < 5 or day in MAKEUP_WORKDAYS


def next_trading_day(day: date) -> date:
    """The first trading day strictly after `day`."""
    day += timedelta(days=1)
    while not is_trading_day(day):
        day += timedelta(days=1)
    return day


def previous_trading_day(day: date) -> date:
    """The last trading day strictly before `day`."""
    day -= timedelta(days=1)
    while not is_trading_day(day):
        day -= timedelta(days=1)
    return day


def trading_day_on_or_after(day: date) -> date:
    return day if is_trading_day(day) else next_trading_day(day)


def trading_day_on_or_before(day: date) -> date:
    return day if is_trading_day(day) else previous_trading_day(day)


def add_trading_days(day: date, count: int) -> date:
    """`count` trading days after `day` (T+n counted from trade date T)."""
    for _ in range(count):
        day = next_trading_day(day)
    return day


def trading_days(start: date, end: date) -> list[date]:
    """Trading days in [start, end]."""
    days = []
    day = start
    while day <= end:
        if is_trading_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days
