"""Server-side sessions: a cookie kept after logout, a password change or a sign-out by
someone else is dead; each kind of person has their own cookie; idle and absolute expiry;
tokens act with their creator's rights as they are now."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from storeplex.auth.invitations import invite_staff
from storeplex.auth.prune import prune_sign_in_state
from storeplex.auth.service import create_api_token
from storeplex.db import Database
from storeplex.models import AuthSession, PlatformAdmin, StaffInvitation, utcnow
from tests.support.factories import (
    PASSWORD,
    bearer,
    login_staff,
    make_admin,
    make_staff,
    make_store_kit,
    make_token,
)

NEW_PASSWORD = "a brand new passphrase"


async def _login_admin(client: httpx.AsyncClient, email: str) -> str:
    r = await client.post("/api/v1/auth/admin/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


async def test_staff_cookie_replayed_after_logout_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    stolen = client.cookies["storeplex_staff"]
    r = await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    client.cookies.set("storeplex_staff", stolen)
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    r = await client.post(
        "/api/v1/store/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 401
    # Only a hash of the cookie is stored.
    async with database.session_scope() as s:
        hashes = list((await s.execute(select(AuthSession.id_hash))).scalars())
    assert hashes and stolen not in hashes


async def test_admin_cookie_replayed_after_logout_is_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await make_admin(database)
    csrf = await _login_admin(client, admin.email)
    stolen = client.cookies["storeplex_admin"]
    assert (await client.get("/api/v1/platform/stores")).status_code == 200
    r = await client.post("/platform/logout", data={"csrf_token": csrf})
    assert r.status_code == 303
    client.cookies.set("storeplex_admin", stolen)
    assert (await client.get("/api/v1/platform/stores")).status_code == 401


async def test_password_change_ends_every_other_session(
    client: httpx.AsyncClient, app: object, database: Database
) -> None:
    kit = await make_store_kit(database)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        other_csrf = await login_staff(other, kit.owner_email)
        csrf = await login_staff(client, kit.owner_email)
        kept = client.cookies["storeplex_staff"]
        r = await client.post(
            "/api/v1/auth/staff/password",
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 200, r.text
        # The other device and the old cookie of this one are both dead.
        assert (await other.get("/api/v1/auth/me")).status_code == 401
        r = await other.post(
            "/api/v1/store/tokens", json={"name": "x"}, headers={"X-CSRF-Token": other_csrf}
        )
        assert r.status_code == 401
        fresh = client.cookies["storeplex_staff"]
        assert fresh != kept
        assert (await client.get("/api/v1/auth/me")).status_code == 200
        client.cookies.set("storeplex_staff", kept)
        assert (await client.get("/api/v1/auth/me")).status_code == 401
    # The old password no longer signs in; the new one does.
    r = await client.post(
        "/api/v1/auth/staff/login", json={"email": kit.owner_email, "password": PASSWORD}
    )
    assert r.status_code == 401
    await login_staff(client, kit.owner_email, NEW_PASSWORD)


async def test_password_change_refuses_bad_input_and_changes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    headers = {"X-CSRF-Token": csrf}
    wrong = await client.post(
        "/api/v1/auth/staff/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["field"] == "current_password"
    common = await client.post(
        "/api/v1/auth/staff/password",
        json={"current_password": PASSWORD, "new_password": "password123"},
        headers=headers,
    )
    assert common.status_code == 400
    assert "common" in common.json()["detail"]
    no_csrf = await client.post(
        "/api/v1/auth/staff/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert no_csrf.status_code == 403
    # Still signed in, and the password is unchanged.
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    await login_staff(client, kit.owner_email, PASSWORD)


async def test_staff_admin_and_shopper_cookies_are_separate(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    admin = await make_admin(database)
    await login_staff(client, kit.owner_email)
    await _login_admin(client, admin.email)
    r = await client.post(
        f"/api/v1/storefront/{kit.store.slug}/account/register",
        json={"email": "kim@example.com", "password": "kim's long passphrase"},
    )
    assert r.status_code == 201, r.text
    shopper_csrf = r.json()["csrf_token"]
    # All three are signed in at once.
    assert (await client.get("/api/v1/store")).status_code == 200
    assert (await client.get("/api/v1/platform/stores")).status_code == 200
    assert (await client.get(f"/api/v1/storefront/{kit.store.slug}/account")).status_code == 200
    # The shopper logging out leaves staff and admin signed in.
    r = await client.post(
        f"/api/v1/storefront/{kit.store.slug}/account/logout",
        headers={"X-CSRF-Token": shopper_csrf},
    )
    assert r.status_code == 200
    assert (await client.get(f"/api/v1/storefront/{kit.store.slug}/account")).status_code == 401
    assert (await client.get("/api/v1/store")).status_code == 200
    assert (await client.get("/api/v1/platform/stores")).status_code == 200


async def test_logout_from_another_site_signs_no_one_out(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    other = await make_store_kit(database)
    await login_staff(client, kit.owner_email)
    # A page of another site posts the logout forms without a token.
    for path in ("/admin/logout", f"/s/{other.store.slug}/account/logout"):
        r = await client.post(path, data={})
        assert r.status_code in (303, 403)
        assert "storeplex_staff" not in r.headers.get("set-cookie", "")
    r = await client.post("/api/v1/auth/logout")
    assert r.status_code == 403
    assert (await client.get("/api/v1/store")).status_code == 200


async def test_idle_and_absolute_expiry(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    await login_staff(client, kit.owner_email)
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    async with database.session_scope() as s:
        await s.execute(update(AuthSession).values(last_seen_at=utcnow() - timedelta(hours=3)))
    assert (await client.get("/api/v1/auth/me")).status_code == 401

    await login_staff(client, kit.owner_email)
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    async with database.session_scope() as s:
        await s.execute(
            update(AuthSession)
            .where(AuthSession.ended_at.is_(None))
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_sign_in_rotates_the_session(client: httpx.AsyncClient, database: Database) -> None:
    kit = await make_store_kit(database)
    await login_staff(client, kit.owner_email)
    first = client.cookies["storeplex_staff"]
    await login_staff(client, kit.owner_email)
    second = client.cookies["storeplex_staff"]
    assert first != second
    client.cookies.set("storeplex_staff", first)
    assert (await client.get("/api/v1/auth/me")).status_code == 401


async def test_sign_out_everywhere_by_self_owner_and_platform(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    clerk = await make_staff(database, kit.store, role="staff")
    await make_admin(database)
    platform = await make_token(database)

    csrf = await login_staff(client, clerk.email)
    r = await client.post("/api/v1/auth/staff/sign-out-everywhere", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert (await client.get("/api/v1/auth/me")).status_code == 401

    await login_staff(client, clerk.email)
    r = await client.post(f"/api/v1/store/staff/{clerk.id}/sign-out", headers=bearer(kit.token))
    assert r.status_code == 204
    assert (await client.get("/api/v1/auth/me")).status_code == 401

    await login_staff(client, clerk.email)
    r = await client.post(f"/api/v1/platform/staff/{clerk.id}/sign-out", headers=bearer(platform))
    assert r.status_code == 204
    assert (await client.get("/api/v1/auth/me")).status_code == 401

    # Another store's owner cannot sign this clerk out.
    other = await make_store_kit(database)
    r = await client.post(f"/api/v1/store/staff/{clerk.id}/sign-out", headers=bearer(other.token))
    assert r.status_code == 404


async def test_removed_staff_session_and_token_stop_at_once(
    client: httpx.AsyncClient, app: object, database: Database
) -> None:
    kit = await make_store_kit(database)
    clerk = await make_staff(database, kit.store, role="staff")
    async with database.session_scope() as s:
        _, clerk_token = await create_api_token(
            s, store_id=kit.store.id, name="clerk's", staff_user_id=clerk.id
        )
    await login_staff(client, clerk.email)
    assert (await client.get("/api/v1/store/products")).status_code == 200
    me = await client.get("/api/v1/auth/me", headers=bearer(clerk_token))
    assert me.json()["role"] == "staff"  # the creator's real role, not "owner"
    r = await client.delete(f"/api/v1/store/staff/{clerk.id}", headers=bearer(kit.token))
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/store/products")).status_code == 401
    r = await client.get("/api/v1/store/products", headers=bearer(clerk_token))
    assert r.status_code == 401
    r = await client.post(
        "/api/v1/auth/staff/login", json={"email": clerk.email, "password": PASSWORD}
    )
    assert r.status_code == 403


async def test_disabled_admins_token_and_session_are_refused(
    client: httpx.AsyncClient, database: Database
) -> None:
    boss = await make_admin(database)
    ops = await make_admin(database)
    csrf = await _login_admin(client, ops.email)
    r = await client.post(
        "/api/v1/platform/tokens", json={"name": "ops"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201
    ops_token = r.json()["token"]
    assert (
        await client.get("/api/v1/platform/stores", headers=bearer(ops_token))
    ).status_code == 200
    boss_token = await make_token(database)
    r = await client.post(f"/api/v1/platform/admins/{ops.id}/disable", headers=bearer(boss_token))
    assert r.status_code == 200, r.text
    assert (
        await client.get("/api/v1/platform/stores", headers=bearer(ops_token))
    ).status_code == 401
    r = await client.post(
        "/api/v1/platform/tokens", json={"name": "again"}, headers=bearer(ops_token)
    )
    assert r.status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bearer(ops_token))).status_code == 401
    assert (await client.get("/api/v1/platform/stores")).status_code == 401
    async with database.session_scope() as s:
        row = await s.get(PlatformAdmin, ops.id)
        assert row is not None and not row.is_active
    assert boss.is_active


async def test_admin_password_change_ends_the_old_session(
    client: httpx.AsyncClient, database: Database
) -> None:
    admin = await make_admin(database)
    csrf = await _login_admin(client, admin.email)
    old = client.cookies["storeplex_admin"]
    r = await client.post(
        "/api/v1/platform/account/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    assert (await client.get("/api/v1/platform/stores")).status_code == 200
    client.cookies.set("storeplex_admin", old)
    assert (await client.get("/api/v1/platform/stores")).status_code == 401
    # An API token cannot change a password.
    token = await make_token(database)
    r = await client.post(
        "/api/v1/platform/account/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(token),
    )
    assert r.status_code == 409


async def test_dead_sign_in_state_is_pruned_and_live_state_kept(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    csrf = await login_staff(client, kit.owner_email)
    await client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    await login_staff(client, kit.owner_email)  # the live one
    async with database.session_scope() as s:
        await s.execute(
            update(AuthSession)
            .where(AuthSession.ended_at.is_not(None))
            .values(ended_at=utcnow() - timedelta(days=2))
        )
        for email in ("dead@shop.example", "live@shop.example"):
            await invite_staff(s, database.settings, store=kit.store, email=email, role="staff")
        await s.execute(
            update(StaffInvitation)
            .where(StaffInvitation.email == "dead@shop.example")
            .values(expires_at=utcnow() - timedelta(days=2))
        )
        counts = await prune_sign_in_state(s)
    assert counts["auth_sessions"] == 1 and counts["staff_invitations"] == 1
    assert (await client.get("/api/v1/auth/me")).status_code == 200
    listed = await client.get("/api/v1/store/staff/invitations", headers=bearer(kit.token))
    assert [i["email"] for i in listed.json()["data"]] == ["live@shop.example"]
