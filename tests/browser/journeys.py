"""Steps of the browser journeys the browser tests share: sign in, shop to the payment form,
type a card, read the order back, and numbered screenshots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storeplex.db import Database
from storeplex.models import Order, Payment, Product, StorePaymentConfig
from tests.support.factories import PASSWORD, StoreKit

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


async def login_owner(page: Any, kit: StoreKit, next_path: str = "/admin") -> None:
    await page.goto(f"/admin/login?next={next_path}")
    await page.get_by_label("Email").fill(kit.owner_email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(re.compile(re.escape(next_path) + r"$"))


async def shop_to_payment(page: Any, kit: StoreKit, product: Product, shots: Shots) -> int:
    """Storefront → product → cart → checkout form → payment step; the order id."""
    await page.goto(f"/s/{kit.store.slug}/")
    await page.get_by_role("link", name=product.name).click()
    await page.get_by_label("Quantity").fill("2")
    await page.get_by_role("button", name="Add to cart").click()
    await page.get_by_role("status").filter(has_text="was added to your cart").wait_for()
    await shots("cart")
    await page.get_by_role("link", name="Check out").click()
    await page.get_by_label("Email").fill("shopper@example.com")
    await page.get_by_label("Full name").fill("Sam Shopper")
    await page.get_by_label("Address", exact=True).fill("1 Rue du Test")
    await page.get_by_label("City").fill("Luxembourg")
    await page.get_by_label("Postal code").fill("L-1234")
    await page.get_by_label("Country").select_option("LU")
    await shots("checkout")
    await page.get_by_role("button", name="Continue to payment").click()
    await page.wait_for_url(re.compile(r"/orders/\d+/pay$"))
    await page.locator("#pay[data-ready='1']").wait_for()
    return int(page.url.rsplit("/", 2)[-2])


async def fill_card(page: Any, number: str) -> None:
    card = page.get_by_label("Card number")
    await card.fill("")
    await card.press_sequentially(number)
    expiry = page.get_by_label("Expiration date (MM / YY)")
    await expiry.fill("")
    await expiry.press_sequentially("1234")
    cvc = page.get_by_label("Security code (CVC)")
    await cvc.fill("")
    await cvc.press_sequentially("123")


async def order_row(database: Database, order_id: int) -> tuple[Order, Payment | None]:
    async with database.session_scope() as s:
        order = (await s.execute(select(Order).where(Order.id == order_id))).scalar_one()
        payment = (
            await s.execute(select(Payment).where(Payment.order_id == order_id))
        ).scalar_one_or_none()
    return order, payment


async def payment_config(database: Database, store_id: int) -> StorePaymentConfig:
    async with database.session_scope() as s:
        query = select(StorePaymentConfig).where(StorePaymentConfig.store_id == store_id)
        return (await s.execute(query)).scalar_one()


class Shots:
    """Numbered screenshots of one test: test-artifacts/browser/<test>-<n>-<step>.png."""

    def __init__(self, page: Any, test_name: str, backend: str) -> None:
        self.page = page
        self.prefix = f"{test_name}-{backend}"
        self.count = 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    async def __call__(self, step: str) -> None:
        self.count += 1
        path = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{step}.png"
        await self.page.screenshot(path=str(path), full_page=True)


CHROMIUM = "/usr/bin/chromium"


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


AXE = Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "axe-core"


async def no_axe_violations(page: Any) -> None:
    if not (AXE / "axe.min.js").exists():
        return  # not installed here; ./scripts/test --all installs it
    # Evaluated through the DevTools protocol: the page's CSP (no inline scripts) stays on.
    await page.evaluate((AXE / "axe.min.js").read_text() + "\n;true")
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    assert result == [], json.dumps(result, indent=1)
