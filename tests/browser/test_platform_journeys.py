"""The platform operator's journeys in headless Chromium, at 1280 px and at 375 px: create a
store, suspend it with a reason, reactivate it; and replay a failed webhook event (the
Replay button fully on screen, the result told as it is). Each step is screenshotted under
the test's tmp dir; with axe-core installed (scripts/lib.sh ensure_axe) every page is
checked for accessibility violations."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from storeplex.db import Database
from storeplex.models import EventStatus, Store, StorePaymentConfig, StripeEvent, utcnow
from tests.browser.journeys import (
    CHROMIUM,
    Shots,
    fill_card,
    no_axe_violations,
    shop_to_payment,
)
from tests.support.factories import PASSWORD, make_admin, make_product, make_store_kit
from tests.support.flows import onboarded_store
from tests.support.stack import Stack

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing")

VIEWPORTS = {"desktop": (1280, 800), "phone": (375, 740)}


@pytest.fixture(params=sorted(VIEWPORTS))
async def screen(request: pytest.FixtureRequest, browser: Any, stack: Stack, tmp_path: Path) -> Any:
    width, height = VIEWPORTS[request.param]
    context = await browser.new_context(
        base_url=stack.app_url,
        viewport={"width": width, "height": height},
        is_mobile=request.param == "phone",
        has_touch=request.param == "phone",
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    page.shots = []  # type: ignore[attr-defined]

    async def shot(step: str) -> None:
        path = tmp_path / f"{request.param}-{len(page.shots) + 1:02d}-{step}.png"
        await page.screenshot(path=str(path), full_page=True)
        page.shots.append(path)

    page.shot = shot  # type: ignore[attr-defined]
    page.width = width  # type: ignore[attr-defined]
    yield page
    await context.close()


async def inside_viewport(page: Any, locator: Any) -> None:
    """The element is scrolled to and lies wholly inside the viewport (nothing cut off)."""
    await locator.scroll_into_view_if_needed()
    box = await locator.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.width, box
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= page.width, f"the page scrolls sideways: {scroll_width}px"


async def log_in(page: Any, email: str) -> None:
    await page.goto("/platform/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/platform")


async def test_create_suspend_and_reactivate_a_store(
    database: Database, stack: Stack, screen: Any
) -> None:
    page = screen
    admin = await make_admin(database)
    await log_in(page, admin.email)
    await no_axe_violations(page)
    await page.get_by_role("link", name="New store").click()
    slug = f"atelier-{page.width}"
    await page.get_by_label("Store name").fill("Atelier Nord")
    await page.get_by_label("Web address").fill("Not A Slug")
    await page.get_by_label("Owner's email").fill(f"owner{page.width}@ateliernord.lu")
    await page.get_by_role("button", name="Create the store").click()
    alert = page.locator("#form-error")
    assert "lowercase letters" in (await alert.inner_text())
    assert await page.get_by_label("Store name").input_value() == "Atelier Nord"
    await page.shot("refused")
    await no_axe_violations(page)
    await page.get_by_label("Web address").fill(slug)
    await page.get_by_role("button", name="Create the store").click()
    await page.wait_for_url("**/platform/stores/*")
    assert "Store created" in await page.locator(".notice").inner_text()
    await page.shot("created")
    await no_axe_violations(page)

    await page.get_by_label("Reason for suspending").fill("Unpaid platform invoice for March")
    suspend = page.get_by_role("button", name="Suspend the store")
    await inside_viewport(page, suspend)
    await suspend.click()
    await page.wait_for_url("**done=suspended")
    assert "Suspended" in await page.locator("#store-state").inner_text()
    assert "Unpaid platform invoice" in await page.locator("#suspended-reason").inner_text()
    await page.shot("suspended")
    await page.goto("/platform")
    async with database.session_scope() as s:
        store = (await s.execute(select(Store).where(Store.slug == slug))).scalar_one()
    card = page.locator(f"#store-{store.id}")
    assert "Suspended" in await card.inner_text()
    assert await card.locator(".status-active").count() == 0
    await page.shot("list")
    await no_axe_violations(page)

    await card.get_by_role("link", name="Atelier Nord").click()
    reactivate = page.get_by_role("button", name="Reactivate the store")
    await inside_viewport(page, reactivate)
    await reactivate.click()
    await page.wait_for_url("**done=activated")
    assert "Open" in await page.locator("#store-state").inner_text()
    await page.shot("reactivated")
    async with database.session_scope() as s:
        store = (await s.execute(select(Store).where(Store.slug == slug))).scalar_one()
    assert (store.status, store.suspended_reason) == ("active", None)
    # Fee revenue: a reversed range is a message in the form, the page still usable.
    await page.goto("/platform/revenue?from=2026-03-01&to=2026-01-01")
    assert "is after the end date" in await page.locator("#form-error").inner_text()
    await inside_viewport(page, page.get_by_role("button", name="Show"))
    await page.shot("revenue-reversed")
    await no_axe_violations(page)
    assert len(page.shots) == 6 and all(p.stat().st_size > 0 for p in page.shots)


async def test_replay_a_failed_event_that_fails_again(
    database: Database, stack: Stack, screen: Any
) -> None:
    page = screen
    kit = await make_store_kit(database, name="Café Lumière")
    account = f"acct_browser{page.width}"
    async with database.session_scope() as s:
        await s.execute(
            update(StorePaymentConfig)
            .where(StorePaymentConfig.store_id == kit.store.id)
            .values(stripe_account_id=account)
        )
        intent = {
            "id": f"pi_browser{page.width}", "object": "payment_intent", "amount": 1250,
            "currency": "eur", "status": "succeeded", "transfer_data": {"destination": account},
            "metadata": {"platform": "storeplex", "order_id": "999999", "order_ref": "999999-1",
                         "store_id": str(kit.store.id)},
            "description": "<script>alert('x')</script>",
        }  # fmt: skip
        event = {
            "id": f"evt_browser{page.width}", "object": "event",
            "type": "payment_intent.succeeded", "created": int(time.time()), "livemode": False,
            "data": {"object": intent},
        }  # fmt: skip
        s.add(
            StripeEvent(
                stripe_event_id=event["id"], type=event["type"], endpoint="platform",
                account=None, livemode=False, object_id=intent["id"],
                event_created=event["created"], payload=json.dumps(event),
                status=EventStatus.FAILED, attempts=3,
                last_error="storeplex.payments.service.PaymentNotYetRecorded: " + "x" * 400,
                received_at=utcnow(), next_attempt_at=utcnow(),
            )
        )  # fmt: skip
    admin = await make_admin(database)
    await log_in(page, admin.email)
    await page.goto("/platform/webhooks")
    row = page.locator(".event-row", has_text="payment_intent.succeeded")
    assert "Café Lumière" in await row.inner_text()  # the store column
    button = row.get_by_role("button", name="Replay")
    await inside_viewport(page, button)
    await page.shot("failed-events")
    await no_axe_violations(page)

    await row.get_by_role("link", name="payment_intent.succeeded").click()
    payload = page.locator("#payload")
    text = await payload.inner_text()
    assert f'"id": "{event["id"]}"' in text and "<script>alert('x')</script>" in text
    assert await page.evaluate("typeof window.alertFired") == "undefined"
    await page.shot("payload")
    await no_axe_violations(page)
    await page.go_back()

    await (
        page.locator(".event-row", has_text="payment_intent.succeeded")
        .get_by_role("button", name="Replay")
        .click()
    )
    report = page.locator("#replay-report")
    await report.wait_for()
    said = await report.inner_text()
    assert "failed again" in said and "not in the database yet" in said
    assert "Event replayed" not in await page.content()
    assert await report.get_attribute("role") == "alert"
    await page.shot("replayed")
    await no_axe_violations(page)
    async with database.session_scope() as s:
        stored = (
            await s.execute(select(StripeEvent).where(StripeEvent.stripe_event_id == event["id"]))
        ).scalar_one()
    assert (stored.status, stored.attempts) == ("failed", 4)
    assert len(page.shots) == 3


async def test_a_failed_3d_secure_check_reads_as_words_to_the_shopper(
    database: Database, stack: Stack, http: httpx.AsyncClient, page: Any, shots: Shots
) -> None:
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=4200, stock=5, name="Chair")
    await shop_to_payment(page, kit, product, shots)
    await fill_card(page, "4000 0027 6000 3184")
    await page.get_by_role("button", name=re.compile(r"^Pay ")).click()
    await page.get_by_role("dialog", name="3D Secure authentication").wait_for()
    frame = page.frame_locator("iframe[title='3D Secure challenge']")
    await frame.get_by_role("button", name="Fail authentication").click()
    message = page.locator("#payment-message")
    await message.filter(has_text="3-D Secure").wait_for()
    said = await message.inner_text()
    assert "not confirmed with your bank" in said and "Pay again" in said
    assert "PaymentMethod" not in said and "payment_method_data" not in said
    await shots("3ds-failed")
