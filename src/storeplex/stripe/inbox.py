"""The webhook inbox: verify, store once, apply; failures kept and retried.

Receiving an event is one transaction: insert it into `stripe_events` with
ON CONFLICT DO NOTHING on the event id (a duplicate, even a concurrent one,
inserts nothing and is answered 200), then apply it inside a savepoint. If
applying raises, the savepoint is rolled back, the event row records the error
and a next attempt time, and the worker retries it with backoff. An admin can
list failed events and replay one.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from datetime import timedelta
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.db import dialect_insert
from storeplex.models import EventStatus, StripeEvent, utcnow
from storeplex.payments.service import PaymentService
from storeplex.stripe import handlers

log = logging.getLogger("storeplex.webhooks")

WEBHOOK_EVENTS = Counter(
    "storeplex_webhook_events_total",
    "Stripe webhook events by outcome (received, duplicate, applied, ignored, failed)",
    ["endpoint", "outcome"],
)
WEBHOOK_LAG = Histogram(
    "storeplex_webhook_lag_seconds",
    "Seconds from the event's creation at Stripe to our applying it",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600),
)

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
MAX_ATTEMPTS = 12


def next_attempt_delay(attempts: int, base: float = RETRY_BASE_SECONDS) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base ... capped at an hour."""
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


async def store_event(
    session: AsyncSession, event: dict[str, Any], *, endpoint: str, raw: str
) -> StripeEvent | None:
    """Insert the event; None if it was already there (a duplicate delivery)."""
    obj = event.get("data", {}).get("object", {})
    row = (
        await session.execute(
            dialect_insert(session, StripeEvent)
            .values(
                stripe_event_id=event["id"],
                type=event["type"],
                endpoint=endpoint,
                account=event.get("account"),
                livemode=bool(event.get("livemode")),
                api_version=event.get("api_version"),
                object_id=obj.get("id") if isinstance(obj, dict) else None,
                event_created=int(event.get("created") or 0),
                payload=raw,
                status=EventStatus.RECEIVED,
                attempts=0,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["stripe_event_id"])
            .returning(StripeEvent)
        )
    ).scalar_one_or_none()
    if row is None:
        WEBHOOK_EVENTS.labels(endpoint, "duplicate").inc()
        return None
    WEBHOOK_EVENTS.labels(endpoint, "received").inc()
    return row


async def apply_event(
    session: AsyncSession,
    row: StripeEvent,
    service: PaymentService,
    *,
    expected_livemode: bool,
    retry_base_seconds: float = RETRY_BASE_SECONDS,
) -> str:
    """Apply a stored event in a savepoint; record the outcome on the row. Returns it."""
    event = json.loads(row.payload)
    attempts = row.attempts + 1  # set with the outcome: one UPDATE of the row, not two
    outcome: str
    if bool(event.get("livemode")) != expected_livemode:
        outcome = EventStatus.IGNORED
        row.last_error = "livemode does not match this platform's keys"
    else:
        try:
            async with session.begin_nested():
                result = await handlers.handle(service, event)
            outcome = EventStatus.APPLIED if result == "applied" else EventStatus.IGNORED
            row.last_error = None
        except Exception as exc:
            outcome = EventStatus.FAILED
            row.last_error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            log.warning(
                "webhook %s (%s) failed: %s",
                row.stripe_event_id,
                row.type,
                row.last_error,
                extra={"fields": {"event_id": row.stripe_event_id, "attempts": attempts}},
            )
    row.status = outcome
    row.attempts = attempts
    now = utcnow()
    if outcome == EventStatus.FAILED:
        row.next_attempt_at = (
            now + next_attempt_delay(row.attempts, retry_base_seconds)
            if row.attempts < MAX_ATTEMPTS
            else None
        )
    else:
        row.processed_at = now
        row.next_attempt_at = None
        if row.event_created:
            WEBHOOK_LAG.observe(max(time.time() - row.event_created, 0))
    WEBHOOK_EVENTS.labels(row.endpoint, outcome).inc()
    return outcome


async def due_failed_events(session: AsyncSession, *, limit: int = 50) -> list[StripeEvent]:
    """Failed events whose next attempt is due, locked so other workers skip them."""
    query = (
        select(StripeEvent)
        .where(StripeEvent.status == EventStatus.FAILED, StripeEvent.next_attempt_at <= utcnow())
        .order_by(StripeEvent.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())
