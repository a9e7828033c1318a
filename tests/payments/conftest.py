"""Payments tests decide risk themselves; tests marked `real_risk` use the real engine.

The risk engine's own tests cover how it decides; here most tests need a known
answer (allow) so that they test payments. The `real_risk` tests prove the
wiring: a real decision is asked for, recorded and acted on.
"""

from __future__ import annotations

from typing import Any

import pytest

from zhangyin.payments import service


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_risk: use the real risk engine, not an allow-all")


@pytest.fixture(autouse=True)
def _risk_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_risk"):
        return

    def allow(session: Any, caller: Any, payment: Any) -> service.RiskVerdict:
        return service.RiskVerdict(None, "allow", [])

    monkeypatch.setattr(service, "_risk_decision", allow)

    def allow_operation(session: Any, caller: Any, **facts: Any) -> service.RiskVerdict:
        return service.RiskVerdict(None, "allow", [])

    monkeypatch.setattr(service, "assess_operation", allow_operation)
