"""The webhook inbox: verify, store once, apply; failures kept and retried.

Receiving an event is one statement: insert it into `stripe_events` as received,
with ON CONFLICT DO NOTHING on the event id (a duplicate, even a concurrent one,
inserts nothing and is answered 200), committed before the answer. It is applied
afterwards (`storeplex.webhooks.batch`). If applying raises, the transaction is
rolled back and the event is stored again as failed, with its error and a next
attempt time (as dj-stripe keeps its error rows outside the transaction that
failed); the worker retries it with backoff, one event per transaction. An admin
can list failed events and replay one.

An event that is not ours to apply (a handler raised `EventRejected`: another
tenant's object, the wrong endpoint) is rolled back the same way and stored as
rejected, with the reason in `last_error`; so is a signed payload that is not an
event at all (`store_malformed`). Rejected events are never retried; the admin
sees them beside the failed ones.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
import traceback
from datetime import datetime, timedelta
from typing import Any, cast

from prometheus_client import Counter, Histogram
from sqlalchemy import Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.db import Database, dialect_insert
from storeplex.models import EventStatus, StripeEvent, utcnow
from storeplex.payments.service import PaymentService
from storeplex.stripe.binding import EventRejected
from storeplex.stripe.events import MalformedEvent, parse_event
from storeplex.webhooks import dispatch as handlers

log = logging.getLogger("storeplex.webhooks")

WEBHOOK_EVENTS = Counter(
    "storeplex_webhook_events_total",
    "Stripe webhook events by outcome (received, duplicate, applied, ignored, failed, rejected)",
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
MALFORMED_TYPE = "malformed"
LIVEMODE_MISMATCH = "livemode does not match this platform's keys"
# The statuses an admin can list, in the order the pages offer them.
EVENT_STATUSES = (
    EventStatus.FAILED,
    EventStatus.REJECTED,
    EventStatus.RECEIVED,
    EventStatus.APPLIED,
    EventStatus.IGNORED,
)


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
def _store_received_statement(dialect: str, names: tuple[str, ...]) -> Any:
    """The inbox INSERT .. ON CONFLICT DO NOTHING RETURNING id (Core, no ORM object), built
    once per dialect; parameters p_<column>."""
    table = cast(Table, StripeEvent.__table__)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return (
        insert.values({name: bindparam(f"p_{name}", type_=table.c[name].type) for name in names})
        .on_conflict_do_nothing(index_elements=["stripe_event_id"])
        .returning(table.c.id)
    )


async def store_received(
    database: Database, event: dict[str, Any], *, endpoint: str, raw: str
) -> int | None:
    """Commit the event as received, to be applied after the answer (`webhooks.batch`);
    its row id, or None if it was already there (a duplicate delivery).

    One statement in a transaction of its own. On PostgreSQL it runs in autocommit mode:
    a single INSERT is atomic by itself, and it costs one round trip instead of three
    (BEGIN, INSERT, COMMIT); SQLite takes its write lock with BEGIN IMMEDIATE as usual.
    """
    columns = _event_columns(event, endpoint=endpoint, raw=raw)
    columns |= {"status": EventStatus.RECEIVED, "attempts": 0}
    engine = database.engine
    statement = _store_received_statement(engine.dialect.name, tuple(columns))
    params = {f"p_{name}": value for name, value in columns.items()}
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            event_id = (await conn.execute(statement, params)).scalar_one_or_none()
    else:
        async with engine.begin() as conn:
            event_id = (await conn.execute(statement, params)).scalar_one_or_none()
    WEBHOOK_EVENTS.labels(endpoint, "received" if event_id is not None else "duplicate").inc()
    return None if event_id is None else int(event_id)


async def apply_event(
    session: AsyncSession,
    row: StripeEvent,
    service: PaymentService,
    *,
    expected_livemode: bool,
    retry_base_seconds: float = RETRY_BASE_SECONDS,
) -> str:
    """Apply a stored event in the caller's transaction and record the outcome on its row.

    If the handler raises, the whole transaction is rolled back (nothing half-applied
    stays) and the event is written again, as failed, in the transaction that follows;
    so the caller must have done nothing else in this transaction that it wants kept.
    No savepoint: a savepoint costs two round trips.
    """
    event_id, endpoint, payload = row.stripe_event_id, row.endpoint, row.payload
    attempts = row.attempts + 1  # one UPDATE with the outcome
    try:
        event = parse_event(payload)
    except MalformedEvent as exc:  # a kept malformed payload, replayed
        row.status, row.attempts, row.last_error = EventStatus.REJECTED, attempts, str(exc)
        row.processed_at, row.next_attempt_at = utcnow(), None
        return EventStatus.REJECTED
    note: str | None = None
    if bool(event.get("livemode")) != expected_livemode:
        outcome = EventStatus.IGNORED
        note = LIVEMODE_MISMATCH
    else:
        try:
            result, note = await handlers.handle(service, event, endpoint=endpoint)
        except EventRejected as exc:
            log.warning(
                "webhook %s (%s) rejected: %s",
                event_id,
                event["type"],
                exc.message,
                extra={"fields": {"event_id": event_id, "account": event.get("account")}},
            )
            await session.rollback()  # nothing of it stays, not even a lock
            await _record_outcome(
                session, event, endpoint=endpoint, raw=payload, attempts=attempts,
                status=EventStatus.REJECTED, error=exc.message[:2000], next_attempt=None,
            )  # fmt: skip
            WEBHOOK_EVENTS.labels(endpoint, EventStatus.REJECTED).inc()
            return EventStatus.REJECTED
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
            next_attempt = (
                utcnow() + next_attempt_delay(attempts, retry_base_seconds)
                if attempts < MAX_ATTEMPTS
                else None
            )
            await _record_outcome(
                session, event, endpoint=endpoint, raw=payload, attempts=attempts,
                status=EventStatus.FAILED, error=error, next_attempt=next_attempt,
            )  # fmt: skip
            WEBHOOK_EVENTS.labels(endpoint, EventStatus.FAILED).inc()
            return EventStatus.FAILED
        outcome = EventStatus.APPLIED if result == "applied" else EventStatus.IGNORED
    now = utcnow()
    row.status = outcome
    row.attempts = attempts
    row.last_error = note
    row.processed_at = now
    row.next_attempt_at = None
    if row.event_created:
        WEBHOOK_LAG.observe(max(time.time() - row.event_created, 0))
    WEBHOOK_EVENTS.labels(endpoint, outcome).inc()
    return outcome


async def _record_outcome(
    session: AsyncSession,
    event: dict[str, Any],
    *,
    endpoint: str,
    raw: str,
    attempts: int,
    status: str,
    error: str,
    next_attempt: datetime | None,
) -> None:
    """Store the event as failed or rejected, with its error (insert or update), after
    the transaction that tried it was rolled back.

    A concurrent delivery of the same event may have applied it meanwhile: an
    applied or ignored row is never turned back into a failed or rejected one.
    """
    outcome = {
        "status": status,
        "attempts": attempts,
        "last_error": error,
        "next_attempt_at": next_attempt,
        "processed_at": utcnow() if status == EventStatus.REJECTED else None,
    }
    insert = dialect_insert(session, StripeEvent).values(
        **_event_columns(event, endpoint=endpoint, raw=raw), **outcome
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["stripe_event_id"],
            set_=outcome,
            where=StripeEvent.status.in_(
                (EventStatus.RECEIVED, EventStatus.FAILED, EventStatus.REJECTED)
            ),
        )
    )


async def store_malformed(
    session: AsyncSession, raw: str, *, endpoint: str, reason: str
) -> StripeEvent | None:
    """Keep a signed payload that is not an event, as rejected, for the admin to inspect.

    It has no usable event id, so its row is named after the payload's digest: the
    same payload delivered again is stored once. None if it was already kept.
    """
    digest = hashlib.sha256(f"{endpoint}\n{raw}".encode()).hexdigest()[:40]
    now = utcnow()
    row = (
        await session.execute(
            dialect_insert(session, StripeEvent)
            .values(
                stripe_event_id=f"{MALFORMED_TYPE}_{digest}",
                type=MALFORMED_TYPE,
                endpoint=endpoint,
                account=None,
                livemode=False,
                api_version=None,
                object_id=None,
                event_created=0,
                payload=raw,
                status=EventStatus.REJECTED,
                attempts=0,
                last_error=reason,
                received_at=now,
                processed_at=now,
            )
            .on_conflict_do_nothing(index_elements=["stripe_event_id"])
            .returning(StripeEvent)
        )
    ).scalar_one_or_none()
    WEBHOOK_EVENTS.labels(endpoint, EventStatus.REJECTED).inc()
    return row


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
