"""Password reset and taking over a guest's orders, both by a single-use mailed link.
Most tests take the link from the service that makes it; the last one reads it from the
mail in the outbox."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select, update

from storeplex.auth import reset
from storeplex.config import Settings
from storeplex.customers import service as customers
from storeplex.db import Database
from storeplex.models import AccountLink, Customer, OutboxMail, Store, utcnow
from tests.support.factories import PASSWORD, login_staff, make_product, make_store_kit
from tests.support.shop import make_order

NEW = "tulips in the harbour"
LOGIN = "/api/v1/auth/staff/login"


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


async def test_reset_answers_alike_for_any_email_and_works_once(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    kit = await make_store_kit(database)
    known = await client.post(
        "/api/v1/auth/password-reset", json={"kind": "staff", "email": kit.owner_email}
    )
    unknown = await client.post(
        "/api/v1/auth/password-reset", json={"kind": "staff", "email": "nobody@x.example"}
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    async with database.session_scope() as s:
        assert (await s.execute(select(func.count()).select_from(AccountLink))).scalar_one() == 1

    await login_staff(client, kit.owner_email)
    old_cookie = client.cookies["storeplex_staff"]
    async with database.session_scope() as s:
        link = await reset.ask_for_reset(s, settings, kind="staff", email=kit.owner_email)
    assert link is not None and link.startswith(f"{settings.base_url}/admin/reset-password?")
    weak = await client.post(
        "/api/v1/auth/password-reset/complete",
        json={"token": _token(link), "new_password": "password1"},
    )
    assert weak.status_code == 400 and "common" in weak.json()["detail"]
    r = await client.post(
        "/api/v1/auth/password-reset/complete", json={"token": _token(link), "new_password": NEW}
    )
    assert r.status_code == 200, r.text
    again = await client.post(
        "/api/v1/auth/password-reset/complete",
        json={"token": _token(link), "new_password": "another fine phrase"},
    )
    assert again.status_code == 400 and "expired" in again.json()["detail"]
    client.cookies.set("storeplex_staff", old_cookie)
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    r = await client.post(LOGIN, json={"email": kit.owner_email, "password": PASSWORD})
    assert r.status_code == 401
    await login_staff(client, kit.owner_email, NEW)


async def test_an_expired_reset_link_is_refused(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    kit = await make_store_kit(database)
    async with database.session_scope() as s:
        link = await reset.ask_for_reset(s, settings, kind="staff", email=kit.owner_email)
    assert link is not None
    async with database.session_scope() as s:
        await s.execute(update(AccountLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = await client.post(
        "/api/v1/auth/password-reset/complete", json={"token": _token(link), "new_password": NEW}
    )
    assert r.status_code == 400
    await login_staff(client, kit.owner_email, PASSWORD)


async def test_registering_a_guest_email_needs_the_mailed_link(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    product = await make_product(database, kit.store)
    made = await make_order(database, kit.store, [(product, 1)], email="guest@example.com")
    base = f"/api/v1/storefront/{kit.store.slug}/account"
    r = await client.post(
        f"{base}/register",
        json={"email": "guest@example.com", "password": "i am not the guest", "name": "Mallory"},
    )
    assert r.status_code == 202
    assert "set-cookie" not in r.headers
    async with database.session_scope() as s:
        guest = await s.get(Customer, made.order.customer_id)
        assert guest is not None and guest.password_hash is None and guest.name == "Buyer"
    # The real owner of the mailbox follows the link they were sent.
    async with database.session_scope() as s:
        store = await s.get(Store, kit.store.id)
        assert store is not None
        result = await customers.register(
            s, store_id=store.id, email="guest@example.com", password="the real guest", name="Gil"
        )
    assert result.customer is None and result.link_secret
    r = await client.post(f"{base}/claim", json={"token": result.link_secret})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == made.order.customer_id and r.json()["name"] == "Gil"
    assert (await client.get(base)).status_code == 200
    r = await client.post(f"{base}/claim", json={"token": result.link_secret})
    assert r.status_code == 400
    # Mallory's password was never set.
    r = await client.post(
        f"{base}/login", json={"email": "guest@example.com", "password": "i am not the guest"}
    )
    assert r.status_code == 401


async def test_the_mailed_links_open_working_pages(
    client: httpx.AsyncClient, database: Database, settings: Settings
) -> None:
    kit = await make_store_kit(database)
    r = await client.post(
        f"/api/v1/storefront/{kit.store.slug}/account/register",
        json={"email": "kim@example.com", "password": "kim's long passphrase"},
    )
    assert r.status_code == 201
    async with database.session_scope() as s:
        store = await s.get(Store, kit.store.id)
        staff_link = await reset.ask_for_reset(s, settings, kind="staff", email=kit.owner_email)
        shopper_link = await reset.ask_for_reset(
            s, settings, kind="customer", email="kim@example.com", store=store
        )
    assert staff_link and shopper_link
    for link, login in ((staff_link, "/admin/login"), (shopper_link, "/account/login")):
        path = link.removeprefix(settings.base_url)
        page = await client.get(path)
        assert page.status_code == 200, page.text[:200]
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        action = page.text.split('<form method="post" action="')[1].split('"')[0]
        short = await client.post(
            action, data={"csrf_token": csrf, "token": _token(link), "new_password": "abc"}
        )
        assert short.status_code == 400 and "at least 8" in short.text
        done = await client.post(
            action, data={"csrf_token": csrf, "token": _token(link), "new_password": NEW}
        )
        assert done.status_code == 303 and done.headers["location"].endswith(login)
    await login_staff(client, kit.owner_email, NEW)
    r = await client.post(
        f"/api/v1/storefront/{kit.store.slug}/account/login",
        json={"email": "kim@example.com", "password": NEW},
    )
    assert r.status_code == 200


async def test_forgot_password_pages_answer_alike(
    client: httpx.AsyncClient, database: Database
) -> None:
    kit = await make_store_kit(database)
    pages = ["/admin/forgot-password", "/platform/forgot-password",
             f"/s/{kit.store.slug}/account/forgot-password"]  # fmt: skip
    for path in pages:
        answers = []
        for email in (kit.owner_email, "nobody@nowhere.example"):
            page = await client.get(path)
            assert page.status_code == 200
            csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            r = await client.post(path, data={"csrf_token": csrf, "email": email})
            assert r.status_code == 200
            answers.append(r.text.replace(email, ""))
        assert answers[0] == answers[1]
        assert "If an account uses this email" in answers[0]
        assert (await client.post(path, data={"email": kit.owner_email})).status_code == 403
    async with database.session_scope() as s:
        links = list((await s.execute(select(AccountLink))).scalars())
    assert [(link.kind, link.purpose) for link in links] == [("staff", "password_reset")]


async def _mails_to(database: Database, address: str) -> list[OutboxMail]:
    async with database.session_scope() as s:
        query = select(OutboxMail).where(OutboxMail.to_address == address).order_by(OutboxMail.id)
        return list((await s.execute(query)).scalars())


async def test_the_reset_and_claim_links_arrive_by_mail_and_work(
    client: httpx.AsyncClient, database: Database
) -> None:
    """Taken from the outbox, as the person reads them in their mailbox."""
    kit = await make_store_kit(database)
    r = await client.post(
        "/api/v1/auth/password-reset", json={"kind": "staff", "email": kit.owner_email}
    )
    assert r.status_code == 202
    [mail] = await _mails_to(database, kit.owner_email)
    assert mail.kind == "password_reset"
    r = await client.post(
        "/api/v1/auth/password-reset/complete",
        json={"token": _token(mail.context["link"]), "new_password": NEW},
    )
    assert r.status_code == 200, r.text
    await login_staff(client, kit.owner_email, NEW)
    # Nobody is mailed for an email without an account.
    await client.post(
        "/api/v1/auth/password-reset", json={"kind": "staff", "email": "nobody@x.example"}
    )
    assert await _mails_to(database, "nobody@x.example") == []

    product = await make_product(database, kit.store)
    made = await make_order(database, kit.store, [(product, 1)], email="guest2@example.com")
    base = f"/api/v1/storefront/{kit.store.slug}/account"
    r = await client.post(
        f"{base}/register",
        json={"email": "guest2@example.com", "password": "the guest's own phrase", "name": "G"},
    )
    assert r.status_code == 202
    [claim_mail] = await _mails_to(database, "guest2@example.com")
    assert claim_mail.kind == "email_verification"
    link = claim_mail.context["link"]
    assert link.startswith(f"/s/{kit.store.slug}/account/claim?token=")
    r = await client.post(f"{base}/claim", json={"token": _token(link)})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == made.order.customer_id
