"""The store owner's money pages in Chromium at 1280 px and 375 px: the payouts page (balance,
next payout, a payout that failed, the Express dashboard button) and a refund confirmed in two
steps. Screenshots go to the test's pytest tmp dir."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from storeplex.db import Database
from tests.browser.journeys import login_owner
from tests.support.flows import (
    onboarded_store,
    paid_order,
    payment_config,
    payment_of,
    put_settings,
)
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser]

WIDTHS = [1280, 375]


async def open_page(browser: Any, stack: Stack, width: int) -> Any:
    phone = width < 600
    context = await browser.new_context(
        base_url=stack.app_url,
        viewport={"width": width, "height": 740 if phone else 900},
        is_mobile=phone,
        has_touch=phone,
    )
    context.set_default_timeout(15_000)
    return await context.new_page()


async def fits(page: Any, width: int) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
async def test_payouts_page_at_each_width(
    database: Database, stack: Stack, http: httpx.AsyncClient, browser: Any, tmp_path: Path,
    width: int,
) -> None:  # fmt: skip
    kit = await onboarded_store(database, stack, http)
    account = str((await payment_config(http, kit.token))["stripe_account_id"])
    assert (await put_settings(http, kit.token, payout_schedule="daily")).status_code == 200
    stack.stripe.v1.accounts.update(
        account, params={"settings": {"payouts": {"schedule": {"delay_days": 1}}}}
    )
    await paid_order(database, stack, http, kit, price=3000)
    stack.control("POST", "payouts/fail_next", account=account, failure_code="no_account")
    stack.control("POST", "clock/advance", days=4)
    stack.flush_webhooks()
    await paid_order(database, stack, http, kit, price=1000)
    page = await open_page(browser, stack, width)
    try:
        await login_owner(page, kit, "/admin/payouts")
        await page.get_by_role("heading", name="Payouts", exact=True).wait_for()
        balance = stack.stripe.v1.balance.retrieve(options={"stripe_account": account})
        pending = sum(b.amount for b in balance.pending if b.currency == "eur")
        assert await page.locator("#balance-pending").inner_text() == f"{pending / 100:.2f} EUR"
        assert "if your available balance" not in await page.locator("#next-payout").inner_text()
        row = page.locator("#payouts tbody tr").first
        await row.get_by_text("Your bank has no account with these details").wait_for()
        await fits(page, width)
        await page.screenshot(path=str(tmp_path / f"payouts-{width}.png"), full_page=True)
        button = page.get_by_role("button", name="Open your Stripe Express dashboard")
        box = await button.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, "the button is on screen"
        await button.click()
        await page.wait_for_url(re.compile(r"/_emulator/hosted/express/"))
        await page.screenshot(path=str(tmp_path / f"express-{width}.png"))
    finally:
        await page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_refund_is_confirmed_before_it_is_sent(
    database: Database, stack: Stack, http: httpx.AsyncClient, browser: Any, tmp_path: Path,
    width: int,
) -> None:  # fmt: skip
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=2500)
    payment = await payment_of(database, order["id"])
    page = await open_page(browser, stack, width)
    try:
        await login_owner(page, kit, f"/admin/payments/{payment.id}")
        amount = page.get_by_label(re.compile("Amount to refund"))
        assert await amount.input_value() == ""
        await amount.fill("12.50")
        await page.get_by_label(re.compile("^Note")).fill("Half back: damaged box")
        await page.get_by_role("button", name="Continue", exact=True).click()
        await page.get_by_role("heading", name="Confirm the refund").wait_for()
        question = await page.locator("#confirm-q").inner_text()
        assert question == f"Refund 12.50 EUR of order #{order['number']}?"
        assert "The store's share goes down by" in await page.locator("#confirm-share").inner_text()
        await fits(page, width)
        await page.screenshot(path=str(tmp_path / f"refund-confirm-{width}.png"), full_page=True)
        assert (
            stack.stripe.v1.refunds.list(
                params={"payment_intent": payment.stripe_payment_intent_id}
            ).data
            == []
        ), "nothing sent before the yes"
        await page.get_by_role("button", name="Yes, refund 12.50 EUR").click()
        await page.get_by_text("Refund sent to Stripe.").wait_for()
        await page.get_by_text("Half back: damaged box").wait_for()
        receive = await page.locator("#you-receive").inner_text()
        assert "taken back for refunds" in receive
        await fits(page, width)
        await page.screenshot(path=str(tmp_path / f"refunded-{width}.png"), full_page=True)
    finally:
        await page.context.close()
