"""With no SMTP server configured, a platform admin reads every mail on /platform/mail."""

from __future__ import annotations

import re

import httpx

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail.delivery import deliver_due
from tests.mail.orders import shipped_order
from tests.support.factories import PASSWORD, make_admin


async def _log_in_admin(client: httpx.AsyncClient, email: str) -> None:
    form = (await client.get("/platform/login")).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    r = await client.post(
        "/platform/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
    )
    assert r.status_code in (302, 303), r.text[:300]


async def test_the_platform_admin_reads_kept_mails(
    database: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    order = await shipped_order(database)
    await deliver_due(database, settings)  # no SMTP: kept

    r = await client.get("/platform/mail")
    assert r.status_code in (302, 303) and "/platform/login" in r.headers["location"]

    admin = await make_admin(database)
    await _log_in_admin(client, admin.email)
    page = await client.get("/platform/mail")
    assert page.status_code == 200
    subject = f"Your order #{order.number} from Café Lumière has shipped"
    assert subject in page.text and "sam@example.com" in page.text
    assert "kept (not sent)" in page.text and "No SMTP server is configured" in page.text
    link = re.search(r'href="(/platform/mail/\d+)"', page.text)
    assert link
    detail = await client.get(link.group(1))
    assert detail.status_code == 200
    assert "LX123456789LU" in detail.text and "Post Luxembourg" in detail.text
    assert 'sandbox=""' in detail.text  # the HTML part cannot run scripts in our origin
    assert (await client.get("/platform/mail/999999")).status_code == 404
