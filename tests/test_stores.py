"""Platform admins create, list, edit, suspend and activate stores; staff edit their own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from storeplex.auth.service import create_platform_admin
from storeplex.db import Database
from storeplex.errors import BadRequest, Conflict
from storeplex.models import Customer, Order, StaffUser, Store
from storeplex.stores.service import create_store
from tests.support.factories import PASSWORD, bearer, login_staff, make_store_kit, make_token


def new_store(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": "green-tea",
        "name": "Green Tea House",
        "business_email": "hello@green-tea.example",
        "country": "lu",
        "currency": "eur",
        "city": "Esch",
        "owner_email": "Owner@Green-Tea.example",
        "owner_password": "a long password",
        "owner_name": "Mia",
    }
    body.update(overrides)
    return body


async def _count(database: Database, model: type) -> int:
    async with database.session_scope() as s:
        return int((await s.execute(select(func.count()).select_from(model))).scalar_one())


async def test_admin_creates_a_store_whose_owner_can_log_in(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = bearer(await make_token(database))
    r = await client.post("/api/v1/platform/stores", json=new_store(), headers=admin)
    assert r.status_code == 201, r.text
    store, owner = r.json()["store"], r.json()["owner"]
    assert store["slug"] == "green-tea"
    assert store["country"] == "LU"
    assert store["currency"] == "EUR"
    assert store["status"] == "active"
    assert owner == {"id": owner["id"], "email": "owner@green-tea.example", "name": "Mia",
                     "role": "owner"}  # fmt: skip
    assert "password" not in r.text
    await login_staff(client, "owner@green-tea.example", "a long password")
    mine = await client.get("/api/v1/store")
    assert mine.json()["id"] == store["id"]

    got = await client.get(f"/api/v1/platform/stores/{store['id']}", headers=admin)
    assert got.status_code == 200
    assert got.json()["name"] == "Green Tea House"
    assert (await client.get("/api/v1/platform/stores/99999", headers=admin)).status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [
        ({"slug": "Green_Tea"}, 400, "slug", "lowercase"),
        ({"slug": "-tea"}, 400, "slug", "hyphen"),
        ({"slug": "ab"}, 400, "slug", "3 to 63"),
        ({"slug": "a" * 64}, 400, "slug", "3 to 63"),
        ({"slug": "admin"}, 400, "slug", "reserved"),
        ({"slug": "api"}, 400, "slug", "reserved"),
        ({"currency": "XYZ"}, 400, "currency", "Unsupported currency"),
        ({"country": "Luxembourg"}, 400, "country", "ISO 3166"),
        ({"country": "QQ"}, 400, "country", "ISO 3166"),
        ({"owner_password": "short"}, 422, "owner_password", "at least 8"),
        ({"owner_email": "not-an-email"}, 422, "owner_email", "email"),
        ({"business_email": "x@"}, 422, "business_email", "email"),
        ({"name": ""}, 422, "name", "at least 1"),
        ({"name": "x" * 201}, 422, "name", "at most 200"),
        ({"plan": "gold"}, 422, "plan", "Extra inputs"),
        ({"slug": 42}, 422, "slug", "string"),
    ],
)
async def test_bad_store_input_is_refused_and_names_the_field(
    client: httpx.AsyncClient,
    database: Database,
    change: dict[str, Any],
    status: int,
    field: str,
    words: str,
) -> None:
    admin = bearer(await make_token(database))
    r = await client.post("/api/v1/platform/stores", json=new_store(**change), headers=admin)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"]["field"] == field
    assert words.lower() in body["detail"].lower()
    assert await _count(database, Store) == 0
    assert await _count(database, StaffUser) == 0


async def test_duplicate_slug_or_owner_email_is_409_and_writes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = bearer(await make_token(database))
    assert (
        await client.post("/api/v1/platform/stores", json=new_store(), headers=admin)
    ).status_code == 201
    r = await client.post(
        "/api/v1/platform/stores",
        json=new_store(owner_email="someone@else.example"),
        headers=admin,
    )
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "slug"
    r = await client.post(
        "/api/v1/platform/stores", json=new_store(slug="other-shop"), headers=admin
    )
    assert r.status_code == 409
    assert r.json()["error"]["field"] == "owner_email"
    # The store row of the refused request was rolled back with it.
    assert await _count(database, Store) == 1
    assert await _count(database, StaffUser) == 1


async def test_list_pages_and_filters_by_status(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = bearer(await make_token(database))
    ids = []
    for i in range(3):
        r = await client.post(
            "/api/v1/platform/stores",
            json=new_store(slug=f"shop-{i}", owner_email=f"o{i}@shop.example"),
            headers=admin,
        )
        ids.append(r.json()["store"]["id"])
    page = await client.get("/api/v1/platform/stores?limit=2", headers=admin)
    assert [s["id"] for s in page.json()["data"]] == ids[:2]
    assert page.json()["has_more"] is True
    page = await client.get("/api/v1/platform/stores?limit=2&offset=2", headers=admin)
    assert [s["id"] for s in page.json()["data"]] == ids[2:]
    assert page.json()["has_more"] is False

    r = await client.post(f"/api/v1/platform/stores/{ids[1]}/suspend", headers=admin)
    assert r.status_code == 200
    assert r.json()["status"] == "suspended"
    suspended = await client.get("/api/v1/platform/stores?status=suspended", headers=admin)
    assert [s["id"] for s in suspended.json()["data"]] == [ids[1]]
    active = await client.get("/api/v1/platform/stores?status=active", headers=admin)
    assert [s["id"] for s in active.json()["data"]] == [ids[0], ids[2]]
    bad = await client.get("/api/v1/platform/stores?status=deleted", headers=admin)
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "status"
    assert (await client.get("/api/v1/platform/stores?limit=0", headers=admin)).status_code == 422
    assert (await client.get("/api/v1/platform/stores?limit=101", headers=admin)).status_code == 422


async def test_suspended_store_is_closed_to_staff_until_activated(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = bearer(await make_token(database))
    kit = await make_store_kit(database)
    assert (await client.get("/api/v1/store", headers=bearer(kit.token))).status_code == 200
    r = await client.post(f"/api/v1/platform/stores/{kit.store.id}/suspend", headers=admin)
    assert r.json()["status"] == "suspended"
    r = await client.get("/api/v1/store", headers=bearer(kit.token))
    assert r.status_code == 403
    assert "suspended" in r.json()["detail"]
    r = await client.post(
        "/api/v1/auth/staff/login", json={"email": kit.owner_email, "password": PASSWORD}
    )
    assert r.status_code == 403
    r = await client.post(f"/api/v1/platform/stores/{kit.store.id}/activate", headers=admin)
    assert r.json()["status"] == "active"
    assert (await client.get("/api/v1/store", headers=bearer(kit.token))).status_code == 200
    assert (
        await client.post("/api/v1/platform/stores/424242/suspend", headers=admin)
    ).status_code == 404


async def test_platform_patch_edits_details_and_guards_currency(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = bearer(await make_token(database))
    kit = await make_store_kit(database)
    url = f"/api/v1/platform/stores/{kit.store.id}"
    r = await client.patch(
        url, json={"name": "Renamed", "country": "de", "currency": "usd"}, headers=admin
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["country"], r.json()["currency"]) == ("Renamed", "DE", "USD")
    r = await client.patch(url, json={"slug": "new-slug"}, headers=admin)
    assert r.status_code == 422
    r = await client.patch(url, json={"status": "suspended"}, headers=admin)
    assert r.status_code == 422
    r = await client.patch(url, json={"currency": "ABC"}, headers=admin)
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "currency"

    async with database.session_scope() as s:
        customer = Customer(store_id=kit.store.id, email="c@x.example")
        s.add(customer)
        await s.flush()
        s.add(
            Order(
                store_id=kit.store.id, customer_id=customer.id, number=1, currency="USD",
                subtotal_amount=100, total_amount_cents=100, email="c@x.example",
                shipping_name="C", shipping_line1="1 Road", shipping_city="Town",
                shipping_postal_code="1234", shipping_country="DE", access_token_hash="0" * 64,
            )
        )  # fmt: skip
    r = await client.patch(url, json={"currency": "EUR"}, headers=admin)
    assert r.status_code == 409
    assert "orders" in r.json()["detail"]
    r = await client.patch(url, json={"currency": "usd", "city": "Berlin"}, headers=admin)
    assert r.status_code == 200
    assert r.json()["city"] == "Berlin"


async def test_staff_edit_their_store_but_not_slug_currency_or_status(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    headers = {"X-CSRF-Token": csrf}
    r = await client.patch(
        "/api/v1/store",
        json={"name": "  Better Name ", "business_phone": "+352 123", "city": "Luxembourg"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Better Name"
    assert r.json()["business_phone"] == "+352 123"
    for forbidden in ({"slug": "x-y-z"}, {"currency": "USD"}, {"status": "suspended"},
                      {"country": "FR"}, {"business_email": "nope"}, {"name": None}):  # fmt: skip
        r = await client.patch("/api/v1/store", json=forbidden, headers=headers)
        assert 400 <= r.status_code < 500, forbidden
        assert r.json()["error"]["field"] in forbidden, r.text
    mine = (await client.get("/api/v1/store")).json()
    assert (mine["slug"], mine["currency"], mine["status"], mine["name"]) == (
        kit.store.slug, "EUR", "active", "Better Name",
    )  # fmt: skip


async def test_service_functions_used_by_the_cli(database: Database) -> None:
    async with database.session_scope() as s:
        store, owner = await create_store(
            s,
            slug="cli-shop",
            name="CLI Shop",
            business_email="cli@shop.example",
            owner_email="cli-owner@shop.example",
            owner_password="long password",
        )
        assert (store.country, store.currency, owner.role) == ("LU", "EUR", "owner")
        admin = await create_platform_admin(
            s, email="Boss@Platform.example", password="boss of the platform"
        )
        assert admin.email == "boss@platform.example"
    async with database.session_scope() as s:
        with pytest.raises(Conflict):
            await create_platform_admin(
                s, email="boss@platform.example", password="boss of the platform"
            )
    async with database.session_scope() as s:
        with pytest.raises(BadRequest) as err:
            await create_platform_admin(s, email="new@platform.example", password="short")
        assert err.value.field == "password"
    for guessable in ("12345678", "password", " " * 8):
        async with database.session_scope() as s:
            with pytest.raises(BadRequest) as err:
                await create_platform_admin(s, email="new@platform.example", password=guessable)
            assert err.value.field == "password"
    async with database.session_scope() as s:
        with pytest.raises(BadRequest) as err:
            await create_store(
                s, slug="cli-two", name="Two", business_email="two@shop.example",
                owner_email="two@shop.example", owner_password="short",
            )  # fmt: skip
        assert err.value.field == "owner_password"
