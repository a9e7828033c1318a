"""Every risk test gets its own engine (no cross-test caches) that checks versions on every call."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from zhangyin.risk import service
from zhangyin.risk.service import EngineConfig, RiskEngine


@pytest.fixture(autouse=True)
def risk_engine() -> Iterator[RiskEngine]:
    # A generous time budget: the shared test machine stalls for seconds at times, and a
    # budget overrun would (rightly) turn a decision into its fail-safe outcome.
    engine = RiskEngine(EngineConfig(version_check_seconds=0, budget_ms=30_000))
    service.configure(engine)
    yield engine
    service.configure(None)
