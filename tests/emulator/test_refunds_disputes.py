"""Refunds with proportional transfer reversal and fee refund; disputes.

Sources (Stripe documentation): "Create destination charges", sections "Issue refunds"
(reverse_transfer and refund_application_fee, reversed in proportion to the refund) and
"Disputes" (the platform's balance is debited for a dispute on a destination charge);
"Refund and cancel payments"; "Disputes" (statuses, funds withdrawn and reinstated, the
dispute fee); API reference for Transfer Reversals.
"""

from __future__ import annotations

import pytest
import stripe

from tests.emulator.support import Control, WebhookReceiver, available, pending


async def _paid(
    client: stripe.StripeClient,
    destination: str,
    amount: int = 1000,
    fee: int = 123,
    pm: str = "pm_card_visa",
) -> stripe.PaymentIntent:
    return await client.v1.payment_intents.create_async(
        params={
            "amount": amount,
            "currency": "eur",
            "application_fee_amount": fee,
            "transfer_data": {"destination": destination},
            "payment_method": pm,
            "confirm": True,
        }
    )


async def _transfer_and_fee(
    client: stripe.StripeClient, pi: stripe.PaymentIntent
) -> tuple[stripe.Transfer, stripe.ApplicationFee]:
    charge = await client.v1.charges.retrieve_async(
        pi.latest_charge, params={"expand": ["transfer", "application_fee"]}
    )
    return charge["transfer"], charge.application_fee


