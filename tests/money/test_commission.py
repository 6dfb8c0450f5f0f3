"""The store's own commission reaches every payment, end to end through Stripe.

A platform admin sets a store's commission (a percentage and a fixed fee); a shopper
pays; then the application fee Stripe took, the transfer the store received and our
payment row must all equal the rule: fee = round-half-up(total × percentage / 100) +
fixed fee, and the store gets the rest. The expected figures are worked out by hand
below, not with the code under test.
"""

from __future__ import annotations

import httpx
import pytest

from storeplex.db import Database
from tests.support.factories import bearer, make_token
from tests.support.flows import onboarded_store, paid_order, payment_of
from tests.support.stack import Stack

CASES = [
    # currency, percentage, fixed fee (as typed), price (minor), qty, fee, store share
    # 3 × 19.99 EUR = 59.97; 7.25 % of 5997 = 434.7825 → 435; + 30 → 465; store 5532.
    ("EUR", "7.25", "0.30", 1999, 3, 465, 5532),
    # 1 × 10.10 EUR = 1010; 5 % = 50.5 → 51 (half up); + 0 → 51; store 959.
    ("EUR", "5", "0", 1010, 1, 51, 959),
    # 2 × 1,234 JPY = 2468 (yen have no minor unit); 5 % = 123.4 → 123; + 30 → 153.
    ("JPY", "5", "30", 1234, 2, 153, 2315),
    # 1 × 999 JPY; 12.5 % = 124.875 → 125; + 0 → 125; store 874.
    ("JPY", "12.5", "0", 999, 1, 125, 874),
]


@pytest.mark.parametrize(("currency", "percent", "fixed", "price", "qty", "fee", "share"), CASES)
async def test_the_stores_commission_is_what_stripe_takes_and_what_we_record(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    currency: str,
    percent: str,
    fixed: str,
    price: int,
    qty: int,
    fee: int,
    share: int,
) -> None:
    kit = await onboarded_store(database, stack, http, currency=currency)
    admin = await make_token(database)
    r = await http.put(
        f"/api/v1/platform/stores/{kit.store.id}/payments/fee",
        json={"platform_fee_percentage": percent, "platform_fixed_fee": fixed},
        headers=bearer(admin),
    )
    assert r.status_code == 200, r.text
    order = await paid_order(database, stack, http, kit, price=price, qty=qty)
    total = price * qty
    assert fee + share == total

    pi = stack.stripe.v1.payment_intents.retrieve(order["intent"]["payment_intent_id"])
    account = str(
        (await http.get("/api/v1/store/payments/config", headers=bearer(kit.token))).json()[
            "stripe_account_id"
        ]
    )
    assert (pi.amount, pi.currency, pi.application_fee_amount) == (total, currency.lower(), fee)
    assert pi.transfer_data is not None and pi.transfer_data.destination == account
    charge = stack.stripe.v1.charges.retrieve(str(pi.latest_charge))
    transfer = stack.stripe.v1.transfers.retrieve(str(charge.transfer))
    # A destination charge moves the whole amount to the store; Stripe then takes the
    # application fee back from it: what the store keeps is the transfer less the fee.
    assert (transfer.amount, transfer.destination) == (total, account)
    fees = stack.stripe.v1.application_fees.list(params={"charge": charge.id})
    assert [f.amount for f in fees.data] == [fee]

    payment = await payment_of(database, order["id"])
    assert (payment.amount_total, payment.amount_platform_fee, payment.amount_store) == (
        total,
        fee,
        share,
    )
    assert payment.status == "succeeded"
