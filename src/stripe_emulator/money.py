"""Currencies, minimum charge amounts, fees and rounding (integers in minor units).

Rules the emulator applies (all amounts are integer minor units):

* **Stripe processing fee** on a charge: ``round_half_up(amount * 1.5%)`` plus a
  fixed part of 25 minor units (EEA card pricing).  For zero-decimal currencies
  (JPY, KRW, ...) the fixed part is 0 and the percentage is rounded to whole
  units; for three-decimal currencies the fixed part is 250 (0.250).
* **Destination charge** (``transfer_data[destination]``), as Stripe models it:
  the platform balance receives the charge (``amount - processing fee``), a
  transfer of the whole ``amount`` (or ``transfer_data[amount]``) goes to the
  connected account, and ``application_fee_amount`` comes back from the
  connected account to the platform as an application fee.  Net effect: the
  connected account gains ``amount - application_fee_amount`` and the platform
  ``application_fee_amount - processing fee``.
* **Proportional refunds**: a refund of ``r`` on a charge of ``a`` reverses
  ``round_half_up(r * transfer_amount / a)`` of the transfer and refunds
  ``round_half_up(r * fee / a)`` of the application fee; the refund that
  completes the charge takes exactly what is left, so totals always add up.
* **Dispute fee**: 1500 minor units (zero-decimal: 15 units).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
THREE_DECIMAL = frozenset(["bhd", "jod", "kwd", "omr", "tnd"])

# Stripe's minimum charge amounts, in minor units.
MINIMUMS: dict[str, int] = {
    "usd": 50,
    "eur": 50,
    "gbp": 30,
    "chf": 50,
    "cad": 50,
    "aud": 50,
    "nzd": 50,
    "sgd": 50,
    "hkd": 400,
    "jpy": 50,
    "dkk": 250,
    "nok": 300,
    "sek": 300,
    "pln": 200,
    "czk": 1500,
    "huf": 17500,
    "ron": 200,
    "bgn": 100,
    "mxn": 1000,
    "brl": 50,
    "inr": 50,
    "thb": 1000,
    "myr": 200,
    "aed": 200,
    "krw": 500,
}

SUPPORTED = (
    frozenset(MINIMUMS)
    | ZERO_DECIMAL
    | THREE_DECIMAL
    | frozenset(["isk", "ils", "zar", "try", "php", "idr", "twd", "cny", "sar", "qar"])
)

DISPUTE_FEE = 1500


def exponent(currency: str) -> int:
    currency = currency.lower()
    if currency in ZERO_DECIMAL:
        return 0
    if currency in THREE_DECIMAL:
        return 3
    return 2


def minimum(currency: str) -> int:
    return MINIMUMS.get(currency.lower(), 50 if exponent(currency) == 2 else 1)


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def proportional(part: int, total: int, whole: int) -> int:
    """``round_half_up(part * whole / total)``."""
    if total == 0:
        return 0
    return round_half_up(Decimal(part) * Decimal(whole) / Decimal(total))


def processing_fee(amount: int, currency: str) -> int:
    exp = exponent(currency)
    fixed = {0: 0, 2: 25, 3: 250}[exp]
    fee = round_half_up(Decimal(amount) * Decimal("0.015")) + fixed
    return min(fee, amount)


def dispute_fee(currency: str) -> int:
    return {0: 15, 2: DISPUTE_FEE, 3: DISPUTE_FEE * 10}[exponent(currency)]


def display(amount: int, currency: str) -> str:
    """``50, "eur"`` -> ``"€0.50"`` (for error messages)."""
    symbols = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥"}
    exp = exponent(currency)
    value = Decimal(amount).scaleb(-exp)
    return f"{symbols.get(currency.lower(), '')}{value:.{exp}f}"
