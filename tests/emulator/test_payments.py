"""Destination charges with every test card, 3-D Secure, capture, cancel, saved cards.

Sources (Stripe documentation): "Create destination charges" (transfer_data, the
automatic transfer and its destination payment, application_fee_amount collected as an
application fee), "Testing" (test card numbers, declines and their decline codes),
"3D Secure authentication", "Place a hold on a payment method" (manual capture), and the
API reference for PaymentIntents.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import stripe

from tests.emulator.support import Control, pending


async def card_pm(client: stripe.StripeClient, number: str, **opts: Any) -> str:
    pm = await client.v1.payment_methods.create_async(
        params={
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        },
        **opts,
    )
    return pm.id


async def authenticate(url: str, outcome: str) -> httpx.Response:
    """Act as the shopper on the hosted 3-D Secure page."""
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert page.status_code == 200 and "Complete authentication" in page.text
        return await http.post(url, data={"outcome": outcome})


SUCCESS = ["pm_card_visa", "4242424242424242", "pm_card_mastercard", "5555555555554444"]
DECLINES = [
    ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    ("4000000000000002", "card_declined", "generic_decline", "Your card was declined."),
    (
        "pm_card_visa_chargeDeclinedInsufficientFunds",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    (
        "4000000000009995",
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card", "Your card has expired."),
    ("4000000000000069", "expired_card", "expired_card", "Your card has expired."),
    (
        "pm_card_chargeDeclinedIncorrectCvc",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
    (
        "4000000000000127",
        "incorrect_cvc",
        "incorrect_cvc",
        "Your card's security code is incorrect.",
    ),
]
ACTION = [
    "pm_card_authenticationRequired",
    "4000002760003184",
    "4000002500003155",
    "4000008400001629",
]


async def _pm(client: stripe.StripeClient, card: str) -> str:
    return card if card.startswith("pm_") else await card_pm(client, card)


@pytest.mark.parametrize("card", SUCCESS)
async def test_destination_charge_succeeds_and_moves_money(
    client: stripe.StripeClient, connected: stripe.Account, card: str
) -> None:
    platform_before = await client.v1.balance.retrieve_async()
    connected_before = await client.v1.balance.retrieve_async(
        options={"stripe_account": connected.id}
    )
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 1000,
            "currency": "eur",
            "application_fee_amount": 123,
            "transfer_data": {"destination": connected.id},
            "payment_method": await _pm(client, card),
            "confirm": True,
            "metadata": {"order_id": "7"},
            "expand": ["latest_charge.balance_transaction"],
        }
    )
    assert pi.status == "succeeded" and pi.amount_received == 1000
    charge = pi.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.id.startswith("ch_") and charge.paid and charge.captured and not charge.refunded
    assert charge.amount_refunded == 0 and charge.disputed is False
    assert charge.payment_method_details.card.last4 == card[-4:] or card.startswith("pm_")
    assert charge.payment_method_details.card.brand in ("visa", "mastercard")
    assert charge.outcome.type == "authorized"
    txn = charge.balance_transaction
    assert isinstance(txn, stripe.BalanceTransaction)
    assert (txn.amount, txn.fee, txn.net, txn.status) == (1000, 40, 960, "pending")  # 1.5% + 25
    assert charge.metadata["order_id"] == "7"

    full = await client.v1.charges.retrieve_async(
        charge.id, params={"expand": ["transfer", "application_fee"]}
    )
    transfer = full["transfer"]
    assert transfer.destination == connected.id and transfer.amount == 1000
    assert transfer.source_transaction == charge.id
    fee = full.application_fee
    assert isinstance(fee, stripe.ApplicationFee)
    assert (
        fee.amount == 123
        and fee.account == connected.id
        and fee.originating_transaction == charge.id
    )

    platform_after = await client.v1.balance.retrieve_async()
    connected_after = await client.v1.balance.retrieve_async(
        options={"stripe_account": connected.id}
    )
    assert pending(platform_after) - pending(platform_before) == 123 - 40
    assert pending(connected_after) - pending(connected_before) == 1000 - 123

    payment = await client.v1.charges.retrieve_async(
        transfer.destination_payment, options={"stripe_account": connected.id}
    )
    assert payment.id.startswith("py_") and payment.amount == 1000

    events = await client.v1.events.list_async(params={"limit": 20})
    types = [e.type for e in events.data]
    for expected in (
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "application_fee.created",
        "transfer.created",
    ):
        assert expected in types
    connected_events = await client.v1.events.list_async(options={"stripe_account": connected.id})
    # No "payment.created": the SDK knows no such event type (the destination payment is
    # seen through the transfer and the account's balance transactions).
    assert "payment.created" not in [e.type for e in connected_events.data]
    assert all(e.account == connected.id for e in connected_events.data)


@pytest.mark.parametrize(("card", "code", "decline_code", "message"), DECLINES)
async def test_declines_raise_card_error(
    client: stripe.StripeClient,
    connected: stripe.Account,
    card: str,
    code: str,
    decline_code: str,
    message: str,
) -> None:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 2500,
            "currency": "eur",
            "application_fee_amount": 100,
            "transfer_data": {"destination": connected.id},
        }
    )
    with pytest.raises(stripe.CardError) as info:
        await client.v1.payment_intents.confirm_async(
            pi.id, params={"payment_method": await _pm(client, card)}
        )
    err = info.value
    assert err.http_status == 402 and err.code == code
    assert err.error is not None and err.error.decline_code == decline_code
    assert err.user_message == message
    assert err.json_body["error"]["payment_intent"]["id"] == pi.id
    after = await client.v1.payment_intents.retrieve_async(
        pi.id, params={"expand": ["latest_charge"]}
    )
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.decline_code == decline_code
    assert after.latest_charge.status == "failed" and after.latest_charge.failure_code == code
    types = [e.type for e in (await client.v1.events.list_async()).data]
    assert "payment_intent.payment_failed" in types and "charge.failed" in types
    # a failed attempt is not final: retry with a good card on the same intent
    retry = await client.v1.payment_intents.confirm_async(
        pi.id, params={"payment_method": "pm_card_visa"}
    )
    assert retry.status == "succeeded"


@pytest.mark.parametrize("card", ACTION)
async def test_three_d_secure_complete(
    client: stripe.StripeClient, connected: stripe.Account, card: str
) -> None:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 1500,
            "currency": "eur",
            "application_fee_amount": 150,
            "transfer_data": {"destination": connected.id},
            "payment_method": await _pm(client, card),
            "confirm": True,
            "return_url": "https://shop.example/done?order=9",
        }
    )
    assert pi.status == "requires_action"
    assert pi.next_action.type == "redirect_to_url"
    url = pi.next_action.redirect_to_url.url
    assert "/_emulator/hosted/3ds/" in url
    response = await authenticate(url, "complete")
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    query = parse_qs(location.query)
    assert location.netloc == "shop.example" and query["order"] == ["9"]
    assert query["payment_intent"] == [pi.id] and query["payment_intent_client_secret"] == [
        pi.client_secret
    ]
    after = await client.v1.payment_intents.retrieve_async(pi.id)
    if card == "4000008400001629":
        assert query["redirect_status"] == ["failed"]
        assert after.status == "requires_payment_method"
        assert after.last_payment_error.code == "card_declined"
    else:
        assert query["redirect_status"] == ["succeeded"]
        assert after.status == "succeeded" and after.latest_charge


async def test_three_d_secure_failed(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 1500,
            "currency": "eur",
            "transfer_data": {"destination": connected.id},
            "payment_method": "pm_card_authenticationRequired",
            "confirm": True,
            "return_url": "https://shop.example/done",
        }
    )
    response = await authenticate(pi.next_action.redirect_to_url.url, "fail")
    assert parse_qs(urlsplit(response.headers["location"]).query)["redirect_status"] == ["failed"]
    after = await client.v1.payment_intents.retrieve_async(pi.id)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error.code == "payment_intent_authentication_failure"
    assert after.latest_charge is None
    balance = await client.v1.balance.retrieve_async(options={"stripe_account": connected.id})
    assert pending(balance) == 0


async def test_destination_validation(client: stripe.StripeClient, control: Control) -> None:
    unboarded = await client.v1.accounts.create_async(params={"type": "express", "country": "LU"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payment_intents.create_async(
            params={
                "amount": 1000,
                "currency": "eur",
                "transfer_data": {"destination": unboarded.id},
            }
        )
    assert info.value.param == "transfer_data[destination]"
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payment_intents.create_async(
            params={
                "amount": 1000,
                "currency": "eur",
                "transfer_data": {"destination": "acct_1nope"},
            }
        )
    assert info.value.param == "transfer_data[destination]"
    control.onboard(unboarded.id)
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payment_intents.create_async(
            params={
                "amount": 1000,
                "currency": "eur",
                "application_fee_amount": 1001,
                "transfer_data": {"destination": unboarded.id},
            }
        )
    assert info.value.param == "application_fee_amount"
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payment_intents.create_async(
            params={"amount": 1000, "currency": "eur", "application_fee_amount": 10}
        )
    assert info.value.param == "application_fee_amount"


async def test_zero_decimal_currency(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 5000,
            "currency": "jpy",
            "application_fee_amount": 500,
            "transfer_data": {"destination": connected.id},
            "payment_method": "pm_card_visa",
            "confirm": True,
            "expand": ["latest_charge.balance_transaction"],
        }
    )
    assert pi.latest_charge.balance_transaction.fee == 75  # 1.5%, no fixed part
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.payment_intents.create_async(params={"amount": 49, "currency": "jpy"})


async def test_manual_capture_and_cancel(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 2000,
            "currency": "eur",
            "application_fee_amount": 200,
            "capture_method": "manual",
            "transfer_data": {"destination": connected.id},
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert pi.status == "requires_capture" and pi.amount_capturable == 2000
    balance = await client.v1.balance.retrieve_async(options={"stripe_account": connected.id})
    assert pending(balance) == 0
    captured = await client.v1.payment_intents.capture_async(pi.id)
    assert captured.status == "succeeded" and captured.amount_received == 2000
    balance = await client.v1.balance.retrieve_async(options={"stripe_account": connected.id})
    assert pending(balance) == 1800
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payment_intents.cancel_async(pi.id)
    assert info.value.code == "payment_intent_unexpected_state"

    other = await client.v1.payment_intents.create_async(params={"amount": 700, "currency": "eur"})
    canceled = await client.v1.payment_intents.cancel_async(
        other.id, params={"cancellation_reason": "abandoned"}
    )
    assert canceled.status == "canceled" and canceled.cancellation_reason == "abandoned"
    types = [e.type for e in (await client.v1.events.list_async()).data]
    assert "payment_intent.canceled" in types


async def test_update_intent_amount(client: stripe.StripeClient, connected: stripe.Account) -> None:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 1000,
            "currency": "eur",
            "transfer_data": {"destination": connected.id},
            "application_fee_amount": 100,
        }
    )
    updated = await client.v1.payment_intents.update_async(
        pi.id, params={"amount": 1200, "application_fee_amount": 120, "metadata": {"v": "2"}}
    )
    assert (updated.amount, updated.application_fee_amount, updated.metadata["v"]) == (
        1200,
        120,
        "2",
    )
    await client.v1.payment_intents.confirm_async(pi.id, params={"payment_method": "pm_card_visa"})
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.payment_intents.update_async(pi.id, params={"amount": 1300})


async def test_saved_card_off_session(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    customer = await client.v1.customers.create_async(params={"email": "shopper@example.com"})
    pm = await card_pm(client, "4000002500003155")
    first = await client.v1.payment_intents.create_async(
        params={
            "amount": 1000,
            "currency": "eur",
            "customer": customer.id,
            "setup_future_usage": "off_session",
            "transfer_data": {"destination": connected.id},
            "payment_method": pm,
            "confirm": True,
            "return_url": "https://shop.example/r",
        }
    )
    assert first.status == "requires_action"
    await authenticate(first.next_action.redirect_to_url.url, "complete")
    saved = await client.v1.customers.payment_methods.list_async(customer.id)
    assert [p.id for p in saved.data] == [pm]
    again = await client.v1.payment_intents.create_async(
        params={
            "amount": 900,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": pm,
            "off_session": True,
            "confirm": True,
            "transfer_data": {"destination": connected.id},
        }
    )
    assert again.status == "succeeded"
    types = [e.type for e in (await client.v1.events.list_async(params={"limit": 50})).data]
    assert "payment_method.attached" in types


async def test_setup_intent_then_off_session(client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(params={"email": "s@example.com"})
    pm = await card_pm(client, "4000002500003155")
    seti = await client.v1.setup_intents.create_async(
        params={
            "customer": customer.id,
            "payment_method": pm,
            "confirm": True,
            "return_url": "https://x.example/s",
        }
    )
    assert seti.status == "requires_action"
    response = await authenticate(seti.next_action.redirect_to_url.url, "complete")
    assert "setup_intent=" in response.headers["location"]
    assert (await client.v1.setup_intents.retrieve_async(seti.id)).status == "succeeded"
    off = await client.v1.payment_intents.create_async(
        params={
            "amount": 800,
            "currency": "eur",
            "customer": customer.id,
            "payment_method": pm,
            "off_session": True,
            "confirm": True,
        }
    )
    assert off.status == "succeeded"
    # a card that always needs authentication cannot pay off-session
    with pytest.raises(stripe.CardError) as info:
        await client.v1.payment_intents.create_async(
            params={
                "amount": 800,
                "currency": "eur",
                "payment_method": "pm_card_authenticationRequired",
                "off_session": True,
                "confirm": True,
            }
        )
    assert info.value.code == "authentication_required"


async def test_payment_methods_attach_detach(client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(
        params={"email": "p@example.com", "name": "P"}
    )
    pm = await client.v1.payment_methods.attach_async(
        "pm_card_mastercard", params={"customer": customer.id}
    )
    assert pm.id.startswith("pm_") and pm.customer == customer.id and pm.card.brand == "mastercard"
    listed = await client.v1.payment_methods.list_async(
        params={"customer": customer.id, "type": "card"}
    )
    assert [p.id for p in listed.data] == [pm.id]
    updated = await client.v1.customers.update_async(
        customer.id, params={"invoice_settings": {"default_payment_method": pm.id}}
    )
    assert updated.invoice_settings.default_payment_method == pm.id
    detached = await client.v1.payment_methods.detach_async(pm.id)
    assert detached.customer is None
    types = [e.type for e in (await client.v1.events.list_async()).data]
    assert "payment_method.attached" in types and "payment_method.detached" in types
    deleted = await client.v1.customers.delete_async(customer.id)
    assert deleted.deleted is True


async def test_direct_charge_on_connected_account(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    opts: stripe.RequestOptions = {"stripe_account": connected.id}
    platform_before = await client.v1.balance.retrieve_async()
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 1000,
            "currency": "eur",
            "application_fee_amount": 100,
            "payment_method": "pm_card_visa",
            "confirm": True,
            "expand": ["latest_charge.balance_transaction"],
        },
        options=opts,
    )
    assert pi.status == "succeeded"
    txn = pi.latest_charge.balance_transaction
    assert (txn.amount, txn.fee, txn.net) == (1000, 140, 860)  # processing 40 + application fee 100
    connected_balance = await client.v1.balance.retrieve_async(options=opts)
    assert pending(connected_balance) == 860
    platform_after = await client.v1.balance.retrieve_async()
    assert pending(platform_after) - pending(platform_before) == 100
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.payment_intents.retrieve_async(pi.id)  # it lives on the connected account
    fees = await client.v1.application_fees.list_async()
    assert fees.data[0].account == connected.id and fees.data[0].charge == pi.latest_charge.id


async def test_setup_intent_decline_and_success_events(client: stripe.StripeClient) -> None:
    customer = await client.v1.customers.create_async(params={"email": "d@example.com"})
    seti = await client.v1.setup_intents.create_async(params={"customer": customer.id})
    with pytest.raises(stripe.CardError) as info:
        await client.v1.setup_intents.confirm_async(
            seti.id, params={"payment_method": "pm_card_visa_chargeDeclined"}
        )
    assert info.value.code == "card_declined"
    failed = await client.v1.setup_intents.retrieve_async(seti.id)
    assert (
        failed.status == "requires_payment_method"
        and failed.last_setup_error.code == "card_declined"
    )
    ok = await client.v1.setup_intents.confirm_async(
        seti.id, params={"payment_method": "pm_card_visa"}
    )
    assert ok.status == "succeeded" and ok.payment_method
    types = [
        e.type for e in (await client.v1.events.list_async(params={"type": "setup_intent.*"})).data
    ]
    assert types == ["setup_intent.succeeded", "setup_intent.setup_failed", "setup_intent.created"]
