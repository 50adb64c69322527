"""Money in words for people (messages, the board): Babel knows every ISO 4217 currency's decimals
and every locale's separators."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_currency, get_currency_precision

PATTERN = "#,##0.00 ¤¤"  # grouped, the locale's separators, then the ISO code


def money(amount_minor: int, currency: str, locale: str = "en") -> str:
    """Minor units written for `locale` with the currency's own decimals (ISO 4217, from Babel):
    en '1,234.50 EUR', '1.234 BHD' (3 decimals), '1,500 XOF' (none); ru '1 234,50 EUR'. The ISO
    code, not a symbol, and plain spaces: the text stays within an SMS's plain alphabet."""
    code = currency.upper()
    amount = Decimal(amount_minor).scaleb(-get_currency_precision(code))
    text = format_currency(amount, code, format=PATTERN, locale=_locale(locale), currency_digits=True)
    return text.replace("\xa0", " ").replace("\u202f", " ").strip()


def _locale(name: str) -> Locale:
    try:
        return Locale.parse(name.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse("en")
