"""In Chromium: a shopper pays, the store ships with tracking, the shopper follows it on the
order page, and the receipt and shipping mails arrive at a real SMTP server."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail.delivery import deliver_due
from tests.browser.journeys import Shots, fill_card, login_owner, shop_to_payment
from tests.mail.smtp import Inbox, parts
from tests.support.factories import make_product
from tests.support.flows import onboarded_store
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser]


async def test_shopper_pays_store_ships_shopper_follows_and_mails_arrive(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    browser: Any,
    page: Any,
    shots: Shots,
    smtp: tuple[Inbox, int],
    worker_settings: Settings,
) -> None:
    inbox, _ = smtp
    kit = await onboarded_store(database, stack, http, name="Maison Thé", locale="fr_LU")
    product = await make_product(database, kit.store, price_amount=1010, stock=5, name="Tea pot")
    order_id = await shop_to_payment(page, kit, product, shots)
    await fill_card(page, "4242 4242 4242 4242")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.get_by_role("heading", name="Paid — thank you").wait_for()
    await shots("paid")

    owner_context = await browser.new_context(base_url=stack.app_url)
    owner_context.set_default_timeout(15_000)
    owner = await owner_context.new_page()
    try:
        await login_owner(owner, kit, f"/admin/orders/{order_id}")
        await owner.get_by_label("Carrier").fill("Post Luxembourg")
        await owner.get_by_label("Tracking number").fill("LX123456789LU")
        await owner.get_by_label("Tracking URL").fill("https://track.example.test/LX123456789LU")
        await owner.get_by_role("button", name="Mark as shipped").click()
        await owner.locator("#order-status").filter(has_text="shipped").wait_for()
        await owner.locator("#order-tracking").filter(has_text="LX123456789LU").wait_for()
    finally:
        await owner_context.close()

    await page.reload()
    await page.get_by_role("heading", name=re.compile(r"is on its way$")).wait_for()
    assert await page.locator("#tracking-number").inner_text() == "LX123456789LU"
    link = page.locator("#tracking-link")
    assert await link.get_attribute("href") == "https://track.example.test/LX123456789LU"
    await shots("shipped")

    assert await deliver_due(database, worker_settings) == 3  # receipt, staff notice, shipped
    mine = {m["Subject"]: m for m in inbox.to("shopper@example.com")}
    receipt = next(m for s, m in mine.items() if s.endswith("is confirmed"))
    shipped = next(m for s, m in mine.items() if s.endswith("has shipped"))
    assert receipt["From"].addresses[0].display_name == "Maison Thé"
    assert "20,20 €" in parts(receipt)[0] and "Visa ending in 4242" in parts(receipt)[0]
    text, _ = parts(shipped)
    assert "LX123456789LU" in text and "https://track.example.test/LX123456789LU" in text

    # The mail's link opens the order on another device, with no cookie.
    found = re.search(r"(http://\S+/orders/\d+\?key=\S+)", text)
    assert found
    other_device = await browser.new_context()
    try:
        elsewhere = await other_device.new_page()
        await elsewhere.goto(found.group(1))
        await elsewhere.get_by_role("heading", name=re.compile(r"is on its way$")).wait_for()
        assert await elsewhere.locator("#carrier").inner_text() == "Post Luxembourg"
    finally:
        await other_device.close()
