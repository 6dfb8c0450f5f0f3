"""The Jinja2 environment shared by every page, with money formatting as a filter."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from storeplex.money import exponent, format_amount, to_major

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["money"] = format_amount


def major_units(amount: int, currency: str) -> str:
    """'12.50' for 1250 EUR, '1250' for 1250 JPY: an amount as a form field shows it."""
    return f"{to_major(amount, currency):.{exponent(currency)}f}"


templates.env.filters["major"] = major_units
