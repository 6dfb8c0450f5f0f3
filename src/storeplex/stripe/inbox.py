"""The webhook inbox: verify, store once, apply; failures kept and retried.

Receiving an event is one transaction: insert it into `stripe_events` with
ON CONFLICT DO NOTHING on the event id (a duplicate, even a concurrent one,
inserts nothing and is answered 200), then apply it. If applying raises, the
transaction is rolled back and the event is stored again as failed, with its
error and a next attempt time (as dj-stripe keeps its error rows outside the
transaction that failed); the worker retries it with backoff, one event per
transaction. An admin can list failed events and replay one.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import traceback
from datetime import timedelta
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
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


def _event_columns(event: dict[str, Any], *, endpoint: str, raw: str) -> dict[str, Any]:
    obj = event.get("data", {}).get("object", {})
    return {
        "stripe_event_id": event["id"],
        "type": event["type"],
        "endpoint": endpoint,
        "account": event.get("account"),
        "livemode": bool(event.get("livemode")),
        "api_version": event.get("api_version"),
        "object_id": obj.get("id") if isinstance(obj, dict) else None,
        "event_created": int(event.get("created") or 0),
        "payload": raw,
        "received_at": utcnow(),
    }


@functools.cache
def _store_event_statement(dialect: str, names: tuple[str, ...]) -> Any:
    """The inbox INSERT .. ON CONFLICT DO NOTHING RETURNING, built once per dialect (it runs
    for every webhook, and building it cost more CPU than running it); parameters p_<column>."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(StripeEvent)
    return (
        insert.values({name: bindparam(f"p_{name}") for name in names})
        .on_conflict_do_nothing(index_elements=["stripe_event_id"])
        .returning(StripeEvent)
    )


async def store_event(
    session: AsyncSession, event: dict[str, Any], *, endpoint: str, raw: str
) -> StripeEvent | None:
    """Insert the event; None if it was already there (a duplicate delivery).

    The row is written as its first attempt usually ends, applied: nobody sees it before
    the transaction commits, and if the handler fails, the transaction is rolled back and
    the failure is recorded instead (see apply_event). So the common case costs one write
    of the row, not an insert and an update.
    """
    columns = _event_columns(event, endpoint=endpoint, raw=raw)
    columns |= {
        "status": EventStatus.APPLIED,
        "attempts": 1,
        "processed_at": columns["received_at"],
    }
    statement = _store_event_statement(session.get_bind().dialect.name, tuple(columns))
    params = {f"p_{name}": value for name, value in columns.items()}
    row = (await session.execute(statement, params)).scalar_one_or_none()
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
    first_attempt: bool = False,
) -> str:
    """Apply a stored event in the caller's transaction and record the outcome on its row.

    If the handler raises, the whole transaction is rolled back (nothing half-applied
    stays) and the event is written again, as failed, in the transaction that follows;
    so the caller must have done nothing else in this transaction that it wants kept.
    No savepoint: this runs for every webhook, and a savepoint costs two round trips.
    `first_attempt`: the row was just inserted by store_event, already marked applied;
    the row is written again only if the outcome differs.
    """
    event_id, endpoint, payload = row.stripe_event_id, row.endpoint, row.payload
    event = json.loads(payload)
    attempts = 1 if first_attempt else row.attempts + 1  # one UPDATE with the outcome
    if bool(event.get("livemode")) != expected_livemode:
        outcome = EventStatus.IGNORED
        row.last_error = "livemode does not match this platform's keys"
    else:
        try:
            result = await handlers.handle(service, event)
        except Exception as exc:
            error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            log.warning(
                "webhook %s (%s) failed: %s",
                event_id,
                event.get("type"),
                error,
                extra={"fields": {"event_id": event_id, "attempts": attempts}},
            )
            await session.rollback()
            await _record_failure(
                session, event, endpoint=endpoint, raw=payload, attempts=attempts, error=error,
                retry_base_seconds=retry_base_seconds,
            )  # fmt: skip
            WEBHOOK_EVENTS.labels(endpoint, EventStatus.FAILED).inc()
            return EventStatus.FAILED
        outcome = EventStatus.APPLIED if result == "applied" else EventStatus.IGNORED
        row.last_error = None
    now = row.processed_at if first_attempt and row.processed_at else utcnow()
    row.status = outcome
    row.attempts = attempts
    row.processed_at = now
    row.next_attempt_at = None
    if row.event_created:
        WEBHOOK_LAG.observe(max(time.time() - row.event_created, 0))
    WEBHOOK_EVENTS.labels(endpoint, outcome).inc()
    return outcome


async def _record_failure(
    session: AsyncSession,
    event: dict[str, Any],
    *,
    endpoint: str,
    raw: str,
    attempts: int,
    error: str,
    retry_base_seconds: float,
) -> None:
    """Store the event as failed, with its error and next attempt (insert or update).

    A concurrent delivery of the same event may have applied it meanwhile: an
    applied or ignored row is never turned back into a failed one.
    """
    now = utcnow()
    next_attempt = (
        now + next_attempt_delay(attempts, retry_base_seconds) if attempts < MAX_ATTEMPTS else None
    )
    failure = {
        "status": EventStatus.FAILED,
        "attempts": attempts,
        "last_error": error,
        "next_attempt_at": next_attempt,
    }
    insert = dialect_insert(session, StripeEvent).values(
        **_event_columns(event, endpoint=endpoint, raw=raw), **failure
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["stripe_event_id"],
            set_=failure,
            where=StripeEvent.status.in_((EventStatus.RECEIVED, EventStatus.FAILED)),
        )
    )


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
