"""A shopper with an account saves a card at checkout and pays with it next time (Chromium)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from storeplex.db import Database
from tests.browser.journeys import Shots, fill_card, order_row, shop_to_payment
from tests.support.factories import make_product
from tests.support.flows import onboarded_store
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser]


async def test_save_a_card_at_checkout_then_pay_with_it(
    database: Database, stack: Stack, http: httpx.AsyncClient, page: Any, shots: Shots
) -> None:
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=1500, stock=10, name="Kettle")

    await page.goto(f"/s/{kit.store.slug}/account/register")
    await page.get_by_label("Name").fill("Sam Shopper")
    await page.get_by_label("Email").fill("shopper@example.com")
    await page.get_by_label("Password").fill("a long shopper password")
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_text("No saved card yet").wait_for()

    first = await shop_to_payment(page, kit, product, shots)
    await page.get_by_label("Save this card for next time").check()
    await fill_card(page, "4242 4242 4242 4242")
    await shots("save-card")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.get_by_role("heading", name="Paid — thank you").wait_for()
    stack.flush_webhooks()

    await page.goto(f"/s/{kit.store.slug}/account")
    await page.get_by_text(re.compile(r"Visa •••• 4242")).wait_for()
    await shots("account-cards")

    second = await shop_to_payment(page, kit, product, shots)
    saved = page.get_by_role("radio", name=re.compile(r"Visa •••• 4242"))
    assert await saved.is_checked(), "the default saved card is offered first"
    assert await page.locator("#payment-element").is_hidden()
    await shots("pay-with-saved")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.get_by_role("heading", name="Paid — thank you").wait_for()
    await shots("paid-with-saved")
    stack.flush_webhooks()

    _, one = await order_row(database, first)
    _, two = await order_row(database, second)
    assert one is not None and two is not None
    assert (one.status, two.status) == ("succeeded", "succeeded")
    first_pi = stack.stripe.v1.payment_intents.retrieve(one.stripe_payment_intent_id)
    second_pi = stack.stripe.v1.payment_intents.retrieve(two.stripe_payment_intent_id)
    assert first_pi.setup_future_usage == "off_session"
    assert second_pi.customer == first_pi.customer
    assert second_pi.payment_method == first_pi.payment_method
