"""Model portfolios: the optimiser on a case solved by hand, and the five levels."""

from __future__ import annotations

from datetime import date

import numpy as np

from tests.wealth.factories import demo_shelf
from zhangyin.db import Database
from zhangyin.wealth import catalogue
from zhangyin.wealth.portfolio import (
    PortfolioAsset,
    build,
    max_drawdown,
    model_portfolios,
    optimise,
)


def test_two_assets_match_the_closed_form() -> None:
    # max w*0.05 + (1-w)*0.02 - (l/2) * w^2 * 0.04  ->  w = 0.03 / (0.04 l) = 0.3 for l = 2.5
    weights = optimise(np.array([0.05, 0.02]), np.array([[0.04, 0.0], [0.0, 0.0]]), 2.5, 1.0)
    assert np.allclose(weights, [0.3, 0.7], atol=1e-4)


def test_the_weight_cap_binds() -> None:
    weights = optimise(np.array([0.05, 0.02]), np.array([[0.04, 0.0], [0.0, 0.0]]), 0.1, 0.6)
    assert np.allclose(weights, [0.6, 0.4], atol=1e-4)


def test_max_drawdown() -> None:
    assert max_drawdown(np.array([1.0, 1.2, 0.9, 1.3, 1.04])) == 0.25


def test_a_riskless_only_universe_has_no_volatility() -> None:
    portfolio = build([PortfolioAsset("TD", "定期", 1, [], 100)], 1)
    assert portfolio.volatility_bp == 0 and portfolio.max_drawdown_bp == 0
    assert portfolio.expected_return_bp == 100
    assert [w.weight_bp for w in portfolio.weights] == [10_000]


def test_an_empty_shelf_has_no_model_portfolios(db: Database) -> None:
    assert model_portfolios([], date(2026, 3, 2)) == []
    demo_shelf(db, date(2026, 3, 2))
    tech = [p for p in db.run(lambda s: catalogue.list_products(s)) if p.code == "F-TECH"]
    assert [p.level for p in model_portfolios(tech, date(2026, 3, 2))] == [5]


def test_model_portfolios_respect_levels_and_rise_in_risk(db: Database) -> None:
    demo_shelf(db, date(2026, 3, 2))
    products = db.run(lambda s: catalogue.list_products(s))
    risk = {p.code: p.risk_level for p in products}
    portfolios = model_portfolios(products, date(2026, 3, 2))
    assert [p.level for p in portfolios] == [1, 2, 3, 4, 5]
    for p in portfolios:
        assert sum(w.weight_bp for w in p.weights) == 10_000
        assert all(risk[w.code] <= p.level for w in p.weights)
        assert all(not code.startswith("P-") for code in (w.code for w in p.weights))
        assert p.observations == 504
        assert p.bad_year_bp < p.expected_return_bp
    vols = [p.volatility_bp for p in portfolios]
    assert vols[0] < vols[2] < vols[4]
    assert portfolios[0].max_drawdown_bp <= portfolios[4].max_drawdown_bp
    # the same demo data gives the same answer
    again = model_portfolios(products, date(2026, 3, 2))
    assert [p.weights for p in again] == [p.weights for p in portfolios]
