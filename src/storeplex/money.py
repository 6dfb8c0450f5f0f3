"""Money: integer amounts in a currency's minor unit, and the only place that converts.

Rule for newcomers: never hold money in a float. Amounts are `int` minor units
(cents for EUR, whole yen for JPY, fils for KWD) beside a 3-letter currency.
Human input is parsed from decimal strings here; display goes through
`to_major`. The platform fee is rounded half-up, then clamped to [0, total],
and the store receives the rest, so fee + store amount == total, always.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from pydantic.json_schema import JsonDict

from storeplex.errors import BadRequest

ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split()  # noqa: SIM905
)
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])

# Stripe's minimum charge amounts in minor units (Stripe docs: currencies, minimum charge).
MINIMUM_CHARGE: dict[str, int] = {
    "USD": 50, "AED": 200, "AUD": 50, "BGN": 100, "BRL": 50, "CAD": 50, "CHF": 50,
    "CZK": 1500, "DKK": 250, "EUR": 50, "GBP": 30, "HKD": 400, "HUF": 17500,
    "INR": 50, "JPY": 50, "MXN": 1000, "MYR": 200, "NOK": 300, "NZD": 50,
    "PLN": 200, "RON": 200, "SEK": 300, "SGD": 50, "THB": 1000,
}  # fmt: skip
# For currencies Stripe lists no minimum for, the equivalent of USD 0.50 is unknown to us;
# we require at least one major unit's worth of minor units as a conservative floor.

MAX_AMOUNT = 99_999_999  # Stripe's maximum for an amount in most currencies (8 digits).

SUPPORTED_CURRENCIES = frozenset(MINIMUM_CHARGE) | ZERO_DECIMAL | THREE_DECIMAL


def exponent(currency: str) -> int:
    """How many decimal places the currency's minor unit has (0, 2 or 3)."""
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def normalize_currency(currency: str) -> str:
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha() or code not in SUPPORTED_CURRENCIES:
        raise BadRequest(f"Unsupported currency {currency!r}", field="currency")
    return code


def minimum_charge(currency: str) -> int:
    code = currency.upper()
    if code in MINIMUM_CHARGE:
        return MINIMUM_CHARGE[code]
    return 10 ** exponent(code)


# The longest money string we read: far more than any amount Stripe accepts
# ("99999999.999" is 12 characters), far less than what makes Decimal work hard.
MAX_AMOUNT_TEXT = 24
# ASCII digits only (str.isdigit and Decimal also take "١٢" and "²"), one optional
# decimal point, no sign, exponent or spaces inside.
_DECIMAL_TEXT = re.compile(r"([0-9]+)(?:\.([0-9]*))?|\.([0-9]+)", re.ASCII)
# For request schemas: the money string's limits, documented; `parse_decimal_text` enforces
# them (as a 400 naming the field) rather than the schema (a 422).
MONEY_TEXT_SCHEMA: JsonDict = {
    "maxLength": MAX_AMOUNT_TEXT,
    "pattern": r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)$",
}
_NOT_FINITE = frozenset("nan snan inf infinity +inf -inf +infinity -infinity".split())  # noqa: SIM905


def parse_decimal_text(value: object, *, field: str, decimals: int) -> Decimal:
    """A non-negative decimal string ("12.50") as a Decimal, checked before Decimal sees it.

    The text must be at most MAX_AMOUNT_TEXT characters of ASCII digits with one
    optional decimal point and at most `decimals` digits after it; anything else
    ("1e300000", "١٢", "NaN", "-1", a 10,000-digit string) is a 400 naming the
    field. Decimal never parses an exponent here, so no input can make it build
    a huge number.
    """
    if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):
        raise BadRequest('Send amounts as a decimal string, for example "12.50"', field=field)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise BadRequest(f"{field} must be a finite number", field=field)
        if abs(value.adjusted()) > MAX_AMOUNT_TEXT:
            raise BadRequest(f"{field} is too large", field=field)
        text = format(value, "f")
    elif isinstance(value, int):
        if abs(value) >= 10**MAX_AMOUNT_TEXT:
            raise BadRequest(f"{field} is too large", field=field)
        text = str(value)
    else:
        text = value.strip()
    if not text:
        raise BadRequest(f"{field} is required", field=field)
    if len(text) > MAX_AMOUNT_TEXT:
        raise BadRequest(f"{field} is too long: at most {MAX_AMOUNT_TEXT} characters", field=field)
    match = _DECIMAL_TEXT.fullmatch(text)
    if match is None:
        if text.startswith("-") and _DECIMAL_TEXT.fullmatch(text[1:]):
            raise BadRequest(f"{field} cannot be negative", field=field)
        if text.lower() in _NOT_FINITE:
            raise BadRequest(f"{field}: {text!r} is not a finite number", field=field)
        raise BadRequest(
            f"{field}: {text!r} is not a number; use digits 0-9 and at most one '.', "
            'for example "12.50"',
            field=field,
        )
    fraction = match.group(2) or match.group(3) or ""
    if len(fraction.rstrip("0")) > decimals:
        raise BadRequest(f"{field} has at most {decimals} decimal places", field=field)
    return Decimal(text)


