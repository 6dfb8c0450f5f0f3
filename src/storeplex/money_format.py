"""Money for people, in a store's locale, with Babel: "12,50 €" (fr_LU), "€12.50" (en_IE),
"¥1,800" (en_US, JPY). Amounts stay integer minor units; this module only turns them
into text and a typed amount back into minor units (through `money.parse_amount`, so
the same limits apply). A store with no locale keeps the plain "12.50 EUR".
"""

from __future__ import annotations

import re
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import NumberFormatError, format_currency, get_decimal_symbol, parse_decimal

from storeplex.errors import BadRequest
from storeplex.money import exponent, format_amount, parse_amount, to_major

LOCALE_SHAPE = re.compile(r"[A-Za-z]{2,3}(_[A-Za-z0-9]{2,4}){0,2}")
AMOUNT_CHARACTERS = re.compile(r"[0-9][0-9.,'\u2019]{0,30}")
PLAIN_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,3})?")


def normalize_locale(value: str, *, field: str = "locale") -> str:
    """A known Babel locale in its canonical spelling (fr_LU), or a 400 saying what is wrong."""
    text = (value or "").strip().replace("-", "_")
    try:
        if not LOCALE_SHAPE.fullmatch(text):
            raise ValueError
        return str(Locale.parse(text))
    except (UnknownLocaleError, ValueError, TypeError):
        raise BadRequest(
            f"Unknown locale {value!r}; use a language and country code such as fr_LU or en_IE",
            field=field,
        ) from None


def format_money(amount: int, currency: str, locale: str | None = None) -> str:
    """An amount in minor units as the store's shoppers read it."""
    if not locale:
        return format_amount(amount, currency)
    return (
        format_currency(
            to_major(amount, currency),
            currency.upper(),
            locale=locale,
            currency_digits=True,
            format_type="standard",
        )
        .replace("\xa0", " ")
        .replace("\u202f", " ")
    )


def format_major(amount: int, currency: str, locale: str | None = None) -> str:
    """An amount as a form field shows it, in the locale's decimal sign ("10,50"), with no
    currency and no grouping, so that `parse_money` reads it back to the same amount."""
    text = f"{to_major(amount, currency):.{exponent(currency)}f}"
    return text.replace(".", get_decimal_symbol(locale)) if locale else text


def parse_money(
    text: str, currency: str, locale: str | None = None, *, field: str = "amount"
) -> int:
    """What a person typed in the store's locale ("10,50" in fr_LU) to minor units."""
    if not locale:
        return parse_amount(text, currency, field=field)
    cleaned = (text or "").strip().replace(" ", "").replace("\xa0", "").replace("\u202f", "")
    try:
        if not AMOUNT_CHARACTERS.fullmatch(cleaned):
            raise NumberFormatError("not digits and separators")
        number = parse_decimal(cleaned, locale=locale, strict=True)
    except NumberFormatError:
        if PLAIN_DECIMAL.fullmatch(cleaned):  # "10.50" typed the programmer's way
            return parse_amount(cleaned, currency, field=field)
        decimal_sign = Locale.parse(locale).number_symbols["latn"]["decimal"]
        raise BadRequest(
            f"{text!r} is not an amount; write it like 12{decimal_sign}50", field=field
        ) from None
    return parse_amount(Decimal(number), currency, field=field)
