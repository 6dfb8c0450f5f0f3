"""Which stores this platform can pay, given the country of its own Stripe account.

Stripe's cross-border payouts: a platform in the US, the UK, the EEA, Canada or
Switzerland pays Express accounts (full service agreement, with card payments) in any of
those countries; a platform anywhere else pays accounts in its own country only.
"""

from __future__ import annotations


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


EEA = _codes(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LI LT LU MT NL NO PL PT RO SK SI ES SE IS"
)
PAYOUT_REGION = EEA | {"GB", "CH", "US", "CA"}


def why_cannot_pay(platform_country: str, store_country: str) -> str | None:
    """A sentence saying why a store in ``store_country`` cannot be paid, or None."""
    platform_country, store_country = platform_country.upper(), store_country.upper()
    if store_country == platform_country:
        return None
    if platform_country in PAYOUT_REGION and store_country in PAYOUT_REGION:
        return None
    if platform_country in PAYOUT_REGION:
        return (
            f"Stripe cannot pay a store in {store_country} from this platform: the platform's "
            f"Stripe account is in {platform_country}, and Stripe pays stores that take card "
            "payments only in the US, the UK, the EEA, Canada and Switzerland from there."
        )
    return (
        f"Stripe cannot pay a store in {store_country} from this platform: the platform's "
        f"Stripe account is in {platform_country}, and Stripe pays stores in that country only."
    )
