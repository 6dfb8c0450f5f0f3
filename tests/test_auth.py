"""Login, logout, who-am-i, CSRF, API tokens and their scopes."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from storeplex.db import Database
from storeplex.mail.render import render_mail
from storeplex.models import ApiToken, OutboxMail, StaffInvitation, StaffUser, StoreStatus, utcnow
from tests.support.factories import (
    PASSWORD,
    bearer,
    login_staff,
    make_admin,
    make_staff,
    make_store_kit,
    make_token,
)


async def test_staff_login_sets_a_safe_cookie_and_me_says_who(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    r = await client.post(
        "/api/v1/auth/staff/login", json={"email": kit.owner_email, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["staff"]["email"] == kit.owner_email
    assert body["staff"]["role"] == "owner"
    assert body["store"] == {"id": kit.store.id, "slug": kit.store.slug, "name": kit.store.name}
    assert body["csrf_token"]
    cookie = r.headers["set-cookie"].lower()
    assert "storeplex_staff=" in cookie
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "password" not in r.text

    me = await client.get("/api/v1/auth/me")
    assert me.status_code == 200
    assert me.json()["kind"] == "staff"
    assert me.json()["store"]["id"] == kit.store.id
    assert me.json()["via"] == "session"


async def test_login_is_case_insensitive_on_email(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    r = await client.post(
        "/api/v1/auth/staff/login",
        json={"email": kit.owner_email.upper(), "password": PASSWORD},
    )
    assert r.status_code == 200, r.text


async def test_wrong_password_and_unknown_email_say_the_same(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    wrong = await client.post(
        "/api/v1/auth/staff/login", json={"email": kit.owner_email, "password": "nope-nope"}
    )
    unknown = await client.post(
        "/api/v1/auth/staff/login", json={"email": "ghost@nowhere.test", "password": PASSWORD}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Wrong email or password"
    assert "set-cookie" not in wrong.headers


async def test_login_refuses_malformed_input_with_4xx(client: httpx.AsyncClient) -> None:
    r = await client.post("/api/v1/auth/staff/login", json={"email": "a@b.example"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "password"
    assert r.json()["detail"] == "password is required"
    r = await client.post("/api/v1/auth/staff/login", json={"email": 5, "password": "x"})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "email"
    r = await client.post(
        "/api/v1/auth/staff/login",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert "JSON" in r.json()["detail"]


async def test_inactive_staff_and_suspended_store_get_403(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    clerk = await make_staff(database, kit.store, role="staff")
    async with database.session_scope() as s:
        user = await s.get(StaffUser, clerk.id)
        assert user is not None
        user.is_active = False
    r = await client.post(
        "/api/v1/auth/staff/login", json={"email": clerk.email, "password": PASSWORD}
    )
    assert r.status_code == 403
    assert "disabled" in r.json()["detail"]

    csrf = await login_staff(client, kit.owner_email)
    await _set_store_status(database, kit.store.id, StoreStatus.SUSPENDED)
    r = await client.post(
        "/api/v1/auth/staff/login", json={"email": kit.owner_email, "password": PASSWORD}
    )
    assert r.status_code == 403
    assert "suspended" in r.json()["detail"]
    # An existing session and the store's token are refused too.
    r = await client.get("/api/v1/store", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403
    r = await client.get("/api/v1/store/products", headers=bearer(kit.token))
    assert r.status_code == 403
    assert "suspended" in r.json()["detail"]


async def _set_store_status(database: Database, store_id: int, status: str) -> None:
    from storeplex.models import Store

    async with database.session_scope() as s:
        store = await s.get(Store, store_id)
        assert store is not None
        store.status = status


async def test_cookie_post_needs_csrf_and_bearer_does_not(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    product = {"sku": "MUG-1", "name": "Mug", "price": "9.90", "stock": 3}
    r = await client.post("/api/v1/store/products", json=product)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "csrf"
    r = await client.post("/api/v1/store/products", json=product, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = await client.post("/api/v1/store/products", json=product, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text

    async with httpx.AsyncClient(
        transport=client._transport, base_url="http://testserver"
    ) as fresh:
        r = await fresh.post(
            "/api/v1/store/products", json={**product, "sku": "MUG-2"}, headers=bearer(kit.token)
        )
        assert r.status_code == 201, r.text
        listed = await fresh.get("/api/v1/store/products", headers=bearer(kit.token))
        assert [p["sku"] for p in listed.json()["data"]] == ["MUG-1", "MUG-2"]


async def test_logout_needs_csrf_then_clears_the_session(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    r = await client.post("/api/v1/auth/logout")
    assert r.status_code == 403
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    r = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert "storeplex_staff" in r.headers["set-cookie"]
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    assert (await client.get("/api/v1/store")).status_code == 401


async def test_me_without_credentials_is_401(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/auth/me")
    assert r.status_code == 401
    r = await client.get("/api/v1/auth/me", headers=bearer("spx_forged"))
    assert r.status_code == 401


async def test_admin_login_and_me(client: httpx.AsyncClient, database: Database) -> None:
    admin = await make_admin(database)
    r = await client.post(
        "/api/v1/auth/admin/login", json={"email": admin.email, "password": "wrong-password"}
    )
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/admin/login", json={"email": admin.email, "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    assert r.json()["admin"]["email"] == admin.email
    me = await client.get("/api/v1/auth/me")
    assert me.json()["kind"] == "admin"
    # An admin session is not a store session.
    assert (await client.get("/api/v1/store")).status_code == 401
    # The admin session opens the platform endpoints.
    assert (await client.get("/api/v1/platform/stores")).status_code == 200


async def test_staff_session_cannot_use_platform_endpoints(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    await login_staff(client, kit.owner_email)
    assert (await client.get("/api/v1/platform/stores")).status_code == 401


async def test_expired_and_revoked_tokens_are_401(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    expired = await make_token(database, store=kit.store, expires_at=utcnow() - timedelta(days=1))
    r = await client.get("/api/v1/store", headers=bearer(expired))
    assert r.status_code == 401
    assert "expired" in r.json()["detail"]

    created = await client.post(
        "/api/v1/store/tokens", json={"name": "ci"}, headers=bearer(kit.token)
    )
    assert created.status_code == 201
    secret = created.json()["token"]
    assert (await client.get("/api/v1/store", headers=bearer(secret))).status_code == 200
    r = await client.delete(
        f"/api/v1/store/tokens/{created.json()['id']}", headers=bearer(kit.token)
    )
    assert r.status_code == 200
    assert r.json()["revoked_at"] is not None
    r = await client.get("/api/v1/store", headers=bearer(secret))
    assert r.status_code == 401
    assert (await client.get("/api/v1/store", headers=bearer("spx_unknown"))).status_code == 401


async def test_platform_and_store_tokens_stay_in_their_lane(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    platform = await make_token(database)
    r = await client.get("/api/v1/store/products", headers=bearer(platform))
    assert r.status_code == 403
    assert "platform token" in r.json()["detail"]
    r = await client.get("/api/v1/platform/stores", headers=bearer(kit.token))
    assert r.status_code == 403
    r = await client.get("/api/v1/platform/stores", headers=bearer(platform))
    assert r.status_code == 200


async def test_store_token_management(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    r = await client.post(
        "/api/v1/store/tokens",
        json={"name": "shop sync", "expires_in_days": 30},
        headers=bearer(kit.token),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["token"].startswith("spx_")
    assert body["token"].startswith(body["prefix"])
    assert body["expires_at"] is not None

    listed = await client.get("/api/v1/store/tokens", headers=bearer(kit.token))
    assert listed.status_code == 200
    assert listed.json()["has_more"] is False
    assert {t["name"] for t in listed.json()["data"]} == {"shop sync", "test"}
    assert body["token"] not in listed.text
    assert "hash" not in listed.text
    # Only the hash is stored.
    async with database.session_scope() as s:
        stored = (await s.execute(select(ApiToken.token_hash))).scalars().all()
    assert body["token"] not in stored

    for bad in ({"name": ""}, {"name": "x" * 101}, {"name": "a", "expires_in_days": 0},
                {"name": "a", "expires_in_days": "7"}, {"name": "a", "scope": "all"}):  # fmt: skip
        r = await client.post("/api/v1/store/tokens", json=bad, headers=bearer(kit.token))
        assert r.status_code == 422, bad
    listed = await client.get("/api/v1/store/tokens", headers=bearer(kit.token))
    assert len(listed.json()["data"]) == 2

    r = await client.delete("/api/v1/store/tokens/999999", headers=bearer(kit.token))
    assert r.status_code == 404


async def test_only_owners_manage_tokens_and_staff(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    clerk = await make_staff(database, kit.store, role="staff")
    csrf = await login_staff(client, clerk.email)
    headers = {"X-CSRF-Token": csrf}
    assert (await client.get("/api/v1/store/tokens")).status_code == 403
    r = await client.post("/api/v1/store/tokens", json={"name": "x"}, headers=headers)
    assert r.status_code == 403
    assert "owner" in r.json()["detail"]
    assert (await client.get("/api/v1/store/staff")).status_code == 403
    # Staff may still work with products.
    assert (await client.get("/api/v1/store/products")).status_code == 200


async def test_owner_invites_staff_who_join_and_log_in(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    r = await client.post(
        "/api/v1/store/staff",
        json={"email": "Clerk@Shop.example", "name": "Clerk"},
        headers=bearer(kit.token),
    )
    assert r.status_code == 202, r.text
    assert r.json()["invitation"]["email"] == "clerk@shop.example"
    assert r.json()["invitation"]["role"] == "staff"
    # The owner no longer sets anyone's password.
    with_password = await client.post(
        "/api/v1/store/staff",
        json={"email": "other@shop.example", "password": "long enough pw"},
        headers=bearer(kit.token),
    )
    assert with_password.status_code == 422
    async with database.session_scope() as s:
        token = await s.execute(select(StaffInvitation.id))
        assert len(token.all()) == 1
    link = (
        render_mail((await _outbox_to(database, "clerk@shop.example")), database.settings)
        .text.split("token=")[1]
        .split()[0]
    )
    r = await client.post(
        "/api/v1/auth/staff/join", json={"token": link, "password": "long enough pw"}
    )
    assert r.status_code == 201, r.text
    listed = await client.get("/api/v1/store/staff", headers=bearer(kit.token))
    assert [u["email"] for u in listed.json()["data"]] == [kit.owner_email, "clerk@shop.example"]
    await login_staff(client, "clerk@shop.example", "long enough pw")


async def _outbox_to(database: Database, address: str) -> OutboxMail:
    async with database.session_scope() as s:
        return (
            await s.execute(select(OutboxMail).where(OutboxMail.to_address == address))
        ).scalar_one()


async def test_token_of_disabled_staff_stops_working(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    r = await client.post(
        "/api/v1/store/tokens", json={"name": "mine"}, headers={"X-CSRF-Token": csrf}
    )
    secret = r.json()["token"]
    assert (await client.get("/api/v1/store", headers=bearer(secret))).status_code == 200
    async with database.session_scope() as s:
        owner = await s.get(StaffUser, kit.owner.id)
        assert owner is not None
        owner.is_active = False
    assert (await client.get("/api/v1/store", headers=bearer(secret))).status_code == 401


async def test_platform_token_management(client: httpx.AsyncClient, database: Database) -> None:
    await make_admin(database)
    platform = await make_token(database)
    kit = await make_store_kit(database)
    r = await client.post("/api/v1/platform/tokens", json={"name": "ops"}, headers=bearer(platform))
    assert r.status_code == 201, r.text
    new = r.json()
    listed = await client.get("/api/v1/platform/tokens", headers=bearer(platform))
    names = [t["name"] for t in listed.json()["data"]]
    assert names == ["ops", "test"]  # the store's token is not listed
    # A store token id is not a platform token.
    store_token_id = (await client.get("/api/v1/store/tokens", headers=bearer(kit.token))).json()[
        "data"
    ][0]["id"]
    r = await client.delete(f"/api/v1/platform/tokens/{store_token_id}", headers=bearer(platform))
    assert r.status_code == 404
    r = await client.delete(f"/api/v1/platform/tokens/{new['id']}", headers=bearer(platform))
    assert r.status_code == 200
    assert (
        await client.get("/api/v1/platform/stores", headers=bearer(new["token"]))
    ).status_code == 401
