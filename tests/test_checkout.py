"""Checkout: server-side totals in minor units, atomic stock reservation, order status by token."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from storeplex.auth.secrets import token_digest
from storeplex.db import Database
from storeplex.models import CartItem, Customer, Order, OrderItem, Product, Store
from tests.support.factories import make_product, make_store
from tests.support.shop import add_to_cart, checkout_body, place_order


def url(slug: str, path: str = "") -> str:
    return f"/api/v1/storefront/{slug}{path}"


async def count(db: Database, model: type, *where: Any) -> int:
    async with db.session_scope() as s:
        query = select(func.count()).select_from(model).where(*where)
        return int((await s.execute(query)).scalar_one())


async def stock_of(db: Database, product: Product) -> int:
    async with db.session_scope() as s:
        row = await s.get(Product, product.id)
        assert row is not None
        return row.stock


async def test_checkout_eur_totals_items_stock_and_cart(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    mug = await make_product(database, store, name="Mug", sku="MUG-1", price_amount=1250, stock=10)
    tee = await make_product(database, store, name="Tee", sku="TEE-1", price_amount=1999, stock=2)
    await add_to_cart(client, store.slug, mug.id, 3)
    await add_to_cart(client, store.slug, tee.id, 2)

    r = await client.post(
        url(store.slug, "/checkout"),
        json=checkout_body("Sam@Example.COM", phone="+352 123 456"),
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["number"] == 1
    assert order["status"] == "pending" and order["payment_status"] == "pending"
    assert order["currency"] == "EUR"
    assert order["subtotal_amount"] == 3 * 1250 + 2 * 1999 == 7748
    assert order["shipping_amount"] == 0
    assert order["total_amount"] == 7748
    assert order["total"] == "77.48 EUR"
    assert [
        (i["sku"], i["name"], i["unit_price_amount"], i["quantity"], i["line_total_amount"])
        for i in order["items"]
    ] == [("MUG-1", "Mug", 1250, 3, 3750), ("TEE-1", "Tee", 1999, 2, 3998)]
    token = order["access_token"]
    assert token.startswith("spo_") and len(token) > 40

    assert await stock_of(database, mug) == 7
    assert await stock_of(database, tee) == 0
    cart = (await client.get(url(store.slug, "/cart"))).json()
    assert cart["items"] == [] and cart["subtotal_amount"] == 0

    async with database.session_scope() as s:
        row = (await s.execute(select(Order))).scalar_one()
        assert row.total_amount_cents == 7748
        assert row.access_token_hash == token_digest(token)
        assert token not in (row.access_token_hash, row.email)
        assert row.email == "sam@example.com"
        assert row.shipping_country == "LU" and row.shipping_phone == "+352 123 456"
        customer = (await s.execute(select(Customer))).scalar_one()
        assert customer.store_id == store.id and customer.email == "sam@example.com"
        assert row.customer_id == customer.id

    # A later catalog price change does not rewrite the order.
    async with database.session_scope() as s:
        product = await s.get(Product, mug.id)
        assert product is not None
        product.price_amount = 9999
        product.name = "Renamed"
    r = await client.get(
        url(store.slug, f"/orders/{order['id']}"), headers={"X-Order-Token": token}
    )
    assert r.status_code == 200
    assert r.json()["items"][0]["name"] == "Mug"
    assert r.json()["total_amount"] == 7748

    # The same shopper again: same customer, next number.
    second = await place_order(client, store.slug, [(mug, 1)], email="sam@example.com")
    assert second["number"] == 2
    assert await count(database, Customer) == 1


async def test_checkout_totals_in_zero_and_three_decimal_currencies(
    client: httpx.AsyncClient, database: Database
) -> None:
    jpy = await make_store(database, currency="JPY", country="JP")
    tea = await make_product(database, jpy, price_amount=1500, stock=5)
    order = await place_order(client, jpy.slug, [(tea, 3)])
    assert order["currency"] == "JPY"
    assert order["total_amount"] == 4500
    assert order["total"] == "4500 JPY"
    assert order["items"][0]["unit_price"] == "1500 JPY"

    kwd = await make_store(database, currency="KWD", country="KW")
    dates = await make_product(database, kwd, price_amount=12_350, stock=5)
    figs = await make_product(database, kwd, price_amount=1_010, stock=5)
    order = await place_order(client, kwd.slug, [(dates, 2), (figs, 3)])
    assert order["currency"] == "KWD"
    assert order["subtotal_amount"] == 2 * 12_350 + 3 * 1_010 == 27_730
    assert order["total_amount"] == 27_730
    assert order["total"] == "27.730 KWD"
    # Order numbers are per store.
    assert order["number"] == 1


async def test_out_of_stock_is_409_and_writes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    # The first line (lower id) is reserved before the second fails: it must come back.
    mug = await make_product(database, store, name="Mug", stock=5)
    lamp = await make_product(database, store, name="Lamp", stock=3)
    await add_to_cart(client, store.slug, mug.id, 2)
    await add_to_cart(client, store.slug, lamp.id, 3)
    async with database.session_scope() as s:
        row = await s.get(Product, lamp.id)
        assert row is not None
        row.stock = 1  # someone else bought two meanwhile

    r = await client.post(url(store.slug, "/checkout"), json=checkout_body("new@example.com"))
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["message"].startswith("Only 1 of Lamp left; you asked for 3")

    assert await count(database, Order) == 0
    assert await count(database, OrderItem) == 0
    assert await count(database, Customer) == 0
    assert await stock_of(database, mug) == 5
    assert await stock_of(database, lamp) == 1
    async with database.session_scope() as s:
        assert (await s.get(Store, store.id)).last_order_number == 0  # type: ignore[union-attr]
    cart = (await client.get(url(store.slug, "/cart"))).json()
    assert [(i["name"], i["quantity"]) for i in cart["items"]] == [("Mug", 2), ("Lamp", 3)]
    assert [i["available"] for i in cart["items"]] == [True, False]

    # Sold out and withdrawn products are named too.
    async with database.session_scope() as s:
        row = await s.get(Product, lamp.id)
        assert row is not None
        row.stock = 0
    r = await client.post(url(store.slug, "/checkout"), json=checkout_body())
    assert r.status_code == 409 and r.json()["error"]["message"].startswith("Lamp is sold out")
    async with database.session_scope() as s:
        row = await s.get(Product, lamp.id)
        assert row is not None
        row.is_active = False
        row.stock = 10
    r = await client.post(url(store.slug, "/checkout"), json=checkout_body())
    assert r.status_code == 409
    assert r.json()["error"]["message"].startswith("Lamp is no longer sold")
    assert await count(database, Order) == 0 and await stock_of(database, mug) == 5


async def test_empty_cart_and_bad_input_are_4xx_and_write_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    mug = await make_product(database, store, name="Mug", stock=5)
    r = await client.post(url(store.slug, "/checkout"), json=checkout_body())
    assert r.status_code == 400 and "cart is empty" in r.json()["error"]["message"]

    await add_to_cart(client, store.slug, mug.id, 2)
    shipping_no_city = {k: v for k, v in checkout_body()["shipping"].items() if k != "city"}
    cases: list[tuple[dict[str, Any], str]] = [
        (checkout_body("not-an-email"), "email"),
        (checkout_body("a@b"), "email"),
        ({**checkout_body(), "shipping": shipping_no_city}, "shipping.city is required"),
        ({**checkout_body(), "shipping": None}, "shipping"),
        (
            {
                **checkout_body(),
                "shipping": {**checkout_body()["shipping"], "country": "Luxembourg"},
            },
            "shipping.country",
        ),
        ({**checkout_body(), "name": "   "}, "name"),
        ({**checkout_body(), "total_amount": 1}, "total_amount"),
        ({k: v for k, v in checkout_body().items() if k != "email"}, "email is required"),
    ]
    for body, expected in cases:
        r = await client.post(url(store.slug, "/checkout"), json=body)
        assert r.status_code == 422, (body, r.text)
        assert expected in r.json()["error"]["message"], r.json()
    r = await client.post(
        url(store.slug, "/checkout"), content=b"email=x", headers={"content-type": "text/plain"}
    )
    assert r.status_code == 422
    r = await client.post(
        url(store.slug, "/checkout"),
        content=b'{"email": "' + b"a" * 1_100_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413

    assert await count(database, Order) == 0 and await count(database, Customer) == 0
    assert await stock_of(database, mug) == 5
    assert await count(database, CartItem) == 1


async def test_twenty_concurrent_checkouts_for_the_last_five_units(
    app: Any, database: Database
) -> None:
    store = await make_store(database)
    last = await make_product(database, store, name="Limited print", stock=5, price_amount=5000)
    transport = httpx.ASGITransport(app=app)
    clients = [
        httpx.AsyncClient(transport=transport, base_url="http://testserver") for _ in range(20)
    ]
    try:
        for c in clients:
            assert (await add_to_cart(c, store.slug, last.id, 1)).status_code == 200
        # Every shopper is new and uses the same email: the customer insert races too.
        results = await asyncio.gather(
            *(
                c.post(url(store.slug, "/checkout"), json=checkout_body("race@example.com"))
                for c in clients
            )
        )
    finally:
        for c in clients:
            await c.aclose()

    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * 5 + [409] * 15, [r.text for r in results if r.status_code >= 500]
    refused = [r.json()["error"]["message"] for r in results if r.status_code == 409]
    assert all("Limited print" in m for m in refused)
    assert await stock_of(database, last) == 0
    assert await count(database, Order) == 5
    assert await count(database, Customer) == 1
    numbers = sorted(r.json()["number"] for r in results if r.status_code == 201)
    assert numbers == [1, 2, 3, 4, 5]
    async with database.session_scope() as s:
        db_numbers = sorted((await s.execute(select(Order.number))).scalars())
    assert db_numbers == numbers


async def test_order_status_needs_the_access_token(
    client: httpx.AsyncClient, database: Database
) -> None:
    store = await make_store(database)
    other = await make_store(database)
    mug = await make_product(database, store, price_amount=1250)
    order = await place_order(client, store.slug, [(mug, 2)])
    path = url(store.slug, f"/orders/{order['id']}")

    r = await client.get(path, headers={"X-Order-Token": order["access_token"]})
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == order["id"] and body["number"] == order["number"]
    assert body["status"] == "pending" and body["payment_status"] == "pending"
    assert body["total_amount"] == 2500 and body["items"][0]["quantity"] == 2
    assert "access_token" not in body

    r = await client.get(path, params={"token": order["access_token"]})
    assert r.status_code == 200 and r.json()["id"] == order["id"]

    not_found = [
        await client.get(path),
        await client.get(path, headers={"X-Order-Token": "spo_wrong"}),
        await client.get(path, params={"token": order["access_token"][:-1]}),
        # The right token in another store's address is still a 404.
        await client.get(
            url(other.slug, f"/orders/{order['id']}"),
            headers={"X-Order-Token": order["access_token"]},
        ),
        await client.get(
            url(store.slug, "/orders/999999"), headers={"X-Order-Token": order["access_token"]}
        ),
    ]
    assert [r.status_code for r in not_found] == [404] * 5
    assert len({r.json()["error"]["message"] for r in not_found[:3]}) == 1


# Stripe's minimum charge per currency, in minor units, as its currencies page lists them
# ("Minimum and maximum charge amounts"), typed here from that page, not from our code.
STRIPE_MINIMUMS = {
    "USD": 50, "EUR": 50, "GBP": 30, "CHF": 50, "AUD": 50, "CAD": 50, "NZD": 50, "SGD": 50,
    "BRL": 50, "INR": 50, "JPY": 50, "AED": 200, "BGN": 100, "CZK": 1500, "DKK": 250,
    "HKD": 400, "HUF": 17500, "MXN": 1000, "MYR": 200, "NOK": 300, "PLN": 200, "RON": 200,
    "SEK": 300, "THB": 1000,
}  # fmt: skip


async def test_checkout_refuses_an_order_below_stripes_minimum_in_every_currency(
    client: httpx.AsyncClient, database: Database
) -> None:
    for currency, minimum in STRIPE_MINIMUMS.items():
        store = await make_store(database, currency=currency)
        below = await make_product(database, store, price_amount=minimum - 1, stock=5)
        at = await make_product(database, store, price_amount=minimum, stock=5)
        client.cookies.clear()
        r = await add_to_cart(client, store.slug, below.id, 1)
        assert r.status_code == 200, r.text
        r = await client.post(url(store.slug, "/checkout"), json=checkout_body())
        assert r.status_code == 400, (currency, r.text)
        assert r.json()["error"]["code"] == "below_minimum", currency
        assert await count(database, Order, Order.store_id == store.id) == 0, currency
        order = await place_order(client, store.slug, [(at, 1)])
        assert order["total_amount"] == minimum, currency
