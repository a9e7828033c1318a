"""Model portfolios (模型组合) for each risk level, built by a mean-variance optimiser.

For level C_n the universe is every non-pension product of risk R_n or lower
that can be held open-ended: NAV products with their (demo) NAV histories, and
deposits as riskless assets at their rate. SciPy's SLSQP maximises
`w·mu - (lambda_n / 2) w'Σw` with weights in [0, cap] summing to one; lambda_n
falls as the level rises. The expected return, volatility and maximum drawdown
shown are estimates from past (demo) data, not promises, and say so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy.optimize import minimize

from zhangyin.wealth.calendar import trading_day_on_or_before
from zhangyin.wealth.models import ProductKind, WealthProduct
from zhangyin.wealth.nav import TRADING_DAYS_PER_YEAR, demo_series

RISK_AVERSION = {1: 60.0, 2: 25.0, 3: 8.0, 4: 3.5, 5: 1.5}
MAX_WEIGHT = 0.6
Z_95 = 1.645


@dataclass(frozen=True)
class PortfolioAsset:
    code: str
    name: str
    risk_level: int
    navs: list[int]  # NAV e4 on consecutive trading days; empty for a deposit
    rate_bp: int = 0  # deposits: the annual rate


@dataclass(frozen=True)
class Weight:
    code: str
    name: str
    risk_level: int
    weight_bp: int


@dataclass(frozen=True)
class ModelPortfolio:
    level: int
    weights: list[Weight]
    expected_return_bp: int
    volatility_bp: int
    max_drawdown_bp: int
    bad_year_bp: int  # expected return minus 1.645 volatilities: a 1-in-20 bad year
    window_start: date | None
    window_end: date | None
    observations: int


def _daily_returns(assets: list[PortfolioAsset], length: int) -> np.ndarray:
    columns = []
    for asset in assets:
        if asset.navs:
            navs = np.asarray(asset.navs[-(length + 1) :], dtype=float)
            columns.append(navs[1:] / navs[:-1] - 1.0)
        else:
            daily = (1 + asset.rate_bp / 10_000) ** (1 / TRADING_DAYS_PER_YEAR) - 1
            columns.append(np.full(length, daily))
    return np.column_stack(columns)


def optimise(mu: np.ndarray, cov: np.ndarray, aversion: float, cap: float) -> np.ndarray:
    """Mean-variance weights: long only, each at most `cap` (relaxed when too few assets)."""
    n = len(mu)
    cap = max(cap, 1.0 / n)
    start = np.full(n, 1.0 / n)

    def objective(w: np.ndarray) -> float:
        return float(-(w @ mu) + aversion / 2 * (w @ cov @ w))

    def gradient(w: np.ndarray) -> np.ndarray:
        return np.asarray(-mu + aversion * (cov @ w))

    result = minimize(
        objective,
        start,
        jac=gradient,
        method="SLSQP",
        bounds=[(0.0, cap)] * n,
        constraints=[{"type": "eq", "fun": lambda w: float(np.sum(w) - 1.0)}],
        options={"maxiter": 500, "ftol": 1e-12},
    )
    weights = np.clip(result.x if result.success else start, 0.0, cap)
    return np.asarray(weights / weights.sum())


def max_drawdown(values: np.ndarray) -> float:
    peaks = np.maximum.accumulate(values)
    return float(np.max(1.0 - values / peaks)) if len(values) else 0.0


def build(
    assets: list[PortfolioAsset],
    level: int,
    *,
    window: tuple[date, date] | None = None,
) -> ModelPortfolio:
    universe = [a for a in assets if a.risk_level <= level]
    if not universe:
        raise ValueError(f"no product of risk R{level} or lower")
    lengths = [len(a.navs) - 1 for a in universe if a.navs]
    length = min(lengths) if lengths else TRADING_DAYS_PER_YEAR
    returns = _daily_returns(universe, length)
    mu = returns.mean(axis=0) * TRADING_DAYS_PER_YEAR
    cov = np.cov(returns, rowvar=False) * TRADING_DAYS_PER_YEAR
    cov = np.atleast_2d(cov)
    weights = optimise(mu, cov, RISK_AVERSION[level], MAX_WEIGHT)
    # Whole basis points that sum to exactly 10,000 (largest remainders).
    raw = weights * 10_000
    bps = np.floor(raw).astype(int)
    for index in np.argsort(-(raw - bps))[: 10_000 - int(bps.sum())]:
        bps[index] += 1
    expected = float(weights @ mu)
    volatility = math.sqrt(max(0.0, float(weights @ cov @ weights)))
    path = np.cumprod(1.0 + returns @ weights)
    return ModelPortfolio(
        level=level,
        weights=[
            Weight(a.code, a.name, a.risk_level, int(bp))
            for a, bp in sorted(zip(universe, bps, strict=True), key=lambda x: -x[1])
            if bp > 0
        ],
        expected_return_bp=round(expected * 10_000),
        volatility_bp=round(volatility * 10_000),
        max_drawdown_bp=round(max_drawdown(np.concatenate([[1.0], path])) * 10_000),
        bad_year_bp=round((expected - Z_95 * volatility) * 10_000),
        window_start=window[0] if window else None,
        window_end=window[1] if window else None,
        observations=length,
    )


def model_portfolios(products: Sequence[WealthProduct], end: date) -> list[ModelPortfolio]:
    """The five model portfolios from the catalogue's demo NAV histories up to `end`.

    `products` are catalogue rows (WealthProduct); NAV products use their demo
    series, one-year term deposits are the riskless asset.
    """
    last = trading_day_on_or_before(end)
    assets: list[PortfolioAsset] = []
    start: date | None = None
    for product in products:
        kind = ProductKind(product.kind)
        if product.pension_eligible:
            continue
        if kind in (ProductKind.FUND, ProductKind.WMP_OPEN):
            series = demo_series(product.code, product.drift_bp, product.volatility_bp, last)
            series = series[-(2 * TRADING_DAYS_PER_YEAR + 1) :]
            start = series[0][0]
            assets.append(
                PortfolioAsset(
                    product.code, product.name_zh, product.risk_level, [n for _, n in series]
                )
            )
        elif kind == ProductKind.TERM_DEPOSIT and product.term_days == 360:
            assets.append(
                PortfolioAsset(
                    product.code, product.name_zh, product.risk_level, [], product.rate_bp
                )
            )
    window = (start, last) if start else None
    # A level with nothing to hold (an empty or all-R5 shelf) has no model portfolio.
    return [
        build(assets, level, window=window)
        for level in range(1, 6)
        if any(a.risk_level <= level for a in assets)
    ]
