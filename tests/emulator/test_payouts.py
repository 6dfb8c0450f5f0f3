"""Clock, balance availability, automatic and manual payouts.

Sources (Stripe documentation): "Balances and settlement time" (pending until
available_on), "Manage payout schedule" for connected accounts (interval, weekly_anchor,
monthly_anchor, delay_days), "Manual payouts" (balance_insufficient when the available
balance is short), "Payouts" (statuses paid, failed with failure_code, canceled).
"""

from __future__ import annotations

import datetime

import pytest
import stripe

from tests.emulator.support import Control, available, pending

DAY = 86400


async def _charge(
    client: stripe.StripeClient, destination: str, amount: int = 1000, fee: int = 100
) -> None:
    await client.v1.payment_intents.create_async(
        params={
            "amount": amount,
            "currency": "eur",
            "application_fee_amount": fee,
            "transfer_data": {"destination": destination},
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )


async def test_clock_makes_balance_available_and_pays_out_daily(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    await _charge(client, connected.id)
    opts: stripe.RequestOptions = {"stripe_account": connected.id}
    balance = await client.v1.balance.retrieve_async(options=opts)
    assert (pending(balance), available(balance)) == (900, 0)
    txns = await client.v1.balance_transactions.list_async(params={"type": "payment"}, options=opts)
    assert [t.status for t in txns.data] == ["pending"]
    assert txns.data[0].available_on - txns.data[0].created == 2 * DAY

    control.advance(3 * DAY)
    payouts = await client.v1.payouts.list_async(options=opts)
    assert len(payouts.data) == 1
    payout = payouts.data[0]
    assert payout.automatic is True and payout.amount == 900 and payout.currency == "eur"
    balance = await client.v1.balance.retrieve_async(options=opts)
    assert (pending(balance), available(balance)) == (0, 0)
    swept = await client.v1.balance_transactions.list_async(
        params={"payout": payout.id}, options=opts
    )
    assert {t.type for t in swept.data} == {"payment", "payout"}

    control.advance(3 * DAY)
    paid = await client.v1.payouts.retrieve_async(payout.id, options=opts)
    assert paid.status == "paid"
    types = [e.type for e in (await client.v1.events.list_async(options=opts)).data]
    assert "payout.created" in types and "payout.paid" in types

    platform = await client.v1.balance.retrieve_async()
    assert available(platform) == 100 - 40  # platform schedule is manual: nothing paid out


async def test_manual_payout_and_failure(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    opts: stripe.RequestOptions = {"stripe_account": connected.id}
    await client.v1.accounts.update_async(
        connected.id, params={"settings": {"payouts": {"schedule": {"interval": "manual"}}}}
    )
    await _charge(client, connected.id, amount=2000, fee=200)
    with pytest.raises(stripe.InvalidRequestError) as info:
        await client.v1.payouts.create_async(
            params={"amount": 100, "currency": "eur"}, options=opts
        )
    assert info.value.code == "balance_insufficient"
    control.advance(3 * DAY)
    assert (await client.v1.payouts.list_async(options=opts)).data == []
    control.post("payouts/fail_next", {"account": connected.id, "failure_code": "account_closed"})
    payout = await client.v1.payouts.create_async(
        params={"amount": 1500, "currency": "eur"}, options=opts
    )
    assert payout.status == "pending" and payout.automatic is False
    balance = await client.v1.balance.retrieve_async(options=opts)
    assert available(balance) == 300
    control.advance(3 * DAY)
    failed = await client.v1.payouts.retrieve_async(payout.id, options=opts)
    assert failed.status == "failed" and failed.failure_code == "account_closed"
    balance = await client.v1.balance.retrieve_async(options=opts)
    assert available(balance) == 1800
    types = [e.type for e in (await client.v1.events.list_async(options=opts)).data]
    assert "payout.failed" in types

    second = await client.v1.payouts.create_async(params={"amount": 800}, options=opts)
    canceled = await client.v1.payouts.cancel_async(second.id, options=opts)
    assert canceled.status == "canceled"
    assert available(await client.v1.balance.retrieve_async(options=opts)) == 1800


async def test_weekly_schedule_pays_on_anchor(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    opts: stripe.RequestOptions = {"stripe_account": connected.id}
    now = datetime.datetime.fromtimestamp(control.now(), datetime.UTC)
    anchor_day = (now + datetime.timedelta(days=4)).strftime("%A").lower()
    await client.v1.accounts.update_async(
        connected.id,
        params={
            "settings": {
                "payouts": {"schedule": {"interval": "weekly", "weekly_anchor": anchor_day}}
            }
        },  # type: ignore[typeddict-item]
    )
    await _charge(client, connected.id)
    control.advance(3 * DAY)
    assert (await client.v1.payouts.list_async(options=opts)).data == []
    control.advance(2 * DAY)
    payouts = (await client.v1.payouts.list_async(options=opts)).data
    assert len(payouts) == 1 and payouts[0].amount == 900
    created_day = (
        datetime.datetime.fromtimestamp(payouts[0].created, datetime.UTC).strftime("%A").lower()
    )
    assert created_day == anchor_day


async def test_clock_endpoint(control: Control) -> None:
    before = control.now()
    after = control.advance(60)
    assert after >= before + 60