def parse_amount(value: str | int | Decimal, currency: str, *, field: str = "amount") -> int:
    """Parse a human amount ("12.50") into minor units, refusing anything inexact.

    Checked as text first (see `parse_decimal_text`): negative, NaN, infinite,
    exponents, non-ASCII digits, floats, overlong strings and more decimals than
    the currency has are refused with a 400 that names the field. Three-decimal
    currencies must end in 0 (Stripe requires it).
    """
    exp = exponent(currency)
    try:
        number = parse_decimal_text(value, field=field, decimals=exp)
    except BadRequest as exc:
        if "decimal places" in exc.message:
            raise BadRequest(
                f"{currency.upper()} amounts have at most {exp} decimal places", field=field
            ) from None
        raise
    result = int(number.scaleb(exp))  # exact: at most `exp` decimals, at most 24 digits
    if exp == 3 and result % 10 != 0:
        raise BadRequest(f"{currency.upper()} amounts must end in 0", field=field)
    if result > MAX_AMOUNT:
        raise BadRequest("The amount is too large", field=field)
    return result


def parse_percentage(value: object, *, field: str) -> Decimal:
    """A percentage from 0 to 100 with at most two decimals ("2.50"), checked as text first."""
    try:
        pct = parse_decimal_text(value, field=field, decimals=2)
    except BadRequest as exc:
        raise BadRequest(
            f"{field} must be between 0 and 100 with at most two decimals ({exc.message})",
            field=field,
        ) from None
    if pct > 100:
        raise BadRequest(
            f"{field} must be between 0 and 100 with at most two decimals", field=field
        )
    return pct.quantize(Decimal("0.01"))


def to_major(amount: int, currency: str) -> Decimal:
    """Minor units to a Decimal in major units, for display only."""
    return Decimal(amount).scaleb(-exponent(currency))


def format_amount(amount: int, currency: str) -> str:
    """'12.50 EUR', '1250 JPY'."""
    exp = exponent(currency)
    return f"{to_major(amount, currency):.{exp}f} {currency.upper()}"


@dataclass(frozen=True, slots=True)
class FeeSplit:
    total: int
    platform_fee: int
    store_amount: int


def split_platform_fee(total: int, percentage: Decimal, fixed_fee: int = 0) -> FeeSplit:
    """Platform fee = round-half-up(total × percentage / 100) + fixed fee, clamped to [0, total].

    The store amount is the rest, so platform_fee + store_amount == total exactly.
    """
    if total < 0:
        raise ValueError("total must not be negative")
    if not (Decimal(0) <= percentage <= Decimal(100)):
        raise ValueError("percentage must be between 0 and 100")
    proportional = (Decimal(total) * percentage / Decimal(100)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    fee = min(max(int(proportional) + fixed_fee, 0), total)
    return FeeSplit(total=total, platform_fee=fee, store_amount=total - fee)


def proportional_share(part: int, whole: int, amount: int) -> int:
    """round-half-up(amount × part / whole): e.g. the share of a fee a partial refund returns."""
    if whole <= 0:
        return 0
    return int(
        (Decimal(amount) * Decimal(part) / Decimal(whole)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    )
