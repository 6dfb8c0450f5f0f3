"""The Jinja2 environment shared by every page, with money formatting as a filter.

`amount|money(currency)` formats in the locale of the page's `store` when it has one
("12,50 €" for fr_LU), and as "12.50 EUR" otherwise.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from storeplex import words
from storeplex.money import exponent, to_major
from storeplex.money_format import format_major, format_money
from storeplex.words import Words

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


def requirement_list(config: object) -> list[Words]:
    """The requirements Stripe lists for a store's account (its `requirements_due`), in words."""
    raw = getattr(config, "requirements_due", None) or "[]"
    try:
        codes = json.loads(raw)
    except ValueError:
        codes = []
    out: list[Words] = []
    seen: set[str] = set()
    for code in codes if isinstance(codes, list) else []:
        item = words.requirement(str(code))
        if item.sentence not in seen:  # tos_acceptance.date and .ip read the same
            seen.add(item.sentence)
            out.append(item)
    return out


templates.env.filters["requirement_list"] = requirement_list
templates.env.filters["disabled_words"] = words.disabled_reason
templates.env.filters["payment_words"] = words.payment_error
templates.env.filters["humanize_fields"] = words.humanize_fields
templates.env.globals["payment_error_words"] = words.payment_error_table()


_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_][\w]*\.)+[A-Za-z_]\w*:\s*")


def event_error(text: str | None) -> str:
    """A stored handler error without the exception's module path ("storeplex.payments.
    service.PaymentNotYetRecorded: Intent ... " reads "Intent ...")."""
    return _EXCEPTION_PREFIX.sub("", text or "", count=1)


templates.env.filters["event_error"] = event_error
