"""Steps of the payment workflows, reused by the payment tests."""

from __future__ import annotations

from typing import Any

import httpx

from storeplex.db import Database
from tests.support.factories import StoreKit, bearer, make_product, make_store_kit
from tests.support.shop import place_order
from tests.support.stack import Stack


async def onboarded_store(
    db: Database, stack: Stack, http: httpx.AsyncClient, *, outcome: str = "complete", **kw: Any
) -> StoreKit:
    """A store that went through setup and (by default) completed onboarding."""
    kit = await make_store_kit(db, **kw)
    r = await http.post(
        "/api/v1/store/payments/setup", json={"business_type": "company"}, headers=bearer(kit.token)
    )
    assert r.status_code == 200, r.text
    stack.onboard(r.json()["stripe_account_id"], outcome)
    stack.flush_webhooks()
    return kit


async def order_for(
    db: Database, http: httpx.AsyncClient, kit: StoreKit, *, price: int = 2000, qty: int = 1
) -> dict[str, Any]:
    product = await make_product(db, kit.store, price_amount=price, stock=100)
    return await place_order(http, kit.store.slug, [(product, qty)])


async def create_intent(
    http: httpx.AsyncClient, kit: StoreKit, order: dict[str, Any], **extra: Any
) -> httpx.Response:
    return await http.post(
        f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
        json={"order_id": order["id"], **extra},
        headers={"X-Order-Token": order["access_token"]},
    )


async def shopper_order(http: httpx.AsyncClient, kit: StoreKit, order: dict[str, Any]) -> Any:
    r = await http.get(
        f"/api/v1/storefront/{kit.store.slug}/orders/{order['id']}",
        headers={"X-Order-Token": order["access_token"]},
    )
    assert r.status_code == 200, r.text
    return r.json()
