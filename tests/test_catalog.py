"""Store staff manage products: prices in minor units, stock, search, activation."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from storeplex.catalog.service import create_product
from storeplex.db import Database
from storeplex.errors import BadRequest
from tests.support.factories import bearer, make_product, make_store_kit

URL = "/api/v1/store/products"


def product(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": "TEA-1",
        "name": "Green tea",
        "description": "Loose leaf",
        "price": "12.50",
        "stock": 5,
    }
    body.update(overrides)
    return body


async def test_create_get_and_list_a_product(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    auth = bearer(kit.token)
    r = await client.post(URL, json=product(), headers=auth)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["price_amount"] == 1250
    assert created["price"] == "12.50"
    assert created["currency"] == "EUR"
    assert created["stock"] == 5
    assert created["is_active"] is True

    got = await client.get(f"{URL}/{created['id']}", headers=auth)
    assert got.json() == created
    listed = await client.get(URL, headers=auth)
    assert listed.json() == {"data": [created], "has_more": False}
    assert (await client.get(f"{URL}/987654", headers=auth)).status_code == 404


async def test_prices_follow_the_store_currency(
    client: httpx.AsyncClient, database: Database
) -> None:
    yen = await make_store_kit(database, currency="JPY")
    r = await client.post(URL, json=product(price="1500"), headers=bearer(yen.token))
    assert (r.json()["price_amount"], r.json()["price"], r.json()["currency"]) == (
        1500, "1500", "JPY",
    )  # fmt: skip
    r = await client.post(URL, json=product(sku="TEA-2", price="1500.5"), headers=bearer(yen.token))
    assert r.status_code == 400
    assert "JPY" in r.json()["detail"]
    dinar = await make_store_kit(database, currency="KWD")
    r = await client.post(URL, json=product(price="1.250"), headers=bearer(dinar.token))
    assert (r.json()["price_amount"], r.json()["price"]) == (1250, "1.250")


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"price": "-1"}, 400, "price"),
        ({"price": "1.999"}, 400, "price"),
        ({"price": "abc"}, 400, "price"),
        ({"price": "NaN"}, 400, "price"),
        ({"price": "1e3"}, 400, "price"),  # no exponents: "1e300000" would stall the server
        ({"price": "100000000"}, 400, "price"),
        ({"price": 1.5}, 422, "price"),
        ({"price": 12}, 422, "price"),
        ({"stock": -1}, 422, "stock"),
        ({"stock": "5"}, 422, "stock"),
        ({"stock": 1.0}, 422, "stock"),
        ({"name": "x" * 201}, 422, "name"),
        ({"name": ""}, 422, "name"),
        ({"name": "   "}, 400, "name"),
        ({"sku": "s" * 65}, 422, "sku"),
        ({"is_active": "yes"}, 422, "is_active"),
        ({"colour": "green"}, 422, "colour"),
    ],
)
async def test_bad_product_input_is_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    database: Database,
    change: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    kit = await make_store_kit(database)
    auth = bearer(kit.token)
    r = await client.post(URL, json=product(**change), headers=auth)
    assert r.status_code == status, r.text
    listed = (await client.get(URL, headers=auth)).json()["data"]
    if status == 201:
        assert listed[0]["price_amount"] == 100000
        return
    assert r.json()["error"]["field"] == field
    assert r.json()["detail"]
    assert listed == []


async def test_float_price_gets_a_helpful_message(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    r = await client.post(URL, json=product(price=1.5), headers=bearer(kit.token))
    assert "decimal string" in r.json()["detail"]


async def test_duplicate_sku_is_409_per_store(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    other = await make_store_kit(database)
    assert (await client.post(URL, json=product(), headers=bearer(kit.token))).status_code == 201
    r = await client.post(URL, json=product(name="Again"), headers=bearer(kit.token))
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "sku"
    # The same SKU is fine in another store.
    assert (await client.post(URL, json=product(), headers=bearer(other.token))).status_code == 201
    listed = (await client.get(URL, headers=bearer(kit.token))).json()["data"]
    assert [p["name"] for p in listed] == ["Green tea"]


async def test_list_filters_search_and_pages(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    auth = bearer(kit.token)
    await make_product(database, kit.store, sku="COF-1", name="Espresso beans")
    await make_product(database, kit.store, sku="TEA-9", name="Earl Grey")
    await make_product(database, kit.store, sku="COF-2", name="Filter 100%", is_active=False)

    async def skus(query: str) -> list[str]:
        r = await client.get(f"{URL}?{query}", headers=auth)
        assert r.status_code == 200, r.text
        return [p["sku"] for p in r.json()["data"]]

    assert await skus("active=true") == ["COF-1", "TEA-9"]
    assert await skus("active=false") == ["COF-2"]
    assert await skus("q=cof") == ["COF-1", "COF-2"]
    assert await skus("q=GREY") == ["TEA-9"]
    assert await skus("q=100%25") == ["COF-2"]
    assert await skus("q=_") == []
    page = (await client.get(f"{URL}?limit=2", headers=auth)).json()
    assert ([p["sku"] for p in page["data"]], page["has_more"]) == (["COF-1", "TEA-9"], True)
    page = (await client.get(f"{URL}?limit=2&offset=2", headers=auth)).json()
    assert ([p["sku"] for p in page["data"]], page["has_more"]) == (["COF-2"], False)
    assert (await client.get(f"{URL}?limit=0", headers=auth)).status_code == 422
    assert (await client.get(f"{URL}?active=maybe", headers=auth)).status_code == 422


async def test_patch_changes_fields_and_refuses_bad_ones(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    auth = bearer(kit.token)
    p = await make_product(database, kit.store, sku="A-1", price_amount=1000, stock=4)
    await make_product(database, kit.store, sku="B-1")
    url = f"{URL}/{p.id}"
    r = await client.patch(
        url, json={"price": "19.99", "name": "New name", "stock": 7}, headers=auth
    )
    assert r.status_code == 200, r.text
    assert (r.json()["price_amount"], r.json()["name"], r.json()["stock"]) == (1999, "New name", 7)

    for bad, status in [({"sku": "B-1"}, 409), ({"price": "-3"}, 400), ({"price": 3}, 422),
                        ({"stock": -2}, 422), ({"name": None}, 400), ({"id": 5}, 422),
                        ({"stock": 1, "stock_delta": 1}, 400)]:  # fmt: skip
        r = await client.patch(url, json=bad, headers=auth)
        assert r.status_code == status, (bad, r.text)
    after = (await client.get(url, headers=auth)).json()
    assert (after["sku"], after["price_amount"], after["name"], after["stock"]) == (
        "A-1", 1999, "New name", 7,
    )  # fmt: skip


async def test_stock_delta_is_atomic_and_never_negative(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    auth = bearer(kit.token)
    p = await make_product(database, kit.store, stock=10)
    url = f"{URL}/{p.id}"
    results = await asyncio.gather(
        *[client.patch(url, json={"stock_delta": -3}, headers=auth) for _ in range(5)]
    )
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 200, 200, 409, 409]
    assert (await client.get(url, headers=auth)).json()["stock"] == 1
    r = await client.patch(url, json={"stock_delta": -2}, headers=auth)
    assert r.status_code == 409
    assert "below zero" in r.json()["detail"]
    r = await client.patch(url, json={"stock_delta": 4, "name": "Restocked"}, headers=auth)
    assert (r.json()["stock"], r.json()["name"]) == (5, "Restocked")


async def test_deactivate_and_activate(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    auth = bearer(kit.token)
    p = await make_product(database, kit.store)
    r = await client.post(f"{URL}/{p.id}/deactivate", headers=auth)
    assert r.status_code == 200
    assert r.json()["is_active"] is False
    assert (await client.get(f"{URL}?active=true", headers=auth)).json()["data"] == []
    r = await client.post(f"{URL}/{p.id}/activate", headers=auth)
    assert r.json()["is_active"] is True
    assert (await client.post(f"{URL}/555555/activate", headers=auth)).status_code == 404


async def test_create_product_service_takes_minor_units(database: Database) -> None:
    kit = await make_store_kit(database)
    async with database.session_scope() as s:
        made = await create_product(
            s, store_id=kit.store.id, sku="DEMO-1", name="Demo", price_amount=990, stock=3
        )
        assert (made.price_amount, made.description, made.is_active) == (990, "", True)
    async with database.session_scope() as s:
        with pytest.raises(BadRequest) as err:
            await create_product(
                s, store_id=kit.store.id, sku="DEMO-2", name="Demo", price_amount=-1, stock=3
            )
        assert err.value.field == "price"
