"""Storefront: public store info, catalog, and the cookie-keyed database cart."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from storeplex.db import Database
from storeplex.models import Cart, CartItem, StoreStatus
from tests.support.factories import make_product, make_store
from tests.support.shop import add_to_cart


def url(slug: str, path: str = "") -> str:
    return f"/api/v1/storefront/{slug}{path}"


async def count(db: Database, model: type) -> int:
    async with db.session_scope() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_store_info_and_unknown_or_suspended_store(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database, currency="JPY", country="JP", name="Tokyo Tea")
    r = await client.get(url(store.slug))
    assert r.status_code == 200
    assert r.json() == {"name": "Tokyo Tea", "slug": store.slug, "currency": "JPY", "country": "JP",
                        "taking_orders": True, "message": None}  # fmt: skip

    r = await client.get(url("no-such-store", "/products"))
    assert r.status_code == 404
    assert "no-such-store" in r.json()["error"]["message"]

    closed = await make_store(database, status=StoreStatus.SUSPENDED)
    product = await make_product(database, closed)
    assert (await client.get(url(closed.slug))).status_code == 404
    assert (await client.get(url(closed.slug, f"/products/{product.id}"))).status_code == 404
    assert (await add_to_cart(client, closed.slug, product.id)).status_code == 404


async def test_catalog_shows_active_products_of_this_store_only(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    other = await make_store(database)
    mug = await make_product(database, store, name="Mug", price_amount=1250, stock=3)
    await make_product(database, store, name="Hidden", is_active=False)
    empty = await make_product(database, store, name="Sold out", stock=0)
    foreign = await make_product(database, other, name="Foreign")

    r = await client.get(url(store.slug, "/products"))
    assert r.status_code == 200
    body = r.json()
    assert [p["name"] for p in body["data"]] == ["Mug", "Sold out"]
    assert body["has_more"] is False
    first = body["data"][0]
    assert first["price_amount"] == 1250
    assert first["price"] == "12.50 EUR"
    assert first["currency"] == "EUR"
    assert first["stock"] == 3 and first["in_stock"] is True
    assert body["data"][1]["in_stock"] is False

    r = await client.get(url(store.slug, f"/products/{mug.id}"))
    assert r.status_code == 200 and r.json()["name"] == "Mug"
    assert (await client.get(url(store.slug, f"/products/{empty.id}"))).json()["stock"] == 0
    # Another store's product answers exactly like a missing one.
    r_foreign = await client.get(url(store.slug, f"/products/{foreign.id}"))
    r_missing = await client.get(url(store.slug, "/products/999999"))
    assert r_foreign.status_code == r_missing.status_code == 404


async def test_product_paging(client: httpx.AsyncClient, database: Database) -> None:
    store = await make_store(database)
    for name in ["A", "B", "C", "D", "E"]:
        await make_product(database, store, name=name)
    page1 = (await client.get(url(store.slug, "/products?limit=2"))).json()
    page3 = (await client.get(url(store.slug, "/products?limit=2&offset=4"))).json()
    assert [p["name"] for p in page1["data"]] == ["A", "B"] and page1["has_more"] is True
    assert [p["name"] for p in page3["data"]] == ["E"] and page3["has_more"] is False
    r = await client.get(url(store.slug, "/products?limit=101"))
    assert r.status_code == 422 and "limit" in r.json()["error"]["message"]


async def test_empty_cart_without_cookie(client: httpx.AsyncClient, database: Database) -> None:
    store = await make_store(database)
    r = await client.get(url(store.slug, "/cart"))
    assert r.status_code == 200
    assert r.json() == {
        "currency": "EUR",
        "items": [],
        "item_count": 0,
        "subtotal_amount": 0,
        "subtotal": "0.00 EUR",
    }
    assert "storeplex_cart" not in r.cookies
    assert await count(database, Cart) == 0


async def test_cart_add_update_remove_with_current_prices(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    mug = await make_product(database, store, name="Mug", price_amount=1250, stock=10)
    tee = await make_product(database, store, name="Tee", price_amount=1999, stock=5)

    r = await add_to_cart(client, store.slug, mug.id, 2)
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("storeplex_cart=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    # Adding again adds to the same line.
    r = await add_to_cart(client, store.slug, mug.id, 1)
    r = await add_to_cart(client, store.slug, tee.id, 2)
    cart = r.json()
    assert [(i["name"], i["quantity"]) for i in cart["items"]] == [("Mug", 3), ("Tee", 2)]
    assert cart["items"][0]["line_total_amount"] == 3750
    assert cart["subtotal_amount"] == 3 * 1250 + 2 * 1999 == 7748
    assert cart["subtotal"] == "77.48 EUR"
    assert cart["item_count"] == 5

    r = await client.patch(url(store.slug, f"/cart/items/{mug.id}"), json={"quantity": 1})
    assert r.status_code == 200 and r.json()["subtotal_amount"] == 1250 + 2 * 1999

    # The cart is priced at the catalog's current price, not the price when added.
    async with database.session_scope() as s:
        from storeplex.models import Product

        row = await s.get(Product, tee.id)
        assert row is not None
        row.price_amount = 2500
    r = await client.get(url(store.slug, "/cart"))
    assert r.json()["subtotal_amount"] == 1250 + 2 * 2500

    r = await client.delete(url(store.slug, f"/cart/items/{tee.id}"))
    assert r.status_code == 200 and [i["name"] for i in r.json()["items"]] == ["Mug"]
    r = await client.patch(url(store.slug, f"/cart/items/{mug.id}"), json={"quantity": 0})
    assert r.status_code == 200 and r.json()["items"] == []
    # Removing what is no longer there is a 404 that says so.
    r = await client.delete(url(store.slug, f"/cart/items/{mug.id}"))
    assert r.status_code == 404 and "not in your cart" in r.json()["error"]["message"]
    assert await count(database, CartItem) == 0


async def test_cart_refuses_more_than_stock_and_says_how_many(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    mug = await make_product(database, store, name="Mug", stock=3)
    r = await add_to_cart(client, store.slug, mug.id, 4)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Only 3 of Mug available; you asked for 4"
    assert await count(database, CartItem) == 0

    assert (await add_to_cart(client, store.slug, mug.id, 2)).status_code == 200
    # 2 in the cart + 2 more would be 4 of 3: refused, and the line keeps its 2.
    r = await add_to_cart(client, store.slug, mug.id, 2)
    assert r.status_code == 400 and "Only 3 of Mug available" in r.json()["error"]["message"]
    r = await client.patch(url(store.slug, f"/cart/items/{mug.id}"), json={"quantity": 5})
    assert r.status_code == 400 and "Only 3" in r.json()["error"]["message"]
    cart = (await client.get(url(store.slug, "/cart"))).json()
    assert [i["quantity"] for i in cart["items"]] == [2]

    sold_out = await make_product(database, store, name="Lamp", stock=0)
    r = await add_to_cart(client, store.slug, sold_out.id, 1)
    assert r.status_code == 400 and r.json()["error"]["message"] == "Lamp is out of stock"


async def test_cart_refuses_unknown_inactive_and_foreign_products(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    other = await make_store(database)
    hidden = await make_product(database, store, is_active=False)
    foreign = await make_product(database, other)
    for product_id in (hidden.id, foreign.id, 987654):
        r = await add_to_cart(client, store.slug, product_id, 1)
        assert r.status_code == 404, r.text
        assert f"No product with id {product_id}" == r.json()["error"]["message"]
    assert await count(database, CartItem) == 0


async def test_cart_bad_input_is_4xx_with_message(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    mug = await make_product(database, store)
    items = url(store.slug, "/cart/items")
    cases = [
        {"product_id": mug.id, "quantity": 0},
        {"product_id": mug.id, "quantity": -1},
        {"product_id": mug.id, "quantity": "two"},
        {"product_id": mug.id, "quantity": 1.5},
        {"product_id": mug.id, "quantity": True},
        {"product_id": "x", "quantity": 1},
        {"quantity": 1},
        {"product_id": mug.id, "quantity": 1, "price_amount": 1},
    ]
    for body in cases:
        r = await client.post(items, json=body)
        assert r.status_code == 422, (body, r.text)
        message = r.json()["error"]["message"]
        assert message and ("quantity" in message or "product_id" in message or "price" in message)
    r = await client.post(items, content=b"{not json", headers={"content-type": "application/json"})
    assert (
        r.status_code == 422
        and r.json()["error"]["message"] == "The request body is not valid JSON"
    )
    r = await client.post(
        items, content=b"x" * (1_048_576 + 10), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    r = await client.patch(url(store.slug, f"/cart/items/{mug.id}"), json={"quantity": "two"})
    assert r.status_code == 422
    assert await count(database, CartItem) == 0 and await count(database, Cart) == 0


async def test_two_cookies_have_separate_carts(app, database: Database) -> None:  # type: ignore[no-untyped-def]
    store = await make_store(database)
    mug = await make_product(database, store, name="Mug")
    tee = await make_product(database, store, name="Tee")
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as alice,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as bob,
    ):
        assert (await add_to_cart(alice, store.slug, mug.id, 1)).status_code == 200
        assert (await add_to_cart(bob, store.slug, tee.id, 2)).status_code == 200
        a = (await alice.get(url(store.slug, "/cart"))).json()
        b = (await bob.get(url(store.slug, "/cart"))).json()
        assert [i["name"] for i in a["items"]] == ["Mug"]
        assert [(i["name"], i["quantity"]) for i in b["items"]] == [("Tee", 2)]
        # Bob cannot touch Alice's line.
        r = await bob.delete(url(store.slug, f"/cart/items/{mug.id}"))
        assert r.status_code == 404
        # A forged cookie is just no cart.
        bob.cookies.set("storeplex_cart", "spc_forged-token-value-xxxxxxxx")
        assert (await bob.get(url(store.slug, "/cart"))).json()["items"] == []
    assert [i["name"] for i in a["items"]] == ["Mug"]


async def test_one_browser_has_a_cart_per_store(
    client: httpx.AsyncClient, database: Database
) -> None:
    first = await make_store(database)
    second = await make_store(database)
    mug = await make_product(database, first, name="Mug")
    tee = await make_product(database, second, name="Tee")
    assert (await add_to_cart(client, first.slug, mug.id, 1)).status_code == 200
    assert (await add_to_cart(client, second.slug, tee.id, 3)).status_code == 200
    one = (await client.get(url(first.slug, "/cart"))).json()
    two = (await client.get(url(second.slug, "/cart"))).json()
    assert [i["name"] for i in one["items"]] == ["Mug"]
    assert [(i["name"], i["quantity"]) for i in two["items"]] == [("Tee", 3)]
    # A product of the first store cannot be put in the second store's cart.
    assert (await add_to_cart(client, second.slug, mug.id, 1)).status_code == 404
    assert await count(database, Cart) == 2


async def test_concurrent_adds_of_the_same_product_both_count(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    mug = await make_product(database, store, name="Mug", stock=10)
    assert (await add_to_cart(client, store.slug, mug.id, 1)).status_code == 200
    results = await asyncio.gather(*(add_to_cart(client, store.slug, mug.id, 2) for _ in range(3)))
    assert [r.status_code for r in results] == [200, 200, 200]
    cart = (await client.get(url(store.slug, "/cart"))).json()
    assert [i["quantity"] for i in cart["items"]] == [7]
    assert await count(database, CartItem) == 1
