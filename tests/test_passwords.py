"""New passwords: at least 8 characters, not common, not guessable, the reason shown, on
every way in (JSON API, pages, staff creation)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from storeplex.auth.invitations import invite_staff
from storeplex.auth.passwords import password_problem
from storeplex.db import Database
from storeplex.mail.render import render_mail
from storeplex.models import Customer, OutboxMail
from tests.support.factories import make_store_kit


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 8"),
        ("12345678", "common"),
        ("password", "common"),
        ("Password2024!", "common"),
        (" " * 8, "too few different"),
        ("abcdefghij", "sequence"),
        ("abcdabcdabcd", "sequence or repetition"),
        ("sam@shop.example", "email"),
        ("sam-1234", "email"),
        ("tulip-4821-moon", None),
        ("correct horse battery", None),
    ],
)
def test_password_rules(password: str, reason: str | None) -> None:
    problem = password_problem(password, email="sam@shop.example")
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem, problem


async def test_api_refuses_weak_passwords_with_the_reason(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    async with database.session_scope() as s:
        await invite_staff(s, database.settings, store=kit.store, email="clerk@shop.example",
                           role="staff")  # fmt: skip
        mail = (await s.execute(select(OutboxMail))).scalar_one()
    token = render_mail(mail, database.settings).text.split("token=")[1].split()[0]
    r = await client.post("/api/v1/auth/staff/join", json={"token": token, "password": "password1"})
    assert r.status_code == 400
    assert r.json()["error"]["field"] == "password"
    assert "common" in r.json()["detail"]
    r = await client.post(
        f"/api/v1/storefront/{kit.store.slug}/account/register",
        json={"email": "kim@example.com", "password": "qwertyuiop"},
    )
    assert r.status_code == 400
    assert "common" in r.json()["detail"]


async def test_shopper_register_page_refuses_a_short_password_and_writes_nothing(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    page = await client.get(f"/s/{kit.store.slug}/account/register")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await client.post(
        f"/s/{kit.store.slug}/account/register",
        data={"email": "kim@example.com", "password": "abc12", "csrf_token": token},
    )
    assert r.status_code == 400
    assert "at least 8 characters" in r.text
    async with database.session_scope() as s:
        assert (await s.execute(select(func.count()).select_from(Customer))).scalar_one() == 0


async def test_shopper_changes_password_on_the_account_page(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    base = f"/s/{kit.store.slug}/account"
    r = await client.post(
        f"/api/v1/storefront/{kit.store.slug}/account/register",
        json={"email": "kim@example.com", "password": "kim's long passphrase"},
    )
    assert r.status_code == 201
    old_cookie = client.cookies["storeplex_shopper"]
    page = await client.get(base)
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"csrf_token": csrf, "current_password": "kim's long passphrase"}
    weak = await client.post(f"{base}/password", data={**form, "new_password": "iloveyou"})
    assert "common" in weak.text
    r = await client.post(f"{base}/password", data={**form, "new_password": "rain over lisbon"})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "Your password has been changed" in page.text
    client.cookies.set("storeplex_shopper", old_cookie)
    assert (await client.get(f"/api/v1/storefront/{kit.store.slug}/account")).status_code == 401
