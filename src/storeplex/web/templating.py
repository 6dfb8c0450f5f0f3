"""The Jinja2 environment shared by every page, with money formatting as a filter.

`amount|money(currency)` formats in the locale of the page's `store` when it has one
("12,50 €" for fr_LU), and as "12.50 EUR" otherwise.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from storeplex.money import exponent, to_major
from storeplex.money_format import format_major, format_money

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


@pass_context
def money(context: Context, amount: int, currency: str) -> str:
    store = context.get("store")
    return format_money(amount, currency, getattr(store, "locale", None))


templates.env.filters["money"] = money


def major_units(amount: int, currency: str) -> str:
    """'12.50' for 1250 EUR, '1250' for 1250 JPY: an amount as a form field shows it."""
    return f"{to_major(amount, currency):.{exponent(currency)}f}"


@pass_context
def major(context: Context, amount: int, currency: str) -> str:
    """A form field's amount in the page's store's decimal sign ('12,50' for fr_LU)."""
    return format_major(amount, currency, getattr(context.get("store"), "locale", None))


templates.env.filters["major"] = major
