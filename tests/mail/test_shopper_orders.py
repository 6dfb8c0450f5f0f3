"""The shopper's account lists their orders, and opens each one without its token."""

from __future__ import annotations

import httpx

from storeplex.db import Database
from tests.support.factories import make_product, make_store_kit
from tests.support.shop import SHIPPING, add_to_cart, place_order


async def _register(client: httpx.AsyncClient, slug: str, email: str) -> None:
    r = await client.post(
        f"/api/v1/storefront/{slug}/account/register",
        json={"email": email, "password": "correct horse battery", "name": "Sam"},
    )
    assert r.status_code == 201, r.text


async def test_the_account_lists_orders_and_opens_them(database: Database, app) -> None:  # type: ignore[no-untyped-def]
    kit = await make_store_kit(database, locale="en_IE")
    slug = kit.store.slug
    product = await make_product(database, kit.store, price_amount=1250, name="Espresso blend")
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as sam,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as other,
    ):
        await _register(sam, slug, "sam@example.com")
        first = await place_order(sam, slug, [(product, 1)], email="sam@example.com")
        second = await place_order(sam, slug, [(product, 2)], email="sam@example.com")
        await _register(other, slug, "other@example.com")
        theirs = await place_order(other, slug, [(product, 1)], email="other@example.com")

        page = await sam.get(f"/s/{slug}/account")
        assert page.status_code == 200
        assert f"#{first['number']}" in page.text and f"#{second['number']}" in page.text
        assert f"#{theirs['number']}" not in page.text
        assert "€25.00" in page.text and "awaiting payment" in page.text
        # Signed in, the shopper opens an order with neither its cookie nor its token.
        assert not [name for name in sam.cookies if name.startswith("storeplex_order_")]
        mine = await sam.get(f"/s/{slug}/orders/{first['id']}")
        assert mine.status_code == 200 and f"Order #{first['number']}" in mine.text
        assert (await sam.get(f"/s/{slug}/orders/{theirs['id']}")).status_code == 404

        # Checking out again, the form is filled from the last order.
        assert (await add_to_cart(sam, slug, product.id)).status_code == 200
        form = (await sam.get(f"/s/{slug}/checkout")).text
        assert 'value="sam@example.com"' in form and 'value="Sam Shopper"' in form
        assert f'value="{SHIPPING["line1"]}"' in form and f'value="{SHIPPING["city"]}"' in form
        assert (await add_to_cart(other, slug, product.id)).status_code == 200
        others = (await other.get(f"/s/{slug}/checkout")).text
        assert 'value="other@example.com"' in others and 'value="sam@example.com"' not in others
