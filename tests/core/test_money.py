"""Money in words: every ISO 4217 currency with its own decimals, written for the reader's locale."""

from __future__ import annotations

import pytest

from core.money import money


@pytest.mark.parametrize(
    ("minor", "currency", "expected"),
    [
        (1250, "EUR", "12.50 EUR"),
        (1234, "BHD", "1.234 BHD"),  # three decimals: 1234 fils are 1.234 dinars, not 12.34
        (1500, "XOF", "1,500 XOF"),  # no decimals: 1500 francs, not 15.00
        (1500, "JPY", "1,500 JPY"),
        (123456789, "usd", "1,234,567.89 USD"),
    ],
)
def test_each_currency_has_its_own_decimals(minor: int, currency: str, expected: str) -> None:
    assert money(minor, currency) == expected


def test_the_readers_locale_writes_the_separators() -> None:
    assert money(123456, "RUB", "ru") == "1 234,56 RUB"  # a plain space, not U+00A0: SMS-safe
    assert money(1234, "BHD", "ru") == "1,234 BHD"
    assert money(123456, "CNY", "zh") == "1,234.56 CNY"
    assert money(1500, "XOF", "zh") == "1,500 XOF"


def test_an_unknown_locale_or_currency_still_gives_a_number() -> None:
    assert money(1250, "EUR", "xx-nowhere") == "12.50 EUR"
    assert money(1250, "EUR", "en-GB") == "12.50 EUR"
    assert money(1250, "XYZ") == "12.50 XYZ"
