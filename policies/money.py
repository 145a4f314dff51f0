"""Money as Decimal in the business currency: rounded to the currency's minor unit, never float.

Prices are stored with two decimals (`Service.price`), so amounts are rounded to the currency's
exponent but never finer than a cent: 0 decimals for JPY or CLP, 2 for EUR, and 2 (which is
still a valid amount) for the three-decimal dinars.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel.numbers import format_currency, get_currency_precision

ZERO = Decimal("0")
HUNDRED = Decimal("100")
MAX_DECIMALS = 2  # what the database columns hold (DecimalField(decimal_places=2))


@cache
def quantum(currency: str) -> Decimal:
    """The smallest amount of `currency` Puntual handles: Decimal("0.01") for EUR, Decimal("1") for JPY."""
    return Decimal(1).scaleb(-min(get_currency_precision(currency), MAX_DECIMALS))


def to_money(amount: Decimal | int | str, currency: str) -> Decimal:
    """`amount` rounded half up to the currency's minor unit. Refuses floats: they are not exact."""
    if isinstance(amount, float):
        raise TypeError("Money is never a float; pass a Decimal or a string.")
    return Decimal(amount).quantize(quantum(currency), rounding=ROUND_HALF_UP)


def percent_of(price: Decimal, percent: Decimal, currency: str) -> Decimal:
    return to_money(price * percent / HUNDRED, currency)


def has_currency_precision(amount: Decimal, currency: str) -> bool:
    """Whether `amount` needs no rounding in `currency` (10.005 EUR does)."""
    return amount == amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


def format_money(amount: Decimal, currency: str, language: str) -> str:
    """`amount` as a reader of `language` writes it: "20,00 €" in Spanish, "€20.00" in English."""
    return format_currency(to_money(amount, currency), currency, locale=language)


def parse_money(text: str) -> Decimal | None:
    """An amount typed at the desk, "12.50" or "12,50" (no thousands separators): None when
    it is not a finite number. The services check its sign and decimals."""
    cleaned = text.strip().replace(",", ".")
    if not cleaned or cleaned.count(".") > 1:
        return None
    try:
        amount = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None
