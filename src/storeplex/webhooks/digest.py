"""The platform admins' digest of webhook events that failed since the last digest.

The worker calls `send_webhook_digest` on every round. Time is cut into windows of
`webhook_digest_every_seconds` (counted from the Unix epoch, so every worker agrees on
them); a window's digest is one outbox mail per active platform admin, keyed
`webhook_digest:<window>:<admin id>`, so however many workers run it, each admin gets at
most one digest per window (INSERT ... ON CONFLICT DO NOTHING on the key). A digest
covers the events still failed that were received after the previous digest's cut-off
(`until` in its context) and up to this one's; with none, nothing is sent.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.db import Database
from storeplex.mail.outbox import PLATFORM_SENDER, enqueue
from storeplex.models import (
    EventStatus,
    OutboxMail,
    PlatformAdmin,
    Store,
    StorePaymentConfig,
    StripeEvent,
    utcnow,
)

KIND = "webhook_digest"
FAILED_EVENTS_PATH = "/platform/webhooks?status=failed"
MAX_LISTED = 20  # types and stores named in a digest; the rest is counted


def window_of(moment: datetime, period_seconds: int) -> int:
    return int(moment.timestamp()) // period_seconds


def _key(window: int, admin_id: int) -> str:
    return f"{KIND}:{window}:{admin_id}"


async def _previous_until(session: AsyncSession) -> datetime | None:
    context = (
        await session.execute(
            select(OutboxMail.context)
            .where(OutboxMail.kind == KIND)
            .order_by(OutboxMail.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    if not context or "until" not in context:
        return None
    return datetime.fromisoformat(str(context["until"]))


def _store_id_in(payload: str) -> int | None:
    """The store a platform event's object names in our metadata (a claim, for display)."""
    try:
        obj = json.loads(payload)["data"]["object"]
        value = (obj.get("metadata") or {}).get("store_id")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return int(str(value)) if str(value).isdigit() and len(str(value)) <= 18 else None


async def _store_names(session: AsyncSession, events: list[StripeEvent]) -> list[str]:
    accounts = {e.account for e in events if e.account}
    by_account: dict[str, int] = {}
    if accounts:
        rows = await session.execute(
            select(StorePaymentConfig.stripe_account_id, StorePaymentConfig.store_id).where(
                StorePaymentConfig.stripe_account_id.in_(accounts)
            )
        )
        by_account = {str(account): store_id for account, store_id in rows.all()}
    ids: Counter[int | None] = Counter(
        by_account.get(e.account) if e.account else _store_id_in(e.payload) for e in events
    )
    known = [i for i in ids if i is not None]
    names: dict[int, str] = {}
    if known:
        found = await session.execute(select(Store.id, Store.name).where(Store.id.in_(known)))
        names = {store_id: name for store_id, name in found.all()}
    listed = [f"{names.get(i, f'store {i}')} ({n})" for i, n in ids.most_common() if i is not None]
    if None in ids:
        listed.append(f"no store named ({ids[None]})")
    return listed


async def send_webhook_digest(
    database: Database, *, period_seconds: int, now: datetime | None = None
) -> int:
    """Enqueue this window's digest for every active platform admin, if events failed since
    the last digest and this window has none yet; returns how many mails were written."""
    now = now or utcnow()
    window = window_of(now, period_seconds)
    async with database.session_scope() as session:
        admins = list(
            (
                await session.execute(
                    select(PlatformAdmin.id, PlatformAdmin.email)
                    .where(PlatformAdmin.is_active.is_(True))
                    .order_by(PlatformAdmin.id)
                )
            ).all()
        )
        if not admins:
            return 0
        done = (
            await session.execute(
                select(OutboxMail.id)
                .where(OutboxMail.dedupe_key.in_([_key(window, a.id) for a in admins]))
                .limit(1)
            )
        ).scalar_one_or_none()
        if done is not None:
            return 0  # this window's digest is written (by this worker or another)
        since = await _previous_until(session)
        query = select(StripeEvent).where(
            StripeEvent.status == EventStatus.FAILED, StripeEvent.received_at <= now
        )
        if since is not None:
            query = query.where(StripeEvent.received_at > since)
        events = list((await session.execute(query.order_by(StripeEvent.received_at))).scalars())
        if not events:
            return 0
        types = Counter(e.type for e in events)
        context: dict[str, Any] = {
            "count": len(events),
            "types": [f"{t} ({n})" for t, n in types.most_common(MAX_LISTED)],
            "more_types": max(len(types) - MAX_LISTED, 0),
            "stores": (await _store_names(session, events))[:MAX_LISTED],
            "oldest": events[0].received_at.strftime("%Y-%m-%d %H:%M UTC"),
            "since": since.strftime("%Y-%m-%d %H:%M UTC") if since else None,
            "until": now.isoformat(),
            "failed_events_path": FAILED_EVENTS_PATH,
        }
        written = 0
        # In the admins' order: a second worker racing this one waits on the first key
        # until this transaction commits, then finds every key taken and writes nothing.
        for admin in admins:
            written += await enqueue(
                session,
                kind=KIND,
                to=admin.email,
                sender_name=PLATFORM_SENDER,
                context=context,
                dedupe_key=_key(window, admin.id),
            )
    return written