async def test_partial_then_full_refund_with_reversal_and_fee_refund(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    pi = await _paid(client, connected.id, amount=1000, fee=123)
    conn_before = await client.v1.balance.retrieve_async(options={"stripe_account": connected.id})
    plat_before = await client.v1.balance.retrieve_async()

    first = await client.v1.refunds.create_async(
        params={
            "payment_intent": pi.id,
            "amount": 333,
            "reason": "requested_by_customer",
            "reverse_transfer": True,
            "refund_application_fee": True,
            "metadata": {"r": "1"},
        }
    )
    assert first.status == "succeeded" and first.amount == 333 and first.charge == pi.latest_charge
    reversal = await client.v1.transfers.reversals.retrieve_async(
        (await _transfer_and_fee(client, pi))[0].id, first.transfer_reversal
    )
    assert reversal.amount == 333  # round(333 * 1000 / 1000)
    transfer, fee = await _transfer_and_fee(client, pi)
    assert transfer.amount_reversed == 333 and transfer.reversed is False
    assert fee.amount_refunded == 41  # round_half_up(333 * 123 / 1000) = round(40.959)
    charge = await client.v1.charges.retrieve_async(pi.latest_charge)
    assert charge.amount_refunded == 333 and charge.refunded is False

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.refunds.create_async(params={"payment_intent": pi.id, "amount": 668})
    assert info.value.param == "amount" and info.value.code == "amount_too_large"

    rest = await client.v1.refunds.create_async(
        params={
            "charge": pi.latest_charge,
            "reverse_transfer": True,
            "refund_application_fee": True,
        }
    )
    assert rest.amount == 667
    transfer, fee = await _transfer_and_fee(client, pi)
    assert transfer.amount_reversed == 1000 and transfer.reversed is True
    assert fee.amount_refunded == 123 and fee.refunded is True
    charge = await client.v1.charges.retrieve_async(pi.latest_charge)
    assert charge.refunded is True and charge.amount_refunded == 1000

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.refunds.create_async(params={"payment_intent": pi.id})
    assert info.value.code == "charge_already_refunded"

    conn_after = await client.v1.balance.retrieve_async(options={"stripe_account": connected.id})
    plat_after = await client.v1.balance.retrieve_async()
    conn_delta = (
        available(conn_after) + pending(conn_after) - available(conn_before) - pending(conn_before)
    )
    plat_delta = (
        available(plat_after) + pending(plat_after) - available(plat_before) - pending(plat_before)
    )
    assert conn_delta == -(1000 - 123)  # the store gives back everything it got
    assert plat_delta == -(
        123 - 0
    )  # platform returns its fee; Stripe keeps the processing fee (40)

    types = [e.type for e in (await client.v1.events.list_async(params={"limit": 100})).data]
    for expected in (
        "refund.created",
        "charge.refunded",
        "transfer.reversed",
        "application_fee.refunded",
    ):
        assert expected in types
    listed = await client.v1.refunds.list_async(params={"payment_intent": pi.id})
    assert [r.id for r in listed.data] == [rest.id, first.id]


async def test_refund_without_fee_refund_keeps_platform_fee(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    pi = await _paid(client, connected.id, amount=2000, fee=200)
    refund = await client.v1.refunds.create_async(
        params={"payment_intent": pi.id, "amount": 500, "reverse_transfer": True}
    )
    transfer, fee = await _transfer_and_fee(client, pi)
    assert refund.transfer_reversal and transfer.amount_reversed == 500
    assert fee.amount_refunded == 0


async def test_pending_then_failed_refund(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    pi = await _paid(client, connected.id)
    control.post("refunds/next", {"outcome": "pending"})
    refund = await client.v1.refunds.create_async(params={"payment_intent": pi.id, "amount": 100})
    assert refund.status == "pending"
    control.post(f"refunds/{refund.id}/settle", {"outcome": "failed"})
    assert (await client.v1.refunds.retrieve_async(refund.id)).status == "failed"
    assert (await client.v1.charges.retrieve_async(pi.latest_charge)).amount_refunded == 0
    types = [e.type for e in (await client.v1.events.list_async(params={"limit": 50})).data]
    assert {"refund.failed", "refund.updated", "charge.refund.updated"} <= set(types)


async def test_dispute_card_opens_dispute(
    client: stripe.StripeClient,
    control: Control,
    connected: stripe.Account,
    receiver: WebhookReceiver,
) -> None:
    endpoint = await client.v1.webhook_endpoints.create_async(
        params={"url": receiver.url, "enabled_events": ["charge.dispute.*"]}
    )
    before = await client.v1.balance.retrieve_async()
    pi = await _paid(client, connected.id, amount=5000, fee=500, pm="pm_card_createDispute")
    assert pi.status == "succeeded"
    charge = await client.v1.charges.retrieve_async(pi.latest_charge)
    assert charge.disputed is True
    disputes = await client.v1.disputes.list_async(params={"payment_intent": pi.id})
    dispute = disputes.data[0]
    assert dispute.id.startswith("dp_") and dispute.reason == "fraudulent"
    assert (
        dispute.status == "needs_response"
        and dispute.amount == 5000
        and dispute.charge == charge.id
    )
    after = await client.v1.balance.retrieve_async()
    delta = available(after) + pending(after) - available(before) - pending(before)
    # + fee 500 - processing (75 + 25 = 100) - disputed 5000 - dispute fee 1500
    assert delta == 500 - 100 - 5000 - 1500

    control.flush()
    created = receiver.wait_for(lambda e: e["type"] == "charge.dispute.created")[0]
    assert created["data"]["object"]["id"] == dispute.id and "account" not in created
    raw = next(r for r in receiver.received if b"charge.dispute.created" in r["body"])
    stripe.Webhook.construct_event(raw["body"], raw["headers"]["Stripe-Signature"], endpoint.secret)

    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.refunds.create_async(params={"payment_intent": pi.id})
    assert info.value.code == "charge_disputed"

    updated = await client.v1.disputes.update_async(
        dispute.id,
        params={"evidence": {"uncategorized_text": "Delivered, signed."}, "submit": True},
    )
    assert updated.status == "under_review" and updated.evidence_details.submission_count == 1
    control.post(f"disputes/{dispute.id}/resolve", {"outcome": "won"})
    won = await client.v1.disputes.retrieve_async(dispute.id)
    assert won.status == "won"
    final = await client.v1.balance.retrieve_async()
    assert available(final) + pending(final) - available(after) - pending(after) == 5000
    control.flush()
    receiver.wait_for(lambda e: e["type"] == "charge.dispute.closed")


async def test_close_dispute_loses(client: stripe.StripeClient, connected: stripe.Account) -> None:
    pi = await _paid(client, connected.id, pm="pm_card_createDispute")
    dispute = (await client.v1.disputes.list_async(params={"charge": pi.latest_charge})).data[0]
    closed = await client.v1.disputes.close_async(dispute.id)
    assert closed.status == "lost"
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.disputes.close_async(dispute.id)


async def test_manual_transfer_and_reversal(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 3000,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.transfers.create_async(
            params={"amount": 1000, "currency": "eur", "destination": connected.id}
        )
    assert info.value.code == "balance_insufficient"
    transfer = await client.v1.transfers.create_async(
        params={
            "amount": 1000,
            "currency": "eur",
            "destination": connected.id,
            "source_transaction": pi.latest_charge,
            "transfer_group": "order-1",
        }
    )
    assert transfer.amount == 1000 and transfer.destination_payment.startswith("py_")
    reversal = await client.v1.transfers.reversals.create_async(transfer.id, params={"amount": 250})
    assert reversal.amount == 250
    listed = await client.v1.transfers.reversals.list_async(transfer.id)
    assert [r.id for r in listed.data] == [reversal.id]
    fees = await client.v1.application_fees.list_async()
    assert fees.data == []


async def test_next_refund_fails_when_clock_moves(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    pi = await _paid(client, connected.id)
    control.post("refunds/next", {"outcome": "failed"})
    refund = await client.v1.refunds.create_async(params={"payment_intent": pi.id, "amount": 200})
    assert refund.status == "pending"
    control.advance(60)
    assert (await client.v1.refunds.retrieve_async(refund.id)).status == "failed"
    types = [e.type for e in (await client.v1.events.list_async(params={"type": "refund.*"})).data]
    assert types[:2] == ["refund.failed", "refund.updated"] and "refund.created" in types
