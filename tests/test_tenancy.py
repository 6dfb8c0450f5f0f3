"""The storefront's store comes from `/s/{slug}/` or from a `{slug}.<base domain>` host."""

from __future__ import annotations

import httpx

from storeplex.app import create_app
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.tenancy import slug_from_host
from tests.support.factories import make_product, make_store


def test_slug_from_host() -> None:
    assert slug_from_host("shop.stores.test", "stores.test") == "shop"
    assert slug_from_host("SHOP.stores.test:8000", "stores.test") == "shop"
    assert slug_from_host("stores.test", "stores.test") is None
    assert slug_from_host("a.b.stores.test", "stores.test") is None
    assert slug_from_host("shop.elsewhere.test", "stores.test") is None
    assert slug_from_host("shop.stores.test", None) is None


async def test_a_store_on_its_own_host_name(settings: Settings, database: Database) -> None:
    store = await make_store(database, name="Host Shop")
    await make_product(database, store, name="Blue Teapot")
    other = await make_store(database, name="Other Shop")
    await make_product(database, other, name="Red Kettle")
    app = create_app(
        settings.model_copy(update={"base_domain": "stores.test"}),
        database=database,
        check_schema=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        page = await client.get("/", headers={"Host": f"{store.slug}.stores.test"})
        assert page.status_code == 200
        assert "Blue Teapot" in page.text and "Red Kettle" not in page.text
        # The platform's own paths stay the platform's on any host.
        health = await client.get("/healthz", headers={"Host": f"{store.slug}.stores.test"})
        assert health.json() == {"status": "ok"}
        unknown = await client.get("/", headers={"Host": "nosuchstore.stores.test"})
        assert unknown.status_code == 404
        # The path form works on the platform's host, for every store.
        by_path = await client.get(f"/s/{other.slug}/", headers={"Host": "stores.test"})
        assert "Red Kettle" in by_path.text
