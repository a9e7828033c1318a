"""The shipped default rule set: seeded live by the migration, exactly as documented."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from zhangyin.db import Database
from zhangyin.risk import service
from zhangyin.risk.defaults import DEFAULT_RULES
from zhangyin.risk.features import FEATURE_NAMES
from zhangyin.risk.rules import compile_rule

MIGRATION = Path(__file__).parents[2] / "zhangyin/migrations/versions/0003_risk.py"


def test_the_migration_seeds_the_default_rules_as_defined() -> None:
    spec = importlib.util.spec_from_file_location("risk_migration", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.DEFAULT_RULES == DEFAULT_RULES


def test_every_default_rule_compiles_is_live_and_documented(db: Database) -> None:
    live = {r.key: r for r in db.run(lambda s: service.list_rules(s, "live"))}
    docs = (Path(__file__).parents[2] / "docs/risk-rules.md").read_text()
    for rule in DEFAULT_RULES:
        compiled = compile_rule(rule["expression"], FEATURE_NAMES)
        assert live[rule["key"]].expression == rule["expression"]
        assert live[rule["key"]].outcome == compiled.outcome
        assert rule["key"] in docs and rule["expression"] in docs
