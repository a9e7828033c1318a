"""Payments tests decide risk themselves; tests marked `real_risk` use the real engine.

The risk engine's own tests cover how it decides; here most tests need a known
answer (allow) so that they test payments. The `real_risk` tests prove the
wiring: a real decision is asked for, recorded and acted on. While the risk
domain is still landing (service importable, tables not yet migrated) they skip.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest

import zhangyin
from zhangyin.payments import service

_VERSIONS = Path(zhangyin.__file__).parent / "migrations" / "versions"


def _risk_installed() -> bool:
    try:
        importlib.import_module("zhangyin.risk.service")
    except ImportError:
        return False
    return any("risk_decisions" in p.read_text() for p in _VERSIONS.glob("*.py"))


RISK_INSTALLED = _risk_installed()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_risk: use the real risk engine, not an allow-all")


@pytest.fixture(autouse=True)
def _risk_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("real_risk"):
        if not RISK_INSTALLED:
            pytest.skip("the risk domain is not installed yet")
        return

    def allow(session: Any, caller: Any, payment: Any, *, new_payee: bool) -> service.RiskVerdict:
        return service.RiskVerdict(None, "allow", [])

    monkeypatch.setattr(service, "_risk_decision", allow)

    def allow_operation(session: Any, caller: Any, **facts: Any) -> service.RiskVerdict:
        return service.RiskVerdict(None, "allow", [])

    monkeypatch.setattr(service, "assess_operation", allow_operation)
