"""The platform operator runs stores from the pages alone: create a store (its owner is
mailed a link to choose a password), suspend it with a reason its staff read, reactivate
it, and read one store's page. Bad input is a 4xx with the message in the form, and
nothing is written."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select, update

from storeplex.db import Database
from storeplex.models import (
    OutboxMail,
    StaffUser,
    Store,
    StorePaymentConfig,
)
from tests.support.factories import (
    PASSWORD,
    bearer,
    log_in_admin_pages,
    login_staff,
    make_admin,
    make_store_kit,
    make_token,
)

NEW_PASSWORD = "tulips in the harbour"


async def _csrf(client: httpx.AsyncClient, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text[:300]
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


async def _counts(database: Database) -> tuple[int, int, int]:
    async with database.session_scope() as s:
        stores = (await s.execute(select(func.count()).select_from(Store))).scalar_one()
        staff = (await s.execute(select(func.count()).select_from(StaffUser))).scalar_one()
        mails = (await s.execute(select(func.count()).select_from(OutboxMail))).scalar_one()
    return int(stores), int(staff), int(mails)


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", html))


async def test_the_operator_creates_a_store_and_its_owner_chooses_the_password(
    database: Database, client: httpx.AsyncClient
) -> None:
    admin = await make_admin(database)
    await log_in_admin_pages(client, admin.email)
    csrf = await _csrf(client, "/platform/stores/new")
    good = {
        "csrf_token": csrf,
        "name": "Atelier Nord",
        "slug": "atelier-nord",
        "owner_email": "Owner@AtelierNord.lu",
        "country": "LU",
        "currency": "EUR",
    }

    # Refused input: the message is in the form, the values stay, nothing is written.
    for changes, status, words in [
        ({"slug": "Bad Slug!"}, 400, "lowercase letters"),
        ({"slug": "admin"}, 400, "reserved"),
        ({"owner_email": "not-an-email"}, 400, "email"),
        ({"country": "XX"}, 400, "country"),
        ({"name": "x" * 201}, 400, "longer than 200"),
        ({"owner_email": "o" * 321}, 400, "The owner's email is longer than 320"),
        ({"csrf_token": "forged"}, 403, "expired"),
    ]:
        r = await client.post("/platform/stores", data={**good, **changes})
        assert r.status_code == status, (changes, r.status_code)
        assert words in _text(r.text), (changes, re.findall(r"form-error\">([^<]*)", r.text))
        assert await _counts(database) == (0, 0, 0)
    bad = await client.post("/platform/stores", data={**good, "slug": "Bad Slug!"})
    assert 'id="form-error"' in bad.text and 'value="Atelier Nord"' in bad.text
    assert "owner_email" not in _text(bad.text) and "platform_fee" not in bad.text

    r = await client.post("/platform/stores", data=good)
    assert r.status_code == 303, r.text[:500]
    page = await client.get(r.headers["location"])
    assert "Store created" in page.text and "Atelier Nord" in page.text
    async with database.session_scope() as s:
        store = (await s.execute(select(Store))).scalar_one()
        owner = (await s.execute(select(StaffUser))).scalar_one()
        mail = (await s.execute(select(OutboxMail))).scalar_one()
    assert (store.slug, store.status, owner.email, owner.role, owner.store_id) == (
        "atelier-nord",
        "active",
        "owner@ateliernord.lu",
        "owner",
        store.id,
    )
    assert (mail.kind, mail.to_address) == ("store_invitation", "owner@ateliernord.lu")

    # The same slug again is a conflict in the form, and nothing more is written.
    again = await client.post("/platform/stores", data={**good, "owner_email": "b@ateliernord.lu"})
    assert again.status_code == 409 and "already exists" in again.text
    assert await _counts(database) == (1, 1, 1)

    # The owner follows the mailed link, chooses a password and logs in.
    link = mail.context["link"]
    token = parse_qs(urlsplit(link).query)["token"][0]
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as owner_c:
        form = await owner_c.get(f"/admin/reset-password?token={token}")
        login_csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert login_csrf
        done = await owner_c.post(
            "/admin/reset-password",
            data={"token": token, "new_password": NEW_PASSWORD, "csrf_token": login_csrf.group(1)},
        )
        assert done.status_code == 303, done.text[:300]
        await login_staff(owner_c, "owner@ateliernord.lu", NEW_PASSWORD)


async def test_the_api_without_an_owner_password_mails_the_same_link(
    database: Database, client: httpx.AsyncClient
) -> None:
    admin = await make_token(database)
    r = await client.post(
        "/api/v1/platform/stores",
        json={
            "slug": "by-api",
            "name": "By API",
            "business_email": "shop@byapi.lu",
            "owner_email": "owner@byapi.lu",
        },
        headers=bearer(admin),
    )
    assert r.status_code == 201, r.text
    async with database.session_scope() as s:
        mail = (await s.execute(select(OutboxMail))).scalar_one()
    assert (mail.kind, mail.to_address) == ("store_invitation", "owner@byapi.lu")


async def test_suspend_with_a_reason_then_reactivate(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database, name="Café Lumière")
    async with database.session_scope() as s:
        await s.execute(
            update(StorePaymentConfig)
            .where(StorePaymentConfig.store_id == kit.store.id)
            .values(stripe_account_id="acct_lumiere")
        )
    admin = await make_admin(database)
    staff = httpx.AsyncClient(transport=client._transport, base_url=client.base_url)
    await login_staff(staff, kit.owner_email)
    await log_in_admin_pages(client, admin.email)
    store_page = f"/platform/stores/{kit.store.id}"
    csrf = await _csrf(client, store_page)
    listing = await client.get("/platform")
    assert "Active: the store can take card payments" in listing.text  # the active card

    # No reason: refused in the form, nothing changes.
    r = await client.post(f"{store_page}/suspend", data={"csrf_token": csrf, "reason": "  "})
    assert r.status_code == 400 and 'id="suspend-error"' in r.text
    assert "Write the reason" in r.text
    r = await client.post(f"{store_page}/suspend", data={"csrf_token": csrf, "reason": "x" * 501})
    assert r.status_code == 400 and "longer than 500" in r.text
    async with database.session_scope() as s:
        assert (await s.get(Store, kit.store.id)).status == "active"  # type: ignore[union-attr]
    forged = await client.post(f"{store_page}/suspend", data={"csrf_token": "x", "reason": "y"})
    assert forged.status_code == 403

    reason = "Unpaid platform invoice <March>"
    r = await client.post(f"{store_page}/suspend", data={"csrf_token": csrf, "reason": reason})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert "Store suspended" in page.text and "Reactivate the store" in page.text
    assert "Unpaid platform invoice &lt;March&gt;" in page.text  # escaped
    listing = await client.get("/platform")
    card = listing.text[listing.text.index(f'id="store-{kit.store.id}"') :]
    card = card[: card.index("</li>")]
    assert "Suspended" in card and "status-active" not in card
    assert "Active" not in card.split("Stripe account:")[0]

    # The store's staff read the reason on /admin (signed in already, or signing in with
    # the right password); the storefront takes no orders.
    dash = await staff.get("/admin")
    assert dash.status_code == 403
    assert "suspended" in dash.text and "Unpaid platform invoice &lt;March&gt;" in dash.text
    login_csrf = re.search(
        r'name="csrf_token" value="([^"]+)"', (await staff.get("/admin/login")).text
    )
    assert login_csrf
    refused = await staff.post(
        "/admin/login",
        data={"email": kit.owner_email, "password": PASSWORD, "csrf_token": login_csrf.group(1)},
    )
    assert refused.status_code == 403 and "Unpaid platform invoice &lt;March&gt;" in refused.text
    wrong = await staff.post(
        "/admin/login",
        data={"email": kit.owner_email, "password": "wrong one", "csrf_token": login_csrf.group(1)},
    )
    assert "Unpaid platform invoice" not in wrong.text  # only with the right password
    front = await client.get(f"/s/{kit.store.slug}/")
    assert "not taking orders" in _text(front.text)

    r = await client.post(f"{store_page}/activate", data={"csrf_token": csrf})
    assert r.status_code == 303
    async with database.session_scope() as s:
        store = await s.get(Store, kit.store.id)
        assert store is not None and (store.status, store.suspended_reason) == ("active", None)
    await login_staff(staff, kit.owner_email)
    assert (await staff.get("/admin")).status_code == 200
    await staff.aclose()


async def test_the_store_page_says_what_stripe_needs_in_words(
    database: Database, client: httpx.AsyncClient
) -> None:
    kit = await make_store_kit(database, takes_payments=False)
    async with database.session_scope() as s:
        s.add(
            StorePaymentConfig(
                store_id=kit.store.id,
                currency="EUR",
                stripe_account_id="acct_words",
                stripe_account_status="restricted",
                requirements_due=json.dumps(
                    [
                        "business_profile.mcc",
                        "tos_acceptance.date",
                        "tos_acceptance.ip",
                        "individual.verification.document",
                        "external_account",
                    ]
                ),
                disabled_reason="requirements.past_due",
            )
        )
    admin = await make_admin(database)
    await log_in_admin_pages(client, admin.email)
    page = await client.get(f"/platform/stores/{kit.store.id}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "what the business sells (its industry)" in text
    assert "services agreement has not been accepted" in text
    assert text.count("services agreement has not been accepted") == 1  # .date and .ip alike
    assert "identity document" in text and "bank account" in text
    assert "before the store can take card payments" in text
    assert "›" not in text and "Reason given by Stripe" not in text
    assert "platform_fee" not in page.text
    # The raw codes appear only inside the small details.
    for code in ("business_profile.mcc", "requirements.past_due"):
        assert f"<code>{code}</code>" in page.text

    # A refused commission is a message in the store page's form, and nothing is saved.
    csrf = await _csrf(client, f"/platform/stores/{kit.store.id}")
    r = await client.post(
        f"/platform/stores/{kit.store.id}/fee",
        data={"csrf_token": csrf, "percentage": "250", "fixed_fee": "0", "back": "store"},
    )
    assert r.status_code == 400 and 'id="fee-error"' in r.text
    assert "platform_fee_percentage" not in r.text and "commission" in r.text
    async with database.session_scope() as s:
        await s.execute(update(StorePaymentConfig).values(platform_fee_percentage=2.5))
