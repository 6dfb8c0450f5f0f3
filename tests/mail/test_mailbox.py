"""With no SMTP server configured, a platform admin reads every mail on /platform/mail."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import update

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail import notify
from storeplex.mail.delivery import deliver_due
from storeplex.models import Order, OutboxMail, utcnow
from tests.mail.orders import shipped_order
from tests.support.factories import (
    log_in_admin_pages,
    make_admin,
    make_product,
    make_store,
)
from tests.support.shop import make_order


async def test_the_platform_admin_reads_kept_mails(
    database: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    order = await shipped_order(database)
    await deliver_due(database, settings)  # no SMTP: kept

    r = await client.get("/platform/mail")
    assert r.status_code in (302, 303) and "/platform/login" in r.headers["location"]

    admin = await make_admin(database)
    await log_in_admin_pages(client, admin.email)
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


async def test_a_mail_that_waits_and_one_dropped_say_so(
    database: Database, settings: Settings, client: httpx.AsyncClient
) -> None:
    """A "payment needs action" mail waits for the shopper to have left; the mailbox says
    when it is due, and once the order is paid before then, that it was never sent."""
    shop = await make_store(database, name="Café Lumière")
    product = await make_product(database, shop, price_amount=1250)
    made = await make_order(database, shop, [(product, 1)], email="lea@example.com")
    async with database.session_scope() as s:
        order = await s.get_one(Order, made.order.id)
        await notify.payment_needs_action(s, order=order, delay_seconds=900)
    await deliver_due(database, settings)  # not due yet: neither kept nor dropped
    admin = await make_admin(database)
    await log_in_admin_pages(client, admin.email)
    page = (await client.get("/platform/mail")).text
    assert "waiting for your bank" in page and "due at " in page
    assert "kept (not sent)" not in page

    async with database.session_scope() as s:
        await s.execute(
            update(Order).where(Order.id == made.order.id).values(payment_status="paid")
        )
        await s.execute(update(OutboxMail).values(next_attempt_at=utcnow()))
    await deliver_due(database, settings)
    page = (await client.get("/platform/mail")).text
    assert "not sent: the order was paid or canceled first" in page
