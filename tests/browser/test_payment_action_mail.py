"""In Chromium: a shopper's bank asks for 3-D Secure, the shopper closes the browser; the
"payment needs action" mail arrives at a real SMTP server, and its link pays the order on
another device."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail.delivery import deliver_due
from tests.browser.journeys import Shots, fill_card, order_row, shop_to_payment
from tests.mail.smtp import Inbox, parts
from tests.support.factories import make_product
from tests.support.flows import onboarded_store
from tests.support.stack import Stack, running_stack

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def stack(
    db_url: str, browser_emulator_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The mail is due at once here (in production it waits for the shopper to have left)."""
    with running_stack(
        db_url,
        tmp_path_factory.mktemp("stack"),
        browser_emulator_url,
        payment_action_mail_delay_seconds=0,
    ) as s:
        yield s


async def test_a_shopper_who_left_3ds_pays_from_the_mail_on_another_device(
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
    await fill_card(page, "4000 0027 6000 3184")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.get_by_role("dialog", name="3D Secure authentication").wait_for()
    await shots("3ds-left-open")
    await page.context.close()  # the shopper leaves without authenticating
    stack.flush_webhooks()

    assert await deliver_due(database, worker_settings) == 1
    [mail] = inbox.to("shopper@example.com")
    assert mail["Subject"].endswith("is waiting for your bank's confirmation")
    text, _ = parts(mail)
    assert "20,20 €" in text
    found = re.search(r"(http://\S+/orders/\d+/pay\?token=\S+)", text)
    assert found

    other_device = await browser.new_context()
    other_device.set_default_timeout(15_000)
    try:
        elsewhere = await other_device.new_page()
        await elsewhere.goto(found.group(1))
        await elsewhere.locator("#pay[data-ready='1']").wait_for()
        await fill_card(elsewhere, "4242 4242 4242 4242")
        await elsewhere.get_by_role("button", name=re.compile(r"^Pay ")).click()
        await elsewhere.get_by_role("heading", name="Paid — thank you").wait_for()
    finally:
        await other_device.close()
    order, _ = await order_row(database, order_id)
    assert order.payment_status == "paid"
    stack.flush_webhooks()
    assert await deliver_due(database, worker_settings) == 2  # receipt and staff notice only
    subjects = [m["Subject"] for m in inbox.to("shopper@example.com")]
    assert len(subjects) == 2 and subjects[1].endswith("is confirmed")
