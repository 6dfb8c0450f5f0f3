"""The platform admins' digest of failed webhook events: once per period, exactly once
with several workers, nothing when nothing failed; delivered over a real SMTP server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.mail.delivery import deliver_due
from storeplex.models import EventStatus, OutboxMail, PlatformAdmin, StorePaymentConfig, StripeEvent
from storeplex.webhooks.digest import send_webhook_digest, window_of
from tests.mail.smtp import BASE_URL, Inbox, parts
from tests.support.factories import make_admin, make_store

PERIOD = 3600
# Connections waiting to write to the outbox (pg_locks is live; pg_stat_activity would be
# a snapshot taken once per transaction).
WAITING_ON_LOCKS = text(
    "SELECT count(DISTINCT pid) FROM pg_locks "
    "WHERE NOT granted AND relation = 'mail_outbox'::regclass"
)
# The start of a window, so that T + k × PERIOD lies in the k-th next one.
T = datetime.fromtimestamp(
    window_of(datetime(2026, 3, 2, 10, 30, tzinfo=UTC), PERIOD) * PERIOD, UTC
)


async def add_event(
    db: Database,
    n: int,
    event_type: str,
    *,
    received_at: datetime,
    status: str = EventStatus.FAILED,
    account: str | None = None,
    store_id: int | None = None,
) -> None:
    obj = {"id": f"obj_{n}", "metadata": {"store_id": str(store_id)} if store_id else {}}
    payload = {"id": f"evt_digest_{n}", "type": event_type, "data": {"object": obj}}
    async with db.session_scope() as s:
        s.add(
            StripeEvent(
                stripe_event_id=f"evt_digest_{n}",
                type=event_type,
                endpoint="connect" if account else "platform",
                account=account,
                livemode=False,
                object_id=obj["id"],
                event_created=int(received_at.timestamp()),
                payload=json.dumps(payload),
                status=status,
                attempts=1,
                last_error="RuntimeError: database went away",
                received_at=received_at,
                next_attempt_at=received_at + timedelta(minutes=5),
            )
        )


async def twice_at_once(database: Database, settings: Settings, now: datetime) -> int:
    """Two workers (each with its own connection pool) run the digest job at once.

    To make them really overlap, a third connection holds the outbox in EXCLUSIVE mode
    (reads pass, writes wait) until both have read everything and wait to write (or are
    done, having nothing to write); then both write at the same moment."""
    if database.engine.dialect.name != "postgresql":  # SQLite has one writer: in turn
        first = await send_webhook_digest(database, period_seconds=PERIOD, now=now)
        return first + await send_webhook_digest(database, period_seconds=PERIOD, now=now)
    other, locker = Database(settings), Database(settings)
    try:
        async with locker.session_scope() as lock:
            await lock.execute(text("LOCK TABLE mail_outbox IN EXCLUSIVE MODE"))
            tasks = [
                asyncio.create_task(send_webhook_digest(db, period_seconds=PERIOD, now=now))
                for db in (database, other)
            ]
            deadline = asyncio.get_running_loop().time() + 20
            while True:
                waiting = (await lock.execute(WAITING_ON_LOCKS)).scalar_one()
                if waiting + sum(t.done() for t in tasks) >= 2:
                    break
                assert asyncio.get_running_loop().time() < deadline, "the workers never met"
                await asyncio.sleep(0.02)
        counts = await asyncio.gather(*tasks)
    finally:
        await other.dispose()
        await locker.dispose()
    return sum(counts)


async def digests(database: Database) -> list[OutboxMail]:
    async with database.session_scope() as s:
        query = select(OutboxMail).where(OutboxMail.kind == "webhook_digest")
        return list((await s.execute(query.order_by(OutboxMail.id))).scalars())


async def test_failed_events_reach_every_active_admin_once_per_period(
    database: Database,
    mail_settings: Settings,
    smtp: tuple[Inbox, int],
) -> None:
    inbox, _ = smtp
    first = await make_admin(database, email="ops@platform.test")
    second = await make_admin(database, email="cto@platform.test")
    gone = await make_admin(database, email="former@platform.test")
    async with database.session_scope() as s:
        await s.execute(
            update(PlatformAdmin).where(PlatformAdmin.id == gone.id).values(is_active=False)
        )
    nord = await make_store(database, name="Atelier Nord")
    sud = await make_store(database, name="Atelier Sud")
    async with database.session_scope() as s:
        await s.execute(
            update(StorePaymentConfig)
            .where(StorePaymentConfig.store_id == nord.id)
            .values(stripe_account_id="acct_digest_nord")
        )

    # Nothing failed: no digest at all.
    assert await twice_at_once(database, mail_settings, T) == 0

    before = T - timedelta(minutes=40)
    await add_event(database, 1, "payment_intent.succeeded", received_at=before, store_id=sud.id)
    await add_event(
        database, 2, "payment_intent.succeeded", received_at=before + timedelta(minutes=1),
        store_id=sud.id,
    )  # fmt: skip
    await add_event(
        database, 3, "payout.paid", received_at=before + timedelta(minutes=2),
        account="acct_digest_nord",
    )  # fmt: skip
    await add_event(database, 4, "charge.refunded", received_at=before, status=EventStatus.APPLIED)
    await add_event(database, 5, "charge.refunded", received_at=before, status=EventStatus.REJECTED)

    # Two workers at once, twice in the same window: one digest per active admin.
    assert await twice_at_once(database, mail_settings, T) == 2
    assert await twice_at_once(database, mail_settings, T + timedelta(minutes=59)) == 0
    assert sorted(m.to_address for m in await digests(database)) == [
        "cto@platform.test",
        "ops@platform.test",
    ]
    assert await deliver_due(database, mail_settings) == 2
    assert inbox.to("former@platform.test") == []
    for address in (first.email, second.email):
        [mail] = inbox.to(address)
        assert mail["Subject"] == "3 Stripe webhook events failed"
        assert mail["From"].addresses[0].display_name == "Storeplex"
        text, html = parts(mail)
        for body in (text, html):
            assert "payment_intent.succeeded (2)" in body and "payout.paid (1)" in body
            assert "charge.refunded" not in body  # applied and rejected ones are not failures
            assert "Atelier Sud (2)" in body and "Atelier Nord (1)" in body
            assert f"Oldest: {before:%Y-%m-%d %H:%M} UTC" in body
            assert "database went away" not in body  # errors stay on the page, not in mail
        assert f"{BASE_URL}/platform/webhooks?status=failed" in text
        assert f'href="{BASE_URL}/platform/webhooks?status=failed"' in html

    # The next window: the same events still fail, but they were reported; nothing new.
    assert await twice_at_once(database, mail_settings, T + timedelta(seconds=PERIOD)) == 0
    # A new failure is reported in the window after, alone, "since" the last digest.
    await add_event(
        database, 6, "charge.dispute.created", received_at=T + timedelta(seconds=PERIOD + 60)
    )
    assert await twice_at_once(database, mail_settings, T + timedelta(seconds=2 * PERIOD)) == 2
    assert await deliver_due(database, mail_settings) == 2
    [_, later] = inbox.to(first.email)
    assert later["Subject"] == f"1 Stripe webhook event failed since {T:%Y-%m-%d %H:%M} UTC"
    text, _ = parts(later)
    assert "charge.dispute.created (1)" in text and "payment_intent" not in text
    assert "no store named (1)" in text
    assert len(inbox.messages) == 4


async def test_no_admin_no_digest(database: Database, mail_settings: Settings) -> None:
    await add_event(database, 1, "payment_intent.succeeded", received_at=T - timedelta(hours=1))
    assert await send_webhook_digest(database, period_seconds=PERIOD, now=T) == 0
    assert await digests(database) == []
