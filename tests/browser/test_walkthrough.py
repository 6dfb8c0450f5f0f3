"""The pages people use, walked in a real headless Chromium against the running app and the
Stripe emulator: a store owner onboards, shoppers pay (good card, declined then good, 3-D
Secure), the platform admin sees and changes the fee. Screenshots: test-artifacts/browser/.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from storeplex.db import Database
from storeplex.models import Product, Refund
from tests.browser.journeys import (
    Shots,
    fill_card,
    login_owner,
    order_row,
    payment_config,
    shop_to_payment,
)
from tests.support.factories import PASSWORD, StoreKit, make_admin, make_product, make_store_kit
from tests.support.flows import create_intent, onboarded_store, order_for
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser]


async def test_owner_sets_up_payments_and_sees_active(
    database: Database, stack: Stack, page: Any, shots: Shots
) -> None:
    kit = await make_store_kit(database)
    await page.goto("/admin/payments/settings")
    await page.wait_for_url(re.compile(r"/admin/login\?next="))  # login first, then back
    await page.get_by_label("Email").fill(kit.owner_email)
    await page.get_by_label("Password").fill("wrong password")
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("alert").wait_for()
    await shots("login-refused")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(r"/admin/payments/settings$"))
    await page.get_by_text("Not set up").wait_for()
    await shots("settings-before")

    await page.get_by_label("A company").check()
    await page.get_by_role("button", name="Set up payments with Stripe").click()
    # The emulator's hosted onboarding page (Stripe's, in production).
    await page.get_by_role("button", name="Complete with test data").wait_for()
    assert page.url.startswith(stack.emulator_url)
    await shots("stripe-onboarding")
    await page.get_by_role("button", name="Complete with test data").click()
    await page.wait_for_url(re.compile(r"/admin/payments/onboarding/return$"))
    status = page.locator("#account-status")
    assert "Active" in await status.inner_text()
    await page.get_by_text("Your store can now take card payments.").wait_for()
    await shots("onboarding-return-active")

    config = await payment_config(database, kit.store.id)
    assert config.accepts_payments and config.stripe_account_status == "active"

    await page.goto("/admin/payments/settings")
    assert "2.50 %" in await page.locator("#platform-fee").inner_text()
    await shots("settings-after")

    # Payout settings: a minimum the owner cannot mean is refused with a message, nothing saved.
    await page.get_by_label("Pay out to my bank").select_option("monthly")
    await page.get_by_label(re.compile("Minimum payout")).fill("ten euros")
    await page.get_by_role("button", name="Save payout settings").click()
    await page.get_by_role("alert").filter(has_text="is not a number").wait_for()
    assert await page.locator("#payout-schedule").inner_text() == "Weekly"
    await shots("payouts-refused")
    await page.get_by_label(re.compile("Minimum payout")).fill("25.00")
    await page.get_by_role("button", name="Save payout settings").click()
    await page.get_by_text("Payout settings saved").wait_for()
    assert await page.locator("#payout-schedule").inner_text() == "Monthly"
    assert await page.locator("#minimum-payout").inner_text() == "25.00 EUR"
    await shots("payouts-saved")
    config = await payment_config(database, kit.store.id)
    assert (config.payout_schedule, config.minimum_payout_amount) == ("monthly", 2500)
    # Above 0 the platform pays out itself, so Stripe's schedule for the account is manual.
    account = stack.stripe.v1.accounts.retrieve(config.stripe_account_id or "")
    assert account.settings.payouts.schedule.interval == "manual"


async def test_expired_onboarding_link_gets_a_fresh_one(
    database: Database, stack: Stack, page: Any, shots: Shots
) -> None:
    kit = await make_store_kit(database)
    await login_owner(page, kit, "/admin/payments/settings")
    await page.get_by_role("button", name="Set up payments with Stripe").click()
    await page.get_by_role("button", name="Leave requirements due").click()
    await page.wait_for_url(re.compile(r"/admin/payments/onboarding/return$"))
    assert "Restricted" in await page.locator("#account-status").inner_text()
    await shots("restricted")
    # Stripe sends the owner to refresh_url when a link is used up: a fresh link is made.
    await page.goto("/admin/payments/onboarding/refresh")
    await page.get_by_role("button", name="Complete with test data").click()
    await page.wait_for_url(re.compile(r"/admin/payments/onboarding/return$"))
    assert "Active" in await page.locator("#account-status").inner_text()


async def test_shopper_pays_with_4242_and_sees_paid(
    database: Database, stack: Stack, http: httpx.AsyncClient, page: Any, shots: Shots
) -> None:
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=1010, stock=5, name="Tea pot")
    order_id = await shop_to_payment(page, kit, product, shots)
    # The breakdown comes from create-intent: 20.20 EUR, 2.5 % commission = 0.51 EUR.
    assert await page.locator("#bd-total").inner_text() == "20.20 EUR"
    assert await page.locator("#bd-fee").inner_text() == "0.51 EUR"
    assert await page.locator("#bd-store").inner_text() == "19.69 EUR"
    await fill_card(page, "4242 4242 4242 4242")
    await shots("card-filled")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.get_by_role("heading", name="Paid — thank you").wait_for()
    assert f"/orders/{order_id}" in page.url
    await shots("paid")
    order, payment = await order_row(database, order_id)
    assert (order.payment_status, order.status) == ("paid", "processing")
    assert payment is not None and payment.amount_total == 2020
    async with database.session_scope() as s:
        left = (await s.execute(select(Product.stock).where(Product.id == product.id))).scalar()
    assert left == 3

    # The HttpOnly order cookie lets the shopper come back without the token in the URL.
    await page.goto(f"/s/{kit.store.slug}/orders/{order_id}")
    await page.get_by_role("heading", name="Paid — thank you").wait_for()


async def test_declined_card_shows_bank_message_then_retry_succeeds(
    database: Database, stack: Stack, http: httpx.AsyncClient, page: Any, shots: Shots
) -> None:
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=1500, stock=5, name="Lamp")
    order_id = await shop_to_payment(page, kit, product, shots)
    await fill_card(page, "4000 0000 0000 0002")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    message = page.locator("#payment-message")
    await message.filter(has_text="declined").wait_for()
    assert re.search(r"/orders/\d+/pay$", page.url)  # still on the payment step
    await shots("declined")
    stack.flush_webhooks()  # the decline is recorded: the order's payment_status is failed
    order, _ = await order_row(database, order_id)
    assert order.payment_status == "failed"
    # Retry while no webhook arrives: the return page must not mistake the earlier
    # failure for the outcome, and must confirm the success by re-reading the intent.
    with stack.webhooks_paused():
        await fill_card(page, "4242424242424242")
        await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        await page.get_by_text("Confirming your payment…").wait_for()
        await page.get_by_role("heading", name="Paid — thank you").wait_for()
    await shots("paid-after-retry")
    order, payment = await order_row(database, order_id)
    assert order.payment_status == "paid"
    assert payment is not None and payment.status == "succeeded"


async def test_three_d_secure_challenge_completed(
    database: Database, stack: Stack, http: httpx.AsyncClient, page: Any, shots: Shots
) -> None:
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=4200, stock=5, name="Chair")
    order_id = await shop_to_payment(page, kit, product, shots)
    await fill_card(page, "4000 0027 6000 3184")
    with stack.webhooks_paused():  # the return page must confirm without the webhook
        await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        await page.get_by_role("dialog", name="3D Secure authentication").wait_for()
        await shots("3ds-challenge")
        frame = page.frame_locator("iframe[title='3D Secure challenge']")
        await frame.get_by_role("button", name="Complete authentication").click()
        await page.get_by_text("Confirming your payment…").wait_for()
        await shots("confirming")
        await page.get_by_role("heading", name="Paid — thank you").wait_for()
    await shots("paid")
    order, _ = await order_row(database, order_id)
    assert order.payment_status == "paid"


async def paid_order(
    database: Database, stack: Stack, http: httpx.AsyncClient, kit: StoreKit, price: int
) -> dict[str, Any]:
    """An order paid through the API (create-intent, confirm as the browser, webhook)."""
    order = await order_for(database, http, kit, price=price)
    intent = (await create_intent(http, kit, order)).json()
    stack.confirm_as_browser(intent["payment_intent_id"], intent["client_secret"], "pm_card_visa")
    stack.flush_webhooks()
    return order


async def test_owner_refunds_half_an_order_and_sees_it(
    database: Database, stack: Stack, http: httpx.AsyncClient, page: Any, shots: Shots
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=2000)
    await login_owner(page, kit, "/admin/payments")
    await page.get_by_role("link", name=f"Order #{order['number']}").click()
    await page.get_by_role("heading", name=f"Payment for order #{order['number']}").wait_for()
    await shots("payment")
    amount = page.get_by_label(re.compile("Amount to refund"))
    assert await amount.input_value() == "20.00"
    await amount.fill("25.00")  # more than was paid: refused, nothing written
    await page.get_by_role("button", name="Refund", exact=True).click()
    await page.locator("#form-error").wait_for()
    await shots("refund-refused")
    await page.get_by_label(re.compile("Amount to refund")).fill("10.00")
    await page.get_by_role("button", name="Refund", exact=True).click()
    await page.get_by_text("Refund sent to Stripe.").wait_for()
    assert await page.locator("#refunded").inner_text() == "10.00 EUR"
    await shots("refunded-half")
    _, payment = await order_row(database, order["id"])
    assert payment is not None and payment.amount_refunded == 1000
    async with database.session_scope() as s:
        refunds = (
            await s.execute(select(Refund.amount).where(Refund.payment_id == payment.id))
        ).all()
    assert [r.amount for r in refunds] == [1000]

    await page.get_by_role("link", name="Statements").click()
    await page.get_by_role("heading", name="Statements").wait_for()
    assert await page.locator("#st-gross").inner_text() == "20.00 EUR"
    await shots("statements")


async def test_phone_width_checkout_and_admin_fit_375px(
    database: Database, stack: Stack, http: httpx.AsyncClient, phone: Any, backend: str
) -> None:
    shots = Shots(phone, "phone", backend)
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=990, stock=3, name="Mug")
    order_id = await shop_to_payment(phone, kit, product, shots)
    await fill_card(phone, "4242424242424242")
    await shots("pay")
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.get_by_role("button", name=re.compile(r"^Pay ")).tap()
    await phone.get_by_role("heading", name="Paid — thank you").wait_for()
    await shots("paid")
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 375
    await login_owner(phone, kit, f"/admin/orders/{order_id}")
    await shots("admin-order")
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 375
    await phone.get_by_role("button", name="Mark as shipped").tap()
    await phone.get_by_text("Order updated.").wait_for()
    assert await phone.locator("#order-status").inner_text() == "shipped"
    await phone.goto("/admin")
    await shots("admin-dashboard")
    assert await phone.evaluate("document.documentElement.scrollWidth") <= 375


async def test_keyboard_only_shopper_reaches_payment(
    database: Database, stack: Stack, http: httpx.AsyncClient, page: Any, shots: Shots
) -> None:
    """No mouse: skip link, links and buttons are reached with Tab and used with Enter."""
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=1200, stock=3, name="Vase")
    await page.goto(f"/s/{kit.store.slug}/")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to content"

    async def tab_to(predicate: str) -> None:
        for _ in range(40):
            await page.keyboard.press("Tab")
            if await page.evaluate(predicate):
                return
        raise AssertionError(f"never reached by Tab: {predicate}")

    await tab_to(f"document.activeElement.textContent === {product.name!r}")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/products/{product.id}")
    await page.get_by_role("heading", name=product.name).wait_for()
    await tab_to("document.activeElement.id === 'quantity'")
    await tab_to("document.activeElement.textContent === 'Add to cart'")
    await shots("focus-visible")
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # a visible focus ring
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/cart?added=*")
    await page.get_by_text("was added to your cart").wait_for()
    await tab_to("document.activeElement.textContent === 'Check out'")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/checkout")
    await page.get_by_role("heading", name="Checkout").wait_for()
    for label, value in [
        ("Email", "kb@example.com"),
        ("Full name", "Kim Board"),
        ("Address", "2 Rue"),
        ("City", "Esch"),
        ("Postal code", "L-4000"),
    ]:
        await tab_to(f"document.activeElement.labels?.[0]?.textContent.startsWith({label!r})")
        await page.keyboard.type(value)
    await tab_to("document.activeElement.textContent === 'Continue to payment'")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/pay")
    await page.locator("#pay[data-ready='1']").wait_for()
    await shots("pay-by-keyboard")


async def test_platform_admin_sees_and_changes_the_fee(
    database: Database, stack: Stack, http: httpx.AsyncClient, page: Any, shots: Shots
) -> None:
    kit = await onboarded_store(database, stack, http)
    admin = await make_admin(database)
    await page.goto("/platform")
    await page.get_by_label("Email").fill(admin.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    card = page.locator(f"#store-{kit.store.id}")
    await card.wait_for()
    assert "Active" in await card.inner_text()
    commission = card.get_by_label("Commission (%)")
    assert await commission.input_value() == "2.50"
    await shots("stores")

    await commission.fill("101")
    await card.get_by_role("button", name=re.compile("Save fee")).click()
    await page.get_by_role("alert").filter(has_text="between 0 and 100").wait_for()
    await shots("fee-refused")
    card = page.locator(f"#store-{kit.store.id}")
    await card.get_by_label("Commission (%)").fill("5")
    await card.get_by_label(re.compile("Fixed fee")).fill("0.30")
    await card.get_by_role("button", name=re.compile("Save fee")).click()
    await page.get_by_text("Fee saved.").wait_for()
    assert (
        await page.locator(f"#store-{kit.store.id}").get_by_label("Commission (%)").input_value()
        == "5.00"
    )
    await shots("fee-saved")
    config = await payment_config(database, kit.store.id)
    assert (str(config.platform_fee_percentage), config.platform_fixed_fee_amount) == ("5.00", 30)

    await page.get_by_role("link", name="Fee revenue").click()
    await page.get_by_role("heading", name="Fee revenue").wait_for()
    await shots("revenue")
    await page.get_by_role("link", name="Webhook events").click()
    await page.get_by_role("heading", name="Webhook events").wait_for()
