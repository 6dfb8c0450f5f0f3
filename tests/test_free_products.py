"""A price of 0 only for a product marked free; an order of free products is paid at once,
with no PaymentIntent and no payment, its stock taken, the books unmoved, a receipt mailed."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.models import (
    OutboxMail,
    Payment,
    Product,
    StoreDailyTotal,
)
from tests.support.factories import bearer, login_staff, make_product, make_store_kit
from tests.support.shop import place_order

PRODUCTS = "/api/v1/store/products"


async def count(db: Database, model: type, **where: object) -> int:
    async with db.session_scope() as s:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int((await s.execute(query)).scalar_one())


async def test_a_zero_price_needs_the_free_mark(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    h = bearer(kit.token)
    r = await client.post(PRODUCTS, json={"sku": "Z-1", "name": "Zero", "price": "0"}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["field"] == "price"
    assert "mark the product as free" in r.json()["error"]["message"]
    r = await client.post(
        PRODUCTS, json={"sku": "F-1", "name": "Sticker", "price": "1.00", "is_free": True},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 400 and "marked free has the price 0" in r.json()["error"]["message"]
    assert await count(database, Product, store_id=kit.store.id) == 0, "nothing written"
    r = await client.post(
        PRODUCTS, json={"sku": "F-1", "name": "Sticker", "price": "0", "is_free": True},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["is_free"] is True and r.json()["price_amount"] == 0
    paid = await client.post(
        PRODUCTS, json={"sku": "P-1", "name": "Mug", "price": "9.50"}, headers=h
    )
    r = await client.patch(f"{PRODUCTS}/{paid.json()['id']}", json={"price": "0"}, headers=h)
    assert r.status_code == 400 and r.json()["error"]["field"] == "price"
    r = await client.patch(
        f"{PRODUCTS}/{paid.json()['id']}", json={"price": "0", "is_free": True}, headers=h
    )
    assert r.status_code == 200 and r.json()["is_free"] is True


async def test_the_product_form_refuses_0_unless_free(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    await login_staff(client, kit.owner_email)
    page = (await client.get("/admin/products/new")).text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert csrf is not None
    form = {"csrf_token": csrf.group(1), "sku": "Z-2", "name": "Zero", "stock": "3"}
    for price in ("0", "0.00", ""):
        r = await client.post("/admin/products/new", data={**form, "price": price})
        assert r.status_code == 400, price
        assert "mark the product as free" in r.text and 'id="p-free"' in r.text
    assert await count(database, Product, store_id=kit.store.id) == 0
    r = await client.post("/admin/products/new", data={**form, "price": "", "free": "1"})
    assert r.status_code == 303, r.text
    async with database.session_scope() as s:
        product = (await s.execute(select(Product).where(Product.sku == "Z-2"))).scalar_one()
    assert (product.price_amount, product.is_free) == (0, True)


async def test_a_free_order_is_paid_without_a_payment_intent(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database)
    gift = await make_product(database, kit.store, price_amount=0, stock=5, is_free=True)
    home = (await client.get(f"/s/{kit.store.slug}/")).text
    assert re.search(r'<p class="price">Free</p>', home), "the storefront says Free, not 0.00"
    placed = await place_order(client, kit.store.slug, [(gift, 2)], email="fan@example.com")
    assert placed["total_amount"] == 0
    order = await client.get(
        f"/api/v1/storefront/{kit.store.slug}/orders/{placed['id']}",
        headers={"X-Order-Token": placed["access_token"]},
    )
    assert (order.json()["status"], order.json()["payment_status"]) == ("processing", "paid")
    assert await count(database, Payment, order_id=placed["id"]) == 0
    async with database.session_scope() as s:
        assert (await s.get_one(Product, gift.id)).stock == 3
    assert await count(database, StoreDailyTotal, store_id=kit.store.id) == 0, "books unmoved"
    async with database.session_scope() as s:
        mails = list(
            (
                await s.execute(select(OutboxMail).where(OutboxMail.store_id == kit.store.id))
            ).scalars()
        )
    receipt = [m for m in mails if m.kind == "order_confirmation"]
    assert [m.to_address for m in receipt] == ["fan@example.com"]
    assert receipt[0].context["number"] == placed["number"]
    r = await client.post(
        f"/api/v1/platform/stores/{kit.store.id}/payments/create-intent",
        json={"order_id": placed["id"]},
        headers={"X-Order-Token": placed["access_token"]},
    )
    assert r.status_code == 409, r.text
    page = await client.get(f"/s/{kit.store.slug}/orders/{placed['id']}/pay",
                            params={"token": placed["access_token"]})  # fmt: skip
    assert page.status_code == 303 and page.headers["location"].endswith(f"/orders/{placed['id']}")
