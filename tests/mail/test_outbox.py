"""The outbox: written with its cause, delivered over real SMTP once, retried when refused."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail import enqueue_account_mail, notify
from storeplex.mail.delivery import deliver_due
from storeplex.models import MailStatus, Order, OutboxMail
from tests.mail.orders import shipped_order
from tests.mail.smtp import BASE_URL, Inbox, parts


async def _count(database: Database) -> int:
    async with database.session_scope() as s:
        return int((await s.execute(select(func.count(OutboxMail.id)))).scalar_one())


async def test_a_mail_goes_out_over_smtp_with_both_parts_and_links(
    database: Database, mail_settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    order = await shipped_order(database, locale="fr_LU")

    assert await deliver_due(database, mail_settings) == 1

    [message] = inbox.to("sam@example.com")
    sender = message["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("Café Lumière", "shop@mail.example.test")
    assert message["Subject"] == f"Your order #{order.number} from Café Lumière has shipped"
    assert message["Message-ID"].endswith("@mail.example.test>")
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    for body in (text, html):
        assert "Post Luxembourg" in body and "LX123456789LU" in body
        assert "https://tracking.example.test/LX123456789LU" in body
        assert f"{BASE_URL}/s/" in body and f"/orders/{order.id}?key=" in body
    assert '<a href="https://tracking.example.test/LX123456789LU">' in html
    async with database.session_scope() as s:
        row = (await s.execute(select(OutboxMail))).scalar_one()
        assert row.status == MailStatus.SENT and row.sent_at is not None
    # Nothing is due any more: a second pass sends nothing.
    assert await deliver_due(database, mail_settings) == 0
    assert len(inbox.messages) == 1


async def test_a_rolled_back_change_sends_nothing(
    database: Database, mail_settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    order = await shipped_order(database)
    await deliver_due(database, mail_settings)
    sent_before = len(smtp[0].messages)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with database.session_scope() as s:
            row = await s.get_one(Order, order.id)
            await notify.order_shipped(s, order=row)  # already enqueued: deduplicated
            # A new cause, then the request fails.
            await enqueue_account_mail(s, "sam@example.com", "password_reset", "/reset/abc")
            raise Boom

    assert await _count(database) == 1
    assert await deliver_due(database, mail_settings) == 0
    assert len(smtp[0].messages) == sent_before


async def test_a_server_that_refuses_then_accepts_gets_the_mail_once(
    database: Database, mail_settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    inbox.refuse = 2
    await shipped_order(database)

    assert await deliver_due(database, mail_settings) == 0
    async with database.session_scope() as s:
        row = (await s.execute(select(OutboxMail))).scalar_one()
        assert row.status == MailStatus.PENDING and row.attempts == 1
        assert row.last_error is not None and row.last_error.startswith("451")
        assert row.next_attempt_at > row.updated_at  # it waits before the next try

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not inbox.messages:
        assert loop.time() < deadline, "the mail was never delivered"
        await deliver_due(database, mail_settings)
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # well past the backoff: any duplicate would now arrive
    await deliver_due(database, mail_settings)
    assert inbox.refused == 2
    assert len(inbox.messages) == 1
    async with database.session_scope() as s:
        row = (await s.execute(select(OutboxMail))).scalar_one()
        assert row.status == MailStatus.SENT and row.attempts == 3


async def test_two_workers_send_each_mail_once(
    database: Database, mail_settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp
    async with database.session_scope() as s:
        for n in range(120):
            await enqueue_account_mail(s, f"user{n}@example.com", "email_verification", f"/v/{n}")
    others = [Database(mail_settings), Database(mail_settings)]
    try:
        counts = await asyncio.gather(
            deliver_due(database, mail_settings),
            *(deliver_due(db, mail_settings) for db in others),
        )
    finally:
        for db in others:
            await db.dispose()
    assert sum(counts) == 120
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 120 and len(set(ids)) == 120
    assert sorted(m["To"] for m in inbox.messages) == sorted(
        f"user{n}@example.com" for n in range(120)
    )


async def test_without_smtp_mails_are_kept_not_sent(database: Database, settings: Settings) -> None:
    await shipped_order(database)
    assert settings.smtp is None
    assert await deliver_due(database, settings) == 0
    async with database.session_scope() as s:
        row = (await s.execute(select(OutboxMail))).scalar_one()
        assert row.status == MailStatus.KEPT
