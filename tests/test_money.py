"""Money at the edge: exact decimal strings in, exact minor units out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zhangyin.errors import pick_language
from zhangyin.money import (
    CURRENCY_EXPONENTS,
    MAX_AMOUNT_MINOR,
    Money,
    MoneyError,
    format_minor,
    parse_amount,
)


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("100.00", "CNY", 10_000),
        ("0.01", "CNY", 1),
        ("1234.5", "CNY", 123_450),
        ("7", "JPY", 7),
        ("12", "CNY", 1_200),
    ],
)
def test_parse_amount(text: str, currency: str, minor: int) -> None:
    assert parse_amount(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "code"),
    [
        ("0.001", "CNY", "amount_precision"),
        ("1.5", "JPY", "amount_precision"),
        ("0", "CNY", "amount_not_positive"),
        ("-1", "CNY", "invalid_amount"),
        ("1e3", "CNY", "invalid_amount"),
        (" 1", "CNY", "invalid_amount"),
        ("1,000", "CNY", "invalid_amount"),
        ("NaN", "CNY", "invalid_amount"),
        ("10000000000000.01", "CNY", "amount_too_large"),
        ("1", "XXX", "unknown_currency"),
    ],
)
def test_parse_amount_refuses(text: str, currency: str, code: str) -> None:
    with pytest.raises(MoneyError) as refused:
        parse_amount(text, currency)
    assert refused.value.code == code


@given(
    st.integers(min_value=1, max_value=MAX_AMOUNT_MINOR),
    st.sampled_from(sorted(CURRENCY_EXPONENTS)),
)
def test_format_then_parse_is_the_identity(minor: int, currency: str) -> None:
    assert parse_amount(format_minor(minor, currency), currency).minor == minor


def test_money_never_mixes_currencies_or_floats() -> None:
    with pytest.raises(MoneyError):
        Money(1, "CNY") + Money(1, "USD")
    with pytest.raises(MoneyError):
        Money(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        Money(True, "CNY")
    assert str(Money(-150, "CNY")) == "-1.50 CNY"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "zh-CN"),
        ("en-US", "en-US"),
        ("zh-TW,en;q=0.5", "zh-CN"),
        ("de, en;q=0.8", "en-US"),
        ("en;q=x", "zh-CN"),
    ],
)
def test_language_negotiation(header: str | None, language: str) -> None:
    assert pick_language(header) == language


def test_full_width_digits_are_not_an_amount() -> None:
    with pytest.raises(MoneyError) as refused:
        parse_amount("１００", "CNY")
    assert refused.value.code == "invalid_amount"
