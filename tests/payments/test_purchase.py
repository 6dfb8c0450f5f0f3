"""The customer purchase workflow over real HTTP: order → create-intent → confirm
(as the browser would) → webhook → paid, with the money split checked at the emulator."""

from __future__ import annotations

import asyncio
import re

import httpx
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.models import Payment
from storeplex.words import payment_error
from tests.support.factories import login_staff, make_product, make_store_kit
from tests.support.flows import create_intent, onboarded_store, order_for, shopper_order
from tests.support.shop import make_order
from tests.support.stack import Stack


async def payment_row(database: Database, intent_id: str) -> Payment:
    async with database.session_scope() as s:
        row = (
            await s.execute(select(Payment).where(Payment.stripe_payment_intent_id == intent_id))
        ).scalar_one()
    return row


async def test_customer_purchase_workflow(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit, price=1010, qty=2)  # 20.20 EUR
    r = await create_intent(http, kit, order)
    assert r.status_code == 200, r.text
    intent = r.json()
    # Major units for display, plus exact minor units.
    assert (intent["amount_total"], intent["platform_fee"], intent["amount_store"]) == (
        "20.20",
        "0.51",
        "19.69",
    )  # fmt: skip  2.5 % of 2020 = 50.5 → 51 (half up)
    assert intent["amount_total_minor"] == 2020
    assert intent["platform_fee_minor"] + intent["amount_store_minor"] == 2020
    assert intent["client_secret"].startswith(intent["payment_intent_id"] + "_secret_")

    confirmed = stack.confirm_as_browser(
        intent["payment_intent_id"], intent["client_secret"], "pm_card_visa"
    )
    assert confirmed.json()["status"] == "succeeded"
    stack.flush_webhooks()

    shown = await shopper_order(http, kit, order)
    assert (shown["payment_status"], shown["status"]) == ("paid", "processing")
    payment = await payment_row(database, intent["payment_intent_id"])
    assert payment.status == "succeeded"
    assert payment.paid_at is not None
    assert payment.stripe_charge_id and payment.stripe_charge_id.startswith(("ch_", "py_"))
    assert payment.amount_platform_fee + payment.amount_store == payment.amount_total == 2020

    # The emulator's truth: the application fee and the store's balance match our split.
    pi = stack.stripe.v1.payment_intents.retrieve(
        intent["payment_intent_id"], params={"expand": ["latest_charge"]}
    )
    assert pi.application_fee_amount == payment.amount_platform_fee
    assert pi.transfer_data.destination == payment.stripe_account_id
    fee = stack.stripe.v1.application_fees.retrieve(pi.latest_charge.application_fee)
    assert fee.amount == 51
    balance = stack.stripe.v1.balance.retrieve(
        options={"stripe_account": payment.stripe_account_id}
    )
    held = sum(b.amount for b in balance.pending + balance.available if b.currency == "eur")
    assert held == payment.amount_store == 1969


async def test_declined_card_then_retry_on_the_same_intent(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit)
    intent = (await create_intent(http, kit, order)).json()
    declined = stack.confirm_as_browser(
        intent["payment_intent_id"], intent["client_secret"], "pm_card_visa_chargeDeclined"
    )
    assert declined.status_code == 402
    stack.flush_webhooks()
    assert (await shopper_order(http, kit, order))["payment_status"] == "failed"
    payment = await payment_row(database, intent["payment_intent_id"])
    assert payment.status == "failed"
    assert payment.failure_reason == "Your card was declined."
    assert payment.failure_code == "generic_decline"
    # The store's page says it in words, the code only beside it.
    await login_staff(http, kit.owner_email)
    failure = re.search(
        r'id="last-failure">(.*?)</dd>', (await http.get(f"/admin/payments/{payment.id}")).text
    )
    assert failure and failure.group(1).startswith(
        payment_error("card_declined", "generic_decline").sentence
    )
    assert "<code>generic_decline</code>" in failure.group(1)
    http.cookies.clear()

    again = (await create_intent(http, kit, order)).json()
    assert again["payment_intent_id"] == intent["payment_intent_id"], "one PaymentIntent in all"
    ok = stack.confirm_as_browser(
        again["payment_intent_id"], again["client_secret"], "pm_card_visa"
    )
    assert ok.json()["status"] == "succeeded"
    stack.flush_webhooks()
    assert (await shopper_order(http, kit, order))["payment_status"] == "paid"
    payment = await payment_row(database, intent["payment_intent_id"])
    assert (payment.status, payment.failure_reason) == ("succeeded", None)


