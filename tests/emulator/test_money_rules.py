"""Money rules Stripe enforces: transfer limits, reversals against short balances, and
books that balance.

Sources (Stripe documentation):
* "Create separate charges and transfers", section "Transfer availability"
  (source_transaction): transfers tied to a charge cannot add up to more than it.
* API reference, "Transfer Reversals": a destination charge's transfer can be reversed up
  to the charge's amount; a transfer_group transfer only if the destination account has
  enough balance to cover the reversal.
* "Balances and settlement time" / "Understanding Connect account balances": a balance is
  the sum of the account's balance transactions.
"""

from __future__ import annotations

import pytest
import stripe

from stripe_emulator.ledger import add_txn, audit
from stripe_emulator.state import State
from tests.emulator.support import Control, available, pending

DAY = 86400


async def _charge(client: stripe.StripeClient, amount: int) -> str:
    pi = await client.v1.payment_intents.create_async(
        params={"amount": amount, "currency": "eur", "payment_method": "pm_card_visa",
                "confirm": True}
    )  # fmt: skip
    return str(pi.latest_charge)


async def _destination_charge(
    client: stripe.StripeClient, destination: str, amount: int, fee: int = 100
) -> stripe.PaymentIntent:
    return await client.v1.payment_intents.create_async(
        params={"amount": amount, "currency": "eur", "application_fee_amount": fee,
                "transfer_data": {"destination": destination},
                "payment_method": "pm_card_visa", "confirm": True}
    )  # fmt: skip


