"""The rule language: what it means, and how it refuses bad text (pointing at the position)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhangyin.risk.features import FEATURE_NAMES
from zhangyin.risk.rules import RuleSyntaxError, compile_rule


def run(text: str, **features: object) -> bool:
    return compile_rule(text).matches({k.replace("__", "."): v for k, v in features.items()})


def test_the_issue_example_challenges_a_night_payment_to_a_new_payee() -> None:
    rule = compile_rule(
        "payee.first_time and amount >= 5000 and hour_local in 0..6 -> challenge", FEATURE_NAMES
    )
    assert rule.outcome == "challenge"
    assert rule.names == {"payee.first_time", "amount", "hour_local"}
    night = {"payee.first_time": True, "amount": 8000.0, "hour_local": 2}
    assert rule.matches(night)
    assert not rule.matches({**night, "hour_local": 7})
    assert not rule.matches({**night, "payee.first_time": False})
    assert not rule.matches({**night, "amount": 4999.99})


def test_precedence_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    assert run("a or b and c -> hold", a=True, b=False, c=False)
    assert not run("(a or b) and c -> hold", a=True, b=False, c=False)
    assert run("not a and b -> hold", a=False, b=True)
    assert not run("not (a or b) -> hold", a=False, b=True)


def test_arithmetic_comparisons_lists_and_functions() -> None:
    assert run("x * 2 + 1 == 7 -> block", x=3)
    assert run("x / 4 < 1 -> block", x=3)
    assert run("-x < 0 -> block", x=3)
    assert run("abs(x - 10) <= 2 -> block", x=11)
    assert run("max(x, y) == 9 and min(x, y) == 1 -> block", x=1, y=9)
    assert run("channel in ['open_api', 'web'] -> hold", channel="open_api")
    assert run("channel not in ['app'] -> hold", channel="open_api")
    assert run("hour_local not in 8..20 -> hold", hour_local=23)
    assert run("amount >= 1_000_000 -> hold", amount=1_000_000)
    assert run('currency == "CNY" -> hold', currency="CNY")
    assert run("flag == true and other == null -> hold", flag=True, other=None)


def test_missing_values_never_make_a_rule_fire() -> None:
    assert not run("x > 1 -> block", x=None)
    assert not run("x <= 1 -> block")
    assert not run("x != 1 -> block", x=None)
    assert not run("x + 1 > 0 -> block", x=None)
    assert not run("x in 0..6 -> block", x=None)
    assert not run("x in [1, 2] -> block", x=None)
    assert not run("abs(x) > 0 -> block", x=None)
    assert not run("x > 1 -> block", x="2")  # a string is not a number


def test_division_by_zero_is_missing_not_an_error() -> None:
    assert not run("amount / count > 2 -> hold", amount=10, count=0)
    assert run("amount / count > 2 -> hold", amount=10, count=2)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("amount >= 5000 -> explode", 19, "expected an outcome"),
        ("amount >= 5000", 15, "expected '->'"),
        ("amount >= -> hold", 11, "expected a value"),
        ("(amount >= 5000 -> hold", 17, "expected ')'"),
        ("amount >= 5000 -> hold hold", 24, "after the outcome"),
        ("amount >= 5000 $ -> hold", 16, "unexpected character"),
        ("amount in 1.. -> hold", 15, "expected a value"),
        ("amount in [1, 2 -> hold", 17, "expected ']'"),
        ("amount in 1 -> hold", 13, "expected '..'"),
        ("amonut >= 5000 -> hold", 1, "did you mean 'amount'"),
        ("payee.first_tim -> hold", 1, "did you mean 'payee.first_time'"),
        ("__import__('os') -> block", 1, "unknown function"),
        ("open('x') -> block", 1, "unknown function"),
        ("abs(amount, amount) > 1 -> hold", 1, "abs takes one argument"),
        ("", 1, "empty"),
    ],
)
def test_bad_rule_text_points_at_the_position(text: str, position: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        compile_rule(text, FEATURE_NAMES)
    assert caught.value.position == position, caught.value
    assert fragment in caught.value.problem_en
    assert caught.value.problem_zh
    pointer = caught.value.pointer().splitlines()
    assert pointer[1].index("^") == position - 1


def test_overlong_and_deeply_nested_rules_are_refused() -> None:
    with pytest.raises(RuleSyntaxError):
        compile_rule("amount > 1 and " * 200 + "amount > 1 -> hold")
    with pytest.raises(RuleSyntaxError, match="nested too deeply"):
        compile_rule("(" * 60 + "amount" + ")" * 60 + " > 1 -> hold")


@given(st.text(max_size=80))
def test_any_text_either_compiles_or_raises_a_syntax_error(text: str) -> None:
    position = None
    try:
        rule = compile_rule(text, FEATURE_NAMES)
    except RuleSyntaxError as exc:
        position = exc.position
    if position is not None:
        assert 1 <= position <= max(1, len(text) + 1)
    else:
        assert rule.outcome in ("allow", "challenge", "delay", "hold", "block")
        rule.matches({})


@given(
    st.dictionaries(
        st.sampled_from(sorted(FEATURE_NAMES)),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False)),
    )
)
def test_default_rules_evaluate_any_feature_values_without_error(features: dict) -> None:  # type: ignore[type-arg]
    from zhangyin.risk.defaults import DEFAULT_RULES

    for rule in DEFAULT_RULES:
        compile_rule(rule["expression"], FEATURE_NAMES).matches(features)