async def test_the_amount_sent_by_the_client_is_ignored(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit, price=4900)
    r = await create_intent(http, kit, order, amount=0.01, customer_email="x@example.com")
    assert r.json()["amount_total_minor"] == 4900
    assert stack.stripe.v1.payment_intents.retrieve(r.json()["payment_intent_id"]).amount == 4900


async def test_create_intent_refuses_what_it_must(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    other = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit)

    # Another store's order (the token is right, the store is not) → 404.
    r = await http.post(
        f"/api/v1/platform/stores/{other.store.id}/payments/create-intent",
        json={"order_id": order["id"]},
        headers={"X-Order-Token": order["access_token"]},
    )
    assert r.status_code == 404
    # No token, or a wrong one → 404: nobody can pay (or probe) someone else's order.
    url = f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent"
    assert (await http.post(url, json={"order_id": order["id"]})).status_code == 404
    wrong = await create_intent(http, kit, {**order, "access_token": "nope"})
    assert wrong.status_code == 404

    # A store that has not finished onboarding → 409 with a message.
    fresh = await make_store_kit(database)
    fresh_order = await order_for(database, http, fresh)
    r = await create_intent(http, fresh, fresh_order)
    assert r.status_code == 409
    assert "cannot take card payments right now" in r.json()["error"]["message"]

    # Below Stripe's minimum charge → 400 before any call to Stripe.
    before = len(stack.stripe.v1.payment_intents.list(params={"limit": 100}).data)
    # (Checkout itself refuses such totals; an order from before a price change may have one.)
    cheap = await make_product(database, kit.store, price_amount=30)
    made = await make_order(database, kit.store, [(cheap, 1)])
    small = {"id": made.order.id, "access_token": made.access_token}
    r = await create_intent(http, kit, small)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "amount_too_small"
    assert "0.50 EUR" in r.json()["error"]["message"]
    assert len(stack.stripe.v1.payment_intents.list(params={"limit": 100}).data) == before


async def test_a_jpy_store_charges_whole_yen(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    # A Luxembourg store selling in yen: the stack's platform (LU) cannot pay a store in JP.
    kit = await onboarded_store(database, stack, http, currency="JPY", country="LU")
    order = await order_for(database, http, kit, price=1800)
    intent = (await create_intent(http, kit, order)).json()
    assert (intent["amount_total"], intent["platform_fee"], intent["amount_store"]) == (
        "1800", "45", "1755",
    )  # fmt: skip
    pi = stack.stripe.v1.payment_intents.retrieve(intent["payment_intent_id"])
    assert (pi.amount, pi.currency, pi.application_fee_amount) == (1800, "jpy", 45)


async def test_twenty_concurrent_create_intent_calls_make_one_intent(
    database: Database, stack: Stack, http: httpx.AsyncClient
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await order_for(database, http, kit)
    responses = await asyncio.gather(*(create_intent(http, kit, order) for _ in range(20)))
    assert [r.status_code for r in responses] == [200] * 20, [r.text for r in responses]
    assert len({r.json()["payment_intent_id"] for r in responses}) == 1
    async with database.session_scope() as s:
        count = (await s.execute(select(func.count(Payment.id)))).scalar_one()
    assert count == 1
    # At Stripe too: every intent this platform holds for the order's reference is that one.
    # (Listing by the order's reference, not by the id we expect, so an orphan intent made
    # by a losing caller would be counted.)
    [payment_intent_id] = {r.json()["payment_intent_id"] for r in responses}
    ref = stack.stripe.v1.payment_intents.retrieve(payment_intent_id).metadata["order_ref"]
    listed = stack.stripe.v1.payment_intents.list(params={"limit": 100})
    at_stripe = [
        pi.id for pi in listed.auto_paging_iter() if pi.metadata.to_dict().get("order_ref") == ref
    ]
    assert at_stripe == [payment_intent_id]