async def test_source_transaction_transfers_cannot_exceed_the_charge(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    """Separate charges and transfers, "Transfer availability": the transfers made with a
    source_transaction add up to at most that charge (two 5,000 transfers from a 1,000
    charge are refused)."""
    charge = await _charge(client, 1000)
    params = {"currency": "eur", "destination": connected.id, "source_transaction": charge}
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.transfers.create_async(params={**params, "amount": 5000})
    assert info.value.http_status == 400 and info.value.code == "amount_too_large"
    assert info.value.param == "amount" and "(1000)" in str(info.value.user_message)
    first = await client.v1.transfers.create_async(params={**params, "amount": 600})
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.transfers.create_async(params={**params, "amount": 401})
    assert "(400)" in str(info.value.user_message)
    second = await client.v1.transfers.create_async(params={**params, "amount": 400})
    assert first.amount + second.amount == 1000
    # The platform is left with minus Stripe's fee on the charge, never more.
    ch = await client.v1.charges.retrieve_async(charge, params={"expand": ["balance_transaction"]})
    platform = await client.v1.balance.retrieve_async()
    assert pending(platform) == -ch.balance_transaction.fee


async def test_a_destination_charge_cannot_be_transferred_twice(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    """Destination charges: the charge's whole amount already went to the connected account
    in its own transfer, so a second full transfer from it is refused; what a reversal took
    back can be sent again (the platform's "dispute won" return)."""
    pi = await _destination_charge(client, connected.id, 2000)
    charge = await client.v1.charges.retrieve_async(str(pi.latest_charge))
    params = {"currency": "eur", "destination": connected.id, "source_transaction": charge.id}
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.transfers.create_async(params={**params, "amount": 2000})
    assert info.value.code == "amount_too_large" and "(0)" in str(info.value.user_message)
    await client.v1.transfers.reversals.create_async(str(charge.transfer), params={"amount": 700})
    back = await client.v1.transfers.create_async(params={**params, "amount": 700})
    assert back.amount == 700
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.transfers.create_async(params={**params, "amount": 1})


async def test_reversals_when_the_connected_balance_is_short(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    """Transfer Reversals (API reference): a transfer_group transfer is reversed only if the
    destination account's balance covers it (else balance_insufficient); a destination
    charge's transfer can be reversed up to the charge, even into a negative balance, which
    the platform answers for under Connect's negative-balance liability."""
    opts: stripe.RequestOptions = {"stripe_account": connected.id}
    await client.v1.accounts.update_async(
        connected.id, params={"settings": {"payouts": {"schedule": {"interval": "manual"}}}}
    )
    pi = await _destination_charge(client, connected.id, 3000, fee=0)
    charge = await _charge(client, 1000)
    separate = await client.v1.transfers.create_async(
        params={"amount": 1000, "currency": "eur", "destination": connected.id,
                "source_transaction": charge, "transfer_group": "order-9"}
    )  # fmt: skip
    control.advance(3 * DAY)
    balance = await client.v1.balance.retrieve_async(options=opts)
    assert available(balance) == 4000
    await client.v1.payouts.create_async(params={"amount": 4000, "currency": "eur"}, options=opts)
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.transfers.reversals.create_async(separate.id, params={"amount": 500})
    assert info.value.code == "balance_insufficient"
    assert (await client.v1.transfers.retrieve_async(separate.id)).amount_reversed == 0
    destination_transfer = (await client.v1.charges.retrieve_async(str(pi.latest_charge))).transfer
    reversal = await client.v1.transfers.reversals.create_async(
        str(destination_transfer), params={"amount": 3000}
    )
    assert reversal.amount == 3000
    balance = await client.v1.balance.retrieve_async(options=opts)
    assert available(balance) == -3000
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.transfers.reversals.create_async(
            str(destination_transfer), params={"amount": 1}
        )


async def test_the_books_balance_after_fees_refunds_and_payouts(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    """Every balance equals the sum of its balance transactions, and each charge, refund,
    transfer, reversal, application fee and payout is booked once for its own amount."""
    pi = await _destination_charge(client, connected.id, 5000, fee=500)
    await client.v1.refunds.create_async(
        params={"payment_intent": pi.id, "amount": 1200, "reverse_transfer": True,
                "refund_application_fee": True}
    )  # fmt: skip
    control.advance(3 * DAY)
    opts: stripe.RequestOptions = {"stripe_account": connected.id}
    txns = await client.v1.balance_transactions.list_async(params={"limit": 100}, options=opts)
    balance = await client.v1.balance.retrieve_async(options=opts)
    assert available(balance) + pending(balance) == sum(t.net for t in txns.data)
    assert control.get("audit")["problems"] == []


def test_the_audit_finds_books_that_do_not_balance() -> None:
    """The self-check is not vacuous: a transaction whose net or booking is wrong is named."""
    state = State()
    assert audit(state) == []
    txn = add_txn(state, "acct_x", amount=1000, currency="eur", txn_type="charge",
                  source="ch_x", immediate=True)  # fmt: skip
    txn["net"] = 990
    assert any("net 990" in p for p in audit(state))
    txn["net"] = 1000
    state.add(
        {"id": "tr_x", "object": "transfer", "amount": 400, "amount_reversed": 0,
         "balance_transaction": txn["id"]},
        "acct_x",
    )  # fmt: skip
    assert any("tr_x: booked 1000, expected -400" in p for p in audit(state))


async def test_a_refund_larger_than_the_available_balance_is_paid_from_the_bank(
    client: stripe.StripeClient, connected: stripe.Account
) -> None:
    """ "Refund and cancel payments": refunds use the available balance; when it does not
    cover the refund, Stripe either debits the rest from the bank account or holds the
    refund as pending until the balance is topped up. The emulator takes the first branch:
    the refund succeeds at once and the available balance shows the shortfall, which the
    books still account for transaction by transaction."""
    pi = await _destination_charge(client, connected.id, 2500, fee=100)
    before = await client.v1.balance.retrieve_async()
    assert available(before) == 0  # the charge is still pending
    refund = await client.v1.refunds.create_async(params={"payment_intent": pi.id})
    assert refund.status == "succeeded"
    after = await client.v1.balance.retrieve_async()
    assert available(after) == -2500 and pending(after) == pending(before)
    # With reverse_transfer the connected account pays its share back instead.
    pi = await _destination_charge(client, connected.id, 2500, fee=100)
    refund = await client.v1.refunds.create_async(
        params={"payment_intent": pi.id, "reverse_transfer": True, "refund_application_fee": True}
    )
    assert refund.status == "succeeded" and refund.transfer_reversal
    final = await client.v1.balance.retrieve_async()
    assert available(final) == -2500 - 2500 + 2500 - 100
