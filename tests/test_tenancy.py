"""The storefront's store comes from `/s/{slug}/` or from a `{slug}.<base domain>` host."""

from __future__ import annotations

import httpx
import pytest
from starlette.requests import Request

from storeplex.app import create_app
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.errors import NotFound
from storeplex.models import Product, Store
from storeplex.tenancy import (
    get_scoped,
    require_store_context,
    scoped,
    slug_from_host,
    storefront_slug,
)
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


def test_slug_from_host_edge_cases() -> None:
    assert slug_from_host(None, "stores.test") is None
    assert slug_from_host("", "stores.test") is None
    assert slug_from_host("shop.stores.test", "") is None
    assert slug_from_host("shop.stores.test.", "stores.test") == "shop"  # fully qualified form
    assert slug_from_host("shop.stores.test", ".Stores.TEST") == "shop"
    assert slug_from_host("shop.stores.test:8443", "stores.test") == "shop"
    assert slug_from_host("shopstores.test", "stores.test") is None  # not a sub-domain
    assert slug_from_host(".stores.test", "stores.test") is None
    assert slug_from_host("evil.test", "test") == "evil"


async def test_a_row_of_another_store_is_not_found_like_a_missing_one(database: Database) -> None:
    mine = await make_store(database)
    theirs = await make_store(database)
    own = await make_product(database, mine, name="Mine")
    other = await make_product(database, theirs, name="Theirs")
    async with database.session_scope() as s:
        found = await get_scoped(s, Product, mine.id, own.id)
        assert (found.id, found.name) == (own.id, "Mine")
        locked = await get_scoped(s, Product, mine.id, own.id, for_update=True)
        assert locked.id == own.id
        listed = (await s.execute(scoped(Product, mine.id))).scalars().all()
        assert [p.name for p in listed] == ["Mine"]
        messages = []
        for object_id in (other.id, other.id + own.id + 1000):
            with pytest.raises(NotFound) as err:
                await get_scoped(s, Product, mine.id, object_id)
            messages.append(err.value.message)
        assert messages == [
            f"No product with id {other.id}",
            f"No product with id {other.id + own.id + 1000}",
        ]
        with pytest.raises(NotFound) as named:
            await get_scoped(s, Product, mine.id, other.id, what="item")
        assert named.value.message == f"No item with id {other.id}"


async def test_a_storefront_address_names_an_active_store_or_answers_404(
    settings: Settings, database: Database
) -> None:
    store = await make_store(database, slug="teashop", name="Tea Shop")
    await make_product(database, store, name="Green Tea")
    await make_store(database, slug="closed", name="Closed Shop", status="suspended")
    app = create_app(
        settings.model_copy(update={"base_domain": "stores.test"}),
        database=database,
        check_schema=False,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        for address, host in [
            ("/s/teashop/", "stores.test"),
            ("/s/TeaShop/", "stores.test"),  # a slug is matched whatever its case
            ("/", "TEASHOP.stores.test"),
            ("/s/teashop/", "closed.stores.test"),  # the path wins over the host
        ]:
            page = await client.get(address, headers={"Host": host})
            assert (page.status_code, "Green Tea" in page.text) == (200, True), (address, host)
        for address, host in [
            ("/s/closed/", "stores.test"),  # suspended: says it is not taking orders
            ("/", "closed.stores.test"),
        ]:
            page = await client.get(address, headers={"Host": host})
            assert page.status_code == 200, (address, host)
            assert "Closed Shop is not taking orders" in page.text
            assert "Green Tea" not in page.text and 'id="not-taking-orders"' in page.text
        for address, host in [
            ("/s/closed/cart", "stores.test"),  # and has nothing else: no cart, no product
            ("/s/nosuchshop/", "stores.test"),
        ]:
            page = await client.get(address, headers={"Host": host})
            assert page.status_code == 404, (address, host)
            assert "Green Tea" not in page.text and "Closed Shop" not in page.text
        # A host outside the base domain is the platform's, not the store of its first label.
        elsewhere = await client.get("/", headers={"Host": "teashop.elsewhere.test"})
        assert "Green Tea" not in elsewhere.text


async def test_the_storefront_api_finds_its_store_by_slug_in_any_case(
    client: httpx.AsyncClient, database: Database
) -> None:
    await make_store(database, slug="kettles", name="Kettle Shop")
    await make_store(database, slug="gone", name="Gone Shop", status="suspended")
    for slug in ("kettles", "Kettles", "KETTLES"):
        r = await client.get(f"/api/v1/storefront/{slug}")
        assert (r.status_code, r.json()["name"]) == (200, "Kettle Shop"), slug
    for slug in ("gone", "nosuchshop"):
        r = await client.get(f"/api/v1/storefront/{slug}")
        assert r.status_code == 404, slug
        assert r.json()["error"]["message"] == f"No store called {slug!r}"


def test_a_storefront_request_names_its_store_by_path_first_then_by_host(
    settings: Settings, database: Database
) -> None:
    app = create_app(
        settings.model_copy(update={"base_domain": "stores.test"}),
        database=database,
        check_schema=False,
    )

    def request(host: str, **path_params: str) -> Request:
        scope = {
            "type": "http",
            "app": app,
            "path_params": path_params,
            "headers": [(b"host", host.encode())],
        }
        return Request(scope)

    assert storefront_slug(request("stores.test", slug="teashop")) == "teashop"
    assert storefront_slug(request("other.stores.test", slug="teashop")) == "teashop"
    assert storefront_slug(request("Other.Stores.Test:8000")) == "other"
    assert storefront_slug(request("stores.test")) is None
    assert storefront_slug(request("other.elsewhere.test")) is None
    assert storefront_slug(request("other.stores.test", slug="")) == "other"


async def test_a_route_taking_the_storefront_store_gets_the_active_store_of_its_address(
    settings: Settings, database: Database
) -> None:
    await make_store(database, slug="lamps", name="Lamp Shop")
    await make_store(database, slug="shut", name="Shut Shop", status="suspended")
    app = create_app(settings, database=database, check_schema=False)
    current_store = require_store_context()  # built now, as each router builds its own

    @app.get("/s/{slug}/which-store")
    async def which_store(store: Store = current_store) -> dict[str, str]:
        return {"name": store.name}

    @app.get("/which-store")
    async def which_store_here(store: Store = current_store) -> dict[str, str]:
        return {"name": store.name}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        for path in ("/s/lamps/which-store", "/s/LAMPS/which-store"):
            r = await client.get(path)
            assert (r.status_code, r.json()) == (200, {"name": "Lamp Shop"}), path
        for path, message in [
            ("/s/shut/which-store", "No store called 'shut'"),
            ("/s/nosuch/which-store", "No store called 'nosuch'"),
            ("/which-store", "No store in this address"),
        ]:
            r = await client.get(path)
            assert (r.status_code, r.json()["error"]["message"]) == (404, message), path
