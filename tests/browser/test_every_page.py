"""Every page a store owner, a platform admin and a shopper open, at 1280 px and at 375 px,
with real data behind it (a paid order, a disputed one, a refund, mails, webhook events):
each answers, nothing scrolls sideways, and axe-core finds no accessibility violation.

The pages are read from the app's own routes, so a new page is walked without being listed
here; a page whose id this walk cannot supply is named in the failure, not skipped quietly.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from storeplex.db import Database
from storeplex.models import Dispute, OutboxMail, Payment, StripeEvent
from tests.browser.journeys import AXE, login_owner, no_axe_violations
from tests.support.factories import PASSWORD, make_admin, make_product
from tests.support.flows import onboarded_store, paid_order, refund
from tests.support.stack import Stack

pytestmark = [pytest.mark.browser]

WIDTHS = {"desktop": 1280, "phone": 375}
# Not pages: downloads, redirects to Stripe's hosted onboarding, and the sign-in steps
# (walked signed in, they only redirect).
NOT_PAGES = re.compile(
    r"\.csv$|/onboarding/|/login|/forgot-password|/reset-password|/join$|/claim$|/register$"
    r"|/images/"
)
PARAM = re.compile(r"\{(\w+)\}")


def page_paths(app: Any, prefix: str) -> list[str]:
    """The GET pages under `prefix`, as the app routes them."""
    found = set()
    for route in app.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for ctx in contexts:
            path = getattr(ctx, "path_format", None) or getattr(ctx, "path", None)
            methods = getattr(ctx, "methods", None) or ()
            if path and path.startswith(prefix) and "GET" in methods and not NOT_PAGES.search(path):
                found.add(path)
    return sorted(found)


async def check_page(page: Any, url: str, width: int) -> list[str]:
    """What is wrong with one page: its answer, a sideways scroll, axe's violations."""
    answer = await page.goto(url)
    if answer is None or answer.status >= 400:
        return [f"{url}: answered {answer.status if answer else 'nothing'}"]
    problems = []
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        problems.append(f"{url}: scrolls sideways at {width}px ({scroll_width}px wide)")
    try:
        await no_axe_violations(page)
    except AssertionError as exc:
        problems.append(f"{url} at {width}px: axe: {exc}")
    return problems


@pytest.mark.parametrize("screen", sorted(WIDTHS))
async def test_every_page_answers_fits_and_has_no_axe_violation(
    screen: str, app: Any, database: Database, stack: Stack, http: httpx.AsyncClient, browser: Any
) -> None:
    if not (AXE / "axe.min.js").exists():
        pytest.skip("axe-core is not installed (./scripts/test --all installs it)")
    width = WIDTHS[screen]
    kit = await onboarded_store(database, stack, http)
    product = await make_product(database, kit.store, price_amount=1250, stock=5, name="Teapot")
    sold = await paid_order(database, stack, http, kit, price=2000)
    assert (await refund(http, kit, sold["id"], amount="5.00")).status_code == 201
    disputed = await paid_order(
        database, stack, http, kit, price=4000, card="pm_card_createDispute"
    )
    admin = await make_admin(database)
    async with database.session_scope() as s:
        ids = {
            "slug": kit.store.slug,
            "store_id": kit.store.id,
            "product_id": product.id,
            "order_id": sold["id"],
            "payment_id": (
                await s.execute(select(Payment.id).where(Payment.order_id == sold["id"]))
            ).scalar_one(),
            "dispute_id": (
                await s.execute(select(Dispute.id).where(Dispute.order_id == disputed["id"]))
            ).scalar_one(),
            "event_id": (await s.execute(select(StripeEvent.id).limit(1))).scalar_one(),
            "mail_id": (await s.execute(select(OutboxMail.id).limit(1))).scalar_one(),
        }

    def url(path: str) -> str | None:
        names = PARAM.findall(path)
        if any(name not in ids for name in names):
            return None
        for name in names:
            path = path.replace("{" + name + "}", str(ids[name]))
        return path

    context = await browser.new_context(
        base_url=stack.app_url,
        viewport={"width": width, "height": 800},
        is_mobile=screen == "phone",
        has_touch=screen == "phone",
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    problems: list[str] = []
    walked = 0
    try:
        # The shopper's pages (the order pages need the order's secret link; its own tests
        # walk them), then the store owner's, then the platform admin's.
        for path in page_paths(app, "/s/{slug}/"):
            if "{order_id}" in path:
                continue
            target = url(path)
            assert target is not None, path
            problems += await check_page(page, target, width)
            walked += 1
        await login_owner(page, kit)
        for path in page_paths(app, "/admin"):
            target = url(path)
            if target is None:
                problems.append(f"{path}: no id to walk it with")
                continue
            problems += await check_page(page, target, width)
            walked += 1
        await page.goto("/platform/login")
        await page.get_by_label("Email").fill(admin.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url("**/platform")
        for path in page_paths(app, "/platform"):
            target = url(path)
            if target is None:
                problems.append(f"{path}: no id to walk it with")
                continue
            problems += await check_page(page, target, width)
            walked += 1
    finally:
        await context.close()
    assert walked >= 30, f"only {walked} pages walked"
    assert problems == [], "\n".join(problems)
