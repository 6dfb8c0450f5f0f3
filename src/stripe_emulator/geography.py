"""Where a platform may create connected accounts and send them money.

Stripe's cross-border payouts: a platform in the US, the UK, the EEA, Canada or
Switzerland can transfer to connected accounts in any of those countries; to other
countries only when the account is under the ``recipient`` service agreement (which
cannot take card payments). A platform elsewhere serves its own country only.
"""

from __future__ import annotations

from stripe_emulator.wire import StripeError


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


EEA = _codes(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LI LT LU MT NL NO PL PT RO SK SI ES SE IS"
)
# Platforms here pay accounts anywhere in this group on the full service agreement.
CROSS_BORDER_REGION = EEA | {"GB", "CH", "US", "CA"}
# Countries where Stripe accounts (platforms included) take card payments themselves.
FULL_COUNTRIES = CROSS_BORDER_REGION | _codes("AE AU BR GI HK IN JP MX MY NZ SG TH")
# A part of the countries where Stripe opens accounts only under the recipient agreement.
RECIPIENT_ONLY = _codes(
    "AG AL AM AR AZ BA BH BJ BN BO BS BT CI CL CO CR DO DZ EC EG ET GA GH GM GT GY IL JM "
    "JO KE KH KR KW KZ LC LK MA MC MD MG MK MN MO MU NA NE NG OM PA PE PH PK PY QA RS RW SA "
    "SM SN SV TN TR TT TW TZ UY UZ VN ZA"
)
ACCOUNT_COUNTRIES = FULL_COUNTRIES | RECIPIENT_ONLY


def check_country(country: str) -> str:
    """A platform country, upper-cased; ValueError when Stripe has no platforms there."""
    code = country.strip().upper()
    if code not in FULL_COUNTRIES:
        raise ValueError(f"{country!r} is not a country where a Stripe platform can be based")
    return code


def unknown_country(country: str) -> StripeError:
    return StripeError(
        400,
        f"Country '{country}' is unknown. Try using a 2-character alphanumeric country code "
        "instead, such as 'US', 'EG', or 'GB'. A full list of country codes is available at "
        "https://www.iso.org/iso-3166-country-codes.html",
        param="country",
        code="country_unsupported",
    )


def account_creation_error(
    platform_country: str, country: str, service_agreement: str, card_payments: bool
) -> StripeError | None:
    """Why a platform in ``platform_country`` cannot create this account, or None."""
    if country not in ACCOUNT_COUNTRIES:
        return unknown_country(country)
    if country != platform_country and platform_country not in CROSS_BORDER_REGION:
        return StripeError(
            400,
            f"Connected accounts in {country} cannot be created by platforms in "
            f"{platform_country}. Please contact us via https://support.stripe.com/contact "
            "if you need further assistance.",
            param="country",
        )
    if service_agreement == "recipient" and card_payments:
        return StripeError(
            400,
            "The `card_payments` capability cannot be requested for accounts under the "
            "`recipient` service agreement; request only `transfers`.",
            param="capabilities",
        )
    if service_agreement != "recipient" and country in RECIPIENT_ONLY:
        return StripeError(
            400,
            f"Accounts in {country} can only be created under the `recipient` service "
            "agreement (tos_acceptance[service_agreement]=recipient) by platforms in "
            f"{platform_country}.",
            param="tos_acceptance[service_agreement]",
        )
    return None


def transfer_error(
    platform_country: str, country: str, service_agreement: str, param: str | None = None
) -> StripeError | None:
    """Why funds cannot go from a platform in ``platform_country`` to this account, or None."""
    if country == platform_country:
        return None
    if platform_country in CROSS_BORDER_REGION and (
        country in CROSS_BORDER_REGION or service_agreement == "recipient"
    ):
        return None
    return StripeError(
        400,
        f"Funds can't be sent to accounts located in {country} when the account is under "
        f"the `{service_agreement}` service agreement. For more information, see "
        "https://stripe.com/docs/connect/cross-border-payouts.",
        param=param,
        code="transfers_not_allowed",
    )
