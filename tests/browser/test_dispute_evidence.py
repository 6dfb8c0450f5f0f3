"""A store owner answers a dispute from the dashboard alert (Chromium, 1280 and 375 px).

Screenshots go under the test's pytest tmp dir.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from storeplex.db import Database
from tests.browser.journeys import login_owner
from tests.support.flows import dispute_rows, onboarded_store, paid_order, payment_of
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser]

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def _page(browser: Any, stack: Stack, width: int) -> Any:
    context = await browser.new_context(
        base_url=stack.app_url,
        viewport={"width": width, "height": 900},
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    context.set_default_timeout(15_000)
    return await context.new_page()


async def _no_sideways_scroll(page: Any) -> None:
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow} px"


@pytest.mark.parametrize("width", [1280, 375])
async def test_owner_answers_a_dispute_with_evidence(
    database: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    browser: Any,
    tmp_path: Path,
    width: int,
) -> None:
    kit = await onboarded_store(database, stack, http)
    order = await paid_order(database, stack, http, kit, price=3000, card="pm_card_createDispute")
    payment = await payment_of(database, order["id"])
    [row] = await dispute_rows(database, order["id"])
    page = await _page(browser, stack, width)
    shot = 0

    async def shots(step: str) -> None:
        nonlocal shot
        shot += 1
        await page.screenshot(path=str(tmp_path / f"{width}-{shot:02d}-{step}.png"), full_page=True)

    await login_owner(page, kit)
    alert = page.get_by_role("alert").filter(has_text="A customer disputes a 30.00 EUR payment")
    await alert.wait_for()
    await shots("dashboard-alert")
    await alert.get_by_role("link", name=f"answer dispute #{row.id}").click()
    await page.get_by_text("Needs your answer by").wait_for()
    await _no_sideways_scroll(page)
    await shots("dispute")

    # A file that is not a PDF, JPEG or PNG: the message is in the form, the text is kept.
    await page.get_by_label("What was sold").fill("A blue enamel mug")
    await page.get_by_label("Your explanation").fill("winning_evidence")
    await page.get_by_label("Document", exact=True).set_input_files(
        {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": b"<html>no</html>"}
    )
    await page.get_by_role("button", name="Save draft").click()
    await page.get_by_role("alert").filter(has_text="must be a PDF, JPEG or PNG").wait_for()
    assert await page.get_by_label("What was sold").input_value() == "A blue enamel mug"
    await shots("bad-file")

    await page.get_by_label("What the document is").select_option(label="Receipt or invoice")
    await page.get_by_label("Document", exact=True).set_input_files(
        {"name": "receipt.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    await page.get_by_role("button", name="Save draft").click()
    await page.get_by_role("status").filter(has_text="Draft saved").wait_for()
    assert await page.get_by_label("Your explanation").input_value() == "winning_evidence"
    await page.get_by_text("Already attached: Receipt or invoice").wait_for()
    assert stack.stripe.v1.disputes.retrieve(row.stripe_dispute_id).status == "needs_response"

    await page.get_by_role("button", name="Review and send…").click()
    await page.get_by_role("heading", name="Send this evidence to the bank?").wait_for()
    await _no_sideways_scroll(page)
    await shots("confirm")
    await page.get_by_role("button", name="Yes, send the evidence").click()
    await page.get_by_text("Won — the money came back to you.").wait_for()
    await shots("won")
    stack.flush_webhooks()
    [row] = await dispute_rows(database, order["id"])
    assert (row.outcome, row.reversed_amount) == ("won", 3000) and row.return_transfer_id
    back = stack.stripe.v1.transfers.retrieve(row.return_transfer_id)
    assert (back.amount, back.destination) == (3000, payment.stripe_account_id)

    await page.goto("/admin")
    assert await page.get_by_text("A customer disputes").count() == 0
    await page.goto("/admin/disputes")
    await page.get_by_role("cell", name="Won — the money came back to you.").wait_for()
    await _no_sideways_scroll(page)
    await shots("list")
    await page.context.close()
