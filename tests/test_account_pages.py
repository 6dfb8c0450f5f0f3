"""The account pages of store staff (/admin/account) and platform admins (/platform/account):
change password (a wrong current password or a weak new one re-renders the form with the
reason; a change ends every other sign-in) and sign out everywhere."""

from __future__ import annotations

import httpx
import pytest

from storeplex.db import Database
from tests.support.factories import PASSWORD, login_staff, make_admin, make_store_kit

NEW_PASSWORD = "a brand new passphrase"


async def _admin_csrf(client: httpx.AsyncClient, email: str) -> str:
    r = await client.post("/api/v1/auth/admin/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


async def _signed_in(database: Database, client: httpx.AsyncClient, area: str) -> tuple[str, str]:
    """(email, csrf) of a person signed in on `client` in `area` (admin or platform)."""
    if area == "admin":
        kit = await make_store_kit(database)
        return kit.owner_email, await login_staff(client, kit.owner_email)
    admin = await make_admin(database)
    return admin.email, await _admin_csrf(client, admin.email)


async def _login(client: httpx.AsyncClient, area: str, email: str, password: str) -> int:
    path = "/api/v1/auth/staff/login" if area == "admin" else "/api/v1/auth/admin/login"
    return (await client.post(path, json={"email": email, "password": password})).status_code


@pytest.mark.parametrize("area", ["admin", "platform"])
async def test_password_change_page(
    area: str, client: httpx.AsyncClient, app: object, database: Database
) -> None:
    email, csrf = await _signed_in(database, client, area)
    page = await client.get(f"/{area}/account")
    assert page.status_code == 200 and "Change password" in page.text
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert await _login(other, area, email, PASSWORD) == 200
        url = f"/{area}/account/password"
        r = await client.post(
            url,
            data={"csrf_token": csrf, "current_password": "not it!!", "new_password": NEW_PASSWORD},
        )
        assert r.status_code == 400 and "not your current password" in r.text
        r = await client.post(
            url,
            data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": "password1"},
        )
        assert r.status_code == 400 and "most common passwords" in r.text
        assert await _login(other, area, email, PASSWORD) == 200  # nothing changed so far
        r = await client.post(
            url,
            data={"csrf_token": csrf, "current_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
        assert r.status_code == 303 and r.headers["location"] == f"/{area}/account?done=password"
        # This browser goes on with a new session; the other one is signed out.
        page = await client.get(r.headers["location"])
        assert page.status_code == 200 and "every other sign-in of yours has ended" in page.text
        assert (await other.get(f"/{area}/account")).status_code == 303
        assert await _login(other, area, email, PASSWORD) == 401
        assert await _login(other, area, email, NEW_PASSWORD) == 200


@pytest.mark.parametrize("area", ["admin", "platform"])
async def test_sign_out_everywhere_page(
    area: str, client: httpx.AsyncClient, app: object, database: Database
) -> None:
    email, csrf = await _signed_in(database, client, area)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as other:
        assert await _login(other, area, email, PASSWORD) == 200
        assert (await other.get(f"/{area}/account")).status_code == 200
        # Without the form's CSRF token nothing happens.
        r = await client.post(f"/{area}/account/sign-out-everywhere", data={})
        assert r.status_code == 403
        assert (await other.get(f"/{area}/account")).status_code == 200
        r = await client.post(f"/{area}/account/sign-out-everywhere", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"] == f"/{area}/login"
        for browser in (client, other):
            r = await browser.get(f"/{area}/account")
            assert r.status_code == 303 and r.headers["location"].startswith(f"/{area}/login")
