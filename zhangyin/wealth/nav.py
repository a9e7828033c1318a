"""NAV feed: where net asset values per unit come from (净值来源).

`NavFeed` is the one small interface; `DemoNavFeed` is the local implementation
used by default and in tests. It draws a geometric Brownian motion per product
from its drift and volatility, seeded by the product code and the day, so the
same product has the same history in every process and on every run (the
model portfolios and the check-up read these histories). A real feed (a fund
custodian's file, a market-data vendor) implements `nav_for` and is chosen by
configuration.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol

from zhangyin.wealth.calendar import trading_days

#: Every demo series starts at 1.0000 on this trading day.
DEMO_BASE_DATE = date(2024, 1, 2)
TRADING_DAYS_PER_YEAR = 252


@dataclass(frozen=True)
class NavModel:
    """What a feed needs to know of a product."""

    code: str
    drift_bp: int
    volatility_bp: int


class NavFeed(Protocol):
    name: str

    def nav_for(self, product: NavModel, day: date) -> int | None:
        """The NAV of `product` on trading day `day` in ten-thousandths, or None if not known."""
        ...


class DemoNavFeed:
    """Plausible, reproducible NAVs: GBM with the product's drift and volatility."""

    name = "demo"

    def nav_for(self, product: NavModel, day: date) -> int | None:
        if day < DEMO_BASE_DATE:
            return None
        series = demo_series(product.code, product.drift_bp, product.volatility_bp, day)
        return series[-1][1] if series and series[-1][0] == day else None


def _shock(code: str, day: date) -> float:
    return random.Random(f"{code}:{day.isoformat()}").gauss(0.0, 1.0)  # noqa: S311 - demo data


@lru_cache(maxsize=512)
def demo_series(code: str, drift_bp: int, volatility_bp: int, end: date) -> list[tuple[date, int]]:
    """(trading day, NAV e4) from DEMO_BASE_DATE to `end` for one product."""
    mu = drift_bp / 10_000
    sigma = volatility_bp / 10_000
    step_drift = (mu - sigma * sigma / 2) / TRADING_DAYS_PER_YEAR
    step_sigma = sigma / math.sqrt(TRADING_DAYS_PER_YEAR)
    log_nav = 0.0
    out: list[tuple[date, int]] = []
    for index, day in enumerate(trading_days(DEMO_BASE_DATE, end)):
        if index:
            log_nav += step_drift + step_sigma * _shock(code, day)
        out.append((day, max(1, round(10_000 * math.exp(log_nav)))))
    return out


def default_feed() -> NavFeed:
    return DemoNavFeed()
