"""Steps of the payment and money workflows the tests share: an onboarded store, an order and
its PaymentIntent, a paid order, a refund request, payout settings, and rows read back."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from storeplex.db import Database
from storeplex.models import Dispute, Order, Payment, Product, Refund
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


async def paid_order(
    db: Database,
    stack: Stack,
    http: httpx.AsyncClient,
    kit: StoreKit,
    *,
    price: int = 2000,
    qty: int = 1,
    card: str = "pm_card_visa",
) -> dict[str, Any]:
    """An order paid by card, with the webhooks delivered; the checkout body plus intent."""
    order = await order_for(db, http, kit, price=price, qty=qty)
    r = await create_intent(http, kit, order)
    assert r.status_code == 200, r.text
    intent = r.json()
    confirmed = stack.confirm_as_browser(intent["payment_intent_id"], intent["client_secret"], card)
    assert confirmed.json()["status"] == "succeeded", confirmed.text
    stack.flush_webhooks()
    return {**order, "intent": intent}


async def refund(
    http: httpx.AsyncClient, kit: StoreKit, order_id: int, **body: Any
) -> httpx.Response:
    return await http.post(
        f"/api/v1/store/orders/{order_id}/refunds", json=body, headers=bearer(kit.token)
    )


async def payment_of(db: Database, order_id: int) -> Payment:
    async with db.session_scope() as s:
        return (await s.execute(select(Payment).where(Payment.order_id == order_id))).scalar_one()


async def order_row(db: Database, order_id: int) -> Order:
    async with db.session_scope() as s:
        row = await s.get(Order, order_id)
        assert row is not None
        return row


async def refunds_of(db: Database, order_id: int) -> list[Refund]:
    async with db.session_scope() as s:
        query = select(Refund).where(Refund.order_id == order_id).order_by(Refund.id)
        return list((await s.execute(query)).scalars())


async def stock_of(db: Database, product_id: int) -> int:
    async with db.session_scope() as s:
        row = await s.get(Product, product_id)
        assert row is not None
        return row.stock


async def put_settings(http: httpx.AsyncClient, token: str, **body: object) -> httpx.Response:
    """The store's payout schedule and minimum, as its owner sets them."""
    return await http.put(
        "/api/v1/store/payments/payout-settings", json=body, headers=bearer(token)
    )


async def payment_config(http: httpx.AsyncClient, token: str) -> dict[str, object]:
    r = await http.get("/api/v1/store/payments/config", headers=bearer(token))
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


async def dispute_rows(db: Database, order_id: int) -> list[Dispute]:
    async with db.session_scope() as s:
        query = select(Dispute).where(Dispute.order_id == order_id)
        return list((await s.execute(query)).scalars())
