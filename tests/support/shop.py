"""Shopping helpers for tests: place an order through the storefront API, or build one in the ORM.

`place_order` goes through the real cart and checkout (stock reserved, totals
computed by the server); `make_order` writes rows directly, for tests about
what happens to an order afterwards.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from storeplex.auth.secrets import new_token, token_digest
from storeplex.carts.service import CART_COOKIE
from storeplex.db import Database
from storeplex.models import Customer, Order, OrderItem, Product, Store

_counter = itertools.count(1)

SHIPPING = {
    "line1": "1 Rue du Test",
    "city": "Luxembourg",
    "postal_code": "L-1234",
    "country": "LU",
}


def checkout_body(email: str = "shopper@example.com", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"email": email, "name": "Sam Shopper", "shipping": dict(SHIPPING)}
    body.update(overrides)
    return body


async def add_to_cart(
    client: httpx.AsyncClient, slug: str, product_id: int, quantity: int = 1
) -> httpx.Response:
    return await client.post(
        f"/api/v1/storefront/{slug}/cart/items",
        json={"product_id": product_id, "quantity": quantity},
    )


async def place_order(
    client: httpx.AsyncClient,
    slug: str,
    items: Sequence[tuple[Product | int, int]],
    email: str = "shopper@example.com",
) -> dict[str, Any]:
    """Fill a fresh cart with (product or id, quantity) pairs and check out; the 201 body.

    The body has `id`, `number`, `access_token`, `total_amount`, `items`, ...
    The client's cart cookie is replaced, so earlier cart contents do not leak in.
    """
    client.cookies.delete(CART_COOKIE)
    for product, quantity in items:
        product_id = product if isinstance(product, int) else product.id
        r = await add_to_cart(client, slug, product_id, quantity)
        assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/storefront/{slug}/checkout", json=checkout_body(email))
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


@dataclass
class MadeOrder:
    order: Order
    items: list[OrderItem]
    access_token: str


async def make_order(
    db: Database,
    store: Store,
    items: Sequence[tuple[Product, int]],
    *,
    email: str | None = None,
    status: str = "pending",
    payment_status: str = "pending",
    reserve_stock: bool = True,
    order_id: int | None = None,
) -> MadeOrder:
    """An order written through the ORM, numbered after the store's counter; stock taken off.
    `order_id` gives it a chosen id (one far above the sequence), for a test that must know
    the id before the order exists."""
    n = next(_counter)
    email = email or f"buyer{n}@example.com"
    token = new_token("spo")
    async with db.session_scope() as s:
        db_store = await s.get(Store, store.id)
        assert db_store is not None
        db_store.last_order_number += 1
        customer = Customer(store_id=store.id, email=email, name="Buyer")
        s.add(customer)
        await s.flush()
        lines = []
        for product, quantity in items:
            db_product = await s.get(Product, product.id)
            assert db_product is not None
            if reserve_stock:
                db_product.stock -= quantity
            lines.append(
                OrderItem(
                    product_id=db_product.id,
                    sku=db_product.sku,
                    name=db_product.name,
                    unit_price_amount=db_product.price_amount,
                    quantity=quantity,
                    line_total_amount=db_product.price_amount * quantity,
                )
            )
        subtotal = sum(line.line_total_amount for line in lines)
        order = Order(
            id=order_id,
            store_id=store.id,
            customer_id=customer.id,
            number=db_store.last_order_number,
            status=status,
            payment_status=payment_status,
            currency=store.currency,
            subtotal_amount=subtotal,
            shipping_amount=0,
            total_amount_cents=subtotal,
            email=email,
            shipping_name="Buyer",
            shipping_line1=SHIPPING["line1"],
            shipping_city=SHIPPING["city"],
            shipping_postal_code=SHIPPING["postal_code"],
            shipping_country=SHIPPING["country"],
            access_token_hash=token_digest(token),
            stock_released=False,
        )
        s.add(order)
        await s.flush()
        for line in lines:
            line.order_id = order.id
        s.add_all(lines)
        await s.flush()
    return MadeOrder(order=order, items=lines, access_token=token)
