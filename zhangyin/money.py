"""Money: an integer count of minor units (fen for CNY) with an ISO 4217 currency.

Never a float. Decimal strings such as "100.00" exist only at the API edge, and
`parse_amount` refuses anything that is not an exact amount in the currency's
minor units (so "0.001" CNY is an error, not a rounding).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: ISO 4217 currencies the bank holds, with their minor-unit exponent.
CURRENCY_EXPONENTS: dict[str, int] = {
    "CNY": 2,
    "HKD": 2,
    "MOP": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
    "KRW": 0,
    "SGD": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
}

#: The largest amount any single operation may carry: 10^15 minor units
#: (ten trillion yuan). Anything larger is a typo or an attack.
MAX_AMOUNT_MINOR = 10**15

_DECIMAL_RE = re.compile(r"^[0-9]{1,30}(\.[0-9]{1,10})?$")


class MoneyError(ValueError):
    """An amount or currency that cannot be money; `code` is the problem code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_currency(currency: str) -> str:
    if currency not in CURRENCY_EXPONENTS:
        raise MoneyError("unknown_currency", f"unknown currency {currency!r}")
    return currency


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError("invalid_amount", "amount must be an integer count of minor units")
        check_currency(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(
                "currency_mismatch", f"cannot combine {self.currency} with {other.currency}"
            )

    def to_decimal_string(self) -> str:
        return format_minor(self.minor, self.currency)

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency}"


def format_minor(minor: int, currency: str) -> str:
    """Minor units as a decimal string with exactly the currency's decimals."""
    exponent = CURRENCY_EXPONENTS[check_currency(currency)]
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}.{frac:0{exponent}d}" if exponent else f"{sign}{whole}"


def parse_amount(text: str, currency: str) -> Money:
    """Parse a positive decimal string such as "100.00" into Money.

    Raises MoneyError with code `invalid_amount` (not a plain decimal),
    `amount_not_positive`, `amount_precision` (finer than the minor unit) or
    `amount_too_large`.
    """
    exponent = CURRENCY_EXPONENTS[check_currency(currency)]
    if not isinstance(text, str) or not _DECIMAL_RE.match(text):
        raise MoneyError("invalid_amount", f"{text!r} is not a decimal amount such as 100.00")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already rules these out
        raise MoneyError("invalid_amount", f"{text!r} is not a decimal amount") from exc
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError("amount_precision", f"{text} has more decimals than {currency} allows")
    return Money(check_amount_minor(int(scaled)), currency)


def check_amount_minor(minor: int) -> int:
    """A positive amount within MAX_AMOUNT_MINOR, or MoneyError."""
    if minor <= 0:
        raise MoneyError("amount_not_positive", "amount must be greater than zero")
    if minor > MAX_AMOUNT_MINOR:
        raise MoneyError("amount_too_large", "amount exceeds the largest allowed")
    return minor
