"""Connect geography: where a platform may open connected accounts and send them money.

Sources (Stripe documentation):
* "Cross-border payouts" (Connect): platforms in the US, UK, EEA, Canada or Switzerland
  can transfer to connected accounts in any of those regions; elsewhere only accounts
  under the recipient service agreement, and not self-serve outside the listed regions.
* "Service agreement types": an account under the recipient agreement cannot request the
  card_payments capability.
* Stripe's answer to a platform creating accounts where it may not: "Connected accounts in
  XX cannot be created by platforms in YY."
"""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.emulator.support import Control, create_connected, make_client, register_key


async def _destination_charge(client: stripe.StripeClient, destination: str, currency: str) -> Any:
    return await client.v1.payment_intents.create_async(
        params={"amount": 2000, "currency": currency, "application_fee_amount": 100,
                "transfer_data": {"destination": destination},
                "payment_method": "pm_card_visa", "confirm": True}
    )  # fmt: skip


async def test_an_eu_platform_cannot_pay_a_japanese_account(
    client: stripe.StripeClient, control: Control
) -> None:
    """Cross-border payouts: JP is outside the regions a LU platform pays on the full
    service agreement, so destination charges and transfers to it are refused."""
    platform = await client.v1.accounts.retrieve_current_async()
    assert platform.country == "LU"
    tokyo = await create_connected(client, control, country="JP")
    assert tokyo.country == "JP" and tokyo.default_currency == "jpy"
    with pytest.raises(stripe.InvalidRequestError) as info:
        await _destination_charge(client, tokyo.id, "jpy")
    err = info.value
    assert err.http_status == 400 and err.code == "transfers_not_allowed"
    assert err.param == "transfer_data[destination]"
    assert "accounts located in JP" in str(err.user_message)
    assert "`full` service agreement" in str(err.user_message)
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.transfers.create_async(
            params={"amount": 100, "currency": "eur", "destination": tokyo.id}
        )
    assert info.value.code == "transfers_not_allowed"
    assert (await client.v1.payment_intents.list_async()).data == []


@pytest.mark.parametrize("country", ["DE", "GB", "CH", "US", "CA", "NO"])
async def test_an_eu_platform_pays_accounts_across_the_supported_regions(
    client: stripe.StripeClient, control: Control, country: str
) -> None:
    """Cross-border payouts: a platform in the EEA pays accounts in the US, UK, EEA,
    Canada and Switzerland."""
    account = await create_connected(client, control, country=country)
    transfer = await client.v1.transfers.create_async(
        params={"amount": 100, "currency": "eur", "destination": account.id,
                "source_transaction": (await _paid(client)).latest_charge}
    )  # fmt: skip
    assert transfer.destination == account.id


async def _paid(client: stripe.StripeClient) -> Any:
    return await client.v1.payment_intents.create_async(
        params={"amount": 1000, "currency": "eur", "payment_method": "pm_card_visa",
                "confirm": True}
    )  # fmt: skip


async def test_recipient_accounts_take_transfers_but_not_card_payments(
    client: stripe.StripeClient, control: Control
) -> None:
    """Cross-border payouts: outside the regions only the recipient service agreement is
    paid, and a recipient account cannot request card_payments."""
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.accounts.create_async(
            params={"type": "express", "country": "JP",
                    "tos_acceptance": {"service_agreement": "recipient"},
                    "capabilities": {"card_payments": {"requested": True},
                                     "transfers": {"requested": True}}}
        )  # fmt: skip
    assert info.value.param == "capabilities"
    recipient = await client.v1.accounts.create_async(
        params={"type": "express", "country": "JP",
                "tos_acceptance": {"service_agreement": "recipient"},
                "capabilities": {"transfers": {"requested": True}}}
    )  # fmt: skip
    control.onboard(recipient.id)
    recipient = await client.v1.accounts.retrieve_async(recipient.id)
    assert recipient.tos_acceptance.service_agreement == "recipient"
    transfer = await client.v1.transfers.create_async(
        params={"amount": 100, "currency": "eur", "destination": recipient.id,
                "source_transaction": (await _paid(client)).latest_charge}
    )  # fmt: skip
    assert transfer.amount == 100
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.accounts.update_async(
            recipient.id, params={"capabilities": {"card_payments": {"requested": True}}}
        )
    # A recipient-only country cannot be opened under the full agreement.
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.accounts.create_async(params={"type": "express", "country": "AR"})
    assert info.value.param == "tos_acceptance[service_agreement]"


async def test_a_platform_outside_the_regions_serves_its_own_country_only(
    emulator_url: str, control: Control
) -> None:
    """Cross-border payouts are not self-serve for platforms outside the US, UK, EEA, CA
    and CH: a JP platform opens JP accounts and no others."""
    client = make_client(emulator_url, register_key(emulator_url, country="JP"))
    assert (await client.v1.accounts.retrieve_current_async()).country == "JP"
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.accounts.create_async(params={"type": "express", "country": "US"})
    assert str(info.value.user_message).startswith(
        "Connected accounts in US cannot be created by platforms in JP."
    )
    home = await create_connected(client, control, country="JP")
    pi = await _destination_charge(client, home.id, "jpy")
    assert pi.status == "succeeded"


async def test_unknown_country_is_refused(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.accounts.create_async(params={"type": "express", "country": "ZZ"})
    assert info.value.param == "country" and "'ZZ' is unknown" in str(info.value.user_message)


async def test_account_country_defaults_to_the_platforms(emulator_url: str) -> None:
    """API reference, Create an account: country defaults to the platform's country."""
    client = make_client(emulator_url, register_key(emulator_url, country="GB"))
    account = await client.v1.accounts.create_async(params={"type": "express"})
    assert account.country == "GB" and account.default_currency == "gbp"
