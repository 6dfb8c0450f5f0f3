"""Applying received webhook events after they were answered, in batches.

The endpoint stores a verified event as `received` and answers 2xx once that row is
committed (Stripe's advice: answer quickly, before any complex logic). Then
`apply_received` applies what is received, from two places through the same function:
- right after the answer, in the app process that received it (a Starlette background
  task), when `STOREPLEX_WEBHOOK_APPLY` is `background` (development and tests);
- in every `storeplex worker` process, polling every `STOREPLEX_WEBHOOK_POLL_SECONDS`
  (production, and the safety net everywhere: an app process that dies between its
  answer and the apply loses nothing, a worker picks the row up).

One round takes up to `batch_size` received events with `SELECT ... FOR UPDATE SKIP
LOCKED` (PostgreSQL; SQLite has one writer, and its transactions begin IMMEDIATE), so
any number of processes share the queue and each event is applied by one of them, once:
the row's status changes from received in the transaction that applies it. An event is
taken only when no earlier received event is about the same object (earlier: Stripe's
`created`, then arrival), so the effects on one order follow Stripe's order; the later
one is taken by the next round. The batch's events are applied in one transaction and
their outcomes written by one executemany UPDATE. If any of them raises (a failing
handler, another tenant's object, a deadlock between two batches), the batch is rolled
back whole and each of its events is applied again in a transaction of its own by
`inbox.apply_event`, which records a failure (retried with backoff) or a rejection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, cast

from prometheus_client import Histogram
from sqlalchemy import Table, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import aliased

from storeplex.config import Settings
from storeplex.db import Database
from storeplex.models import EventStatus, StripeEvent, utcnow
from storeplex.payments.service import PaymentService
from storeplex.stripe.events import parse_event
from storeplex.stripe.gateway import StripeGateway
from storeplex.webhooks import dispatch as handlers
from storeplex.webhooks.inbox import WEBHOOK_EVENTS, WEBHOOK_LAG, apply_event

log = logging.getLogger("storeplex.webhooks")

WEBHOOK_APPLY_LAG = Histogram(
    "storeplex_webhook_apply_lag_seconds",
    "Seconds from our receiving a webhook event (its answer) to its outcome being committed",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)

DEFAULT_BATCH_SIZE = 50
_EVENTS = cast(Table, StripeEvent.__table__)
_EARLIER = aliased(StripeEvent)

# An event waits while an earlier received event is about the same object.
_HAS_EARLIER = exists().where(
    _EARLIER.status == EventStatus.RECEIVED,
    _EARLIER.object_id == StripeEvent.object_id,
    or_(
        _EARLIER.event_created < StripeEvent.event_created,
        and_(_EARLIER.event_created == StripeEvent.event_created, _EARLIER.id < StripeEvent.id),
    ),
)

_WRITE_OUTCOME = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        last_error=bindparam("b_note"),
        processed_at=bindparam("b_at"),
        next_attempt_at=None,
    )
)


def _claim(limit: int) -> Any:
    return (
        select(
            StripeEvent.id,
            StripeEvent.endpoint,
            StripeEvent.payload,
            StripeEvent.attempts,
            StripeEvent.received_at,
        )
        .where(StripeEvent.status == EventStatus.RECEIVED, ~_HAS_EARLIER)
        .order_by(StripeEvent.event_created, StripeEvent.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=StripeEvent)
    )


class _BatchFailed(Exception):
    """A handler in the batch raised: the batch is rolled back and applied one by one."""


async def _apply_batch(
    database: Database,
    gateway: StripeGateway,
    settings: Settings,
    limit: int,
) -> list[int]:
    """One round: the ids it took; raises _BatchFailed (after rolling back) with their ids."""
    taken: list[int] = []
    try:
        async with database.session_scope() as session:
            rows = (await session.execute(_claim(limit))).all()
            if not rows:
                return []
            taken = [row.id for row in rows]
            service = PaymentService(session, gateway, settings)
            outcomes: list[dict[str, Any]] = []
            lags: list[float] = []
            for row in rows:
                event = parse_event(row.payload)  # MalformedEvent: one by one, rejected
                note: str | None = None
                if bool(event.get("livemode")) != gateway.livemode:
                    status, note = (
                        EventStatus.IGNORED,
                        "livemode does not match this platform's keys",
                    )
                else:
                    result, note = await handlers.handle(service, event, endpoint=row.endpoint)
                    status = EventStatus.APPLIED if result == "applied" else EventStatus.IGNORED
                now = utcnow()
                outcomes.append(
                    {"b_id": row.id, "b_status": status, "b_attempts": row.attempts + 1,
                     "b_note": note, "b_at": now}
                )  # fmt: skip
                lags.append((now - row.received_at).total_seconds())
                if event.get("created"):
                    WEBHOOK_LAG.observe(max(time.time() - int(event["created"]), 0))
                WEBHOOK_EVENTS.labels(row.endpoint, status).inc()
            await session.flush()  # the handlers' ORM changes, before the Core UPDATE
            await session.execute(_WRITE_OUTCOME, outcomes)
        for lag in lags:
            WEBHOOK_APPLY_LAG.observe(max(lag, 0.0))
        return taken
    except Exception as exc:
        if not taken:
            raise
        log.info("webhook batch of %d rolled back (%s); applying one by one", len(taken), exc)
        raise _BatchFailed(taken) from exc


async def _apply_one(
    database: Database, gateway: StripeGateway, settings: Settings, event_id: int
) -> None:
    """One event in a transaction of its own; a failure or rejection is recorded on its row."""
    async with database.session_scope() as session:
        row = (
            await session.execute(
                select(StripeEvent)
                .where(StripeEvent.id == event_id, StripeEvent.status == EventStatus.RECEIVED)
                .with_for_update(skip_locked=True)
            )
        ).scalar_one_or_none()
        if row is None:
            return  # another process has it, or applied it meanwhile
        received_at = row.received_at
        await apply_event(
            session,
            row,
            PaymentService(session, gateway, settings),
            expected_livemode=gateway.livemode,
            retry_base_seconds=settings.webhook_retry_base_seconds,
        )
    WEBHOOK_APPLY_LAG.observe(max((utcnow() - received_at).total_seconds(), 0.0))


async def apply_received(
    database: Database,
    gateway: StripeGateway,
    settings: Settings,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_rounds: int = 1000,
) -> int:
    """Apply received events until a round finds none it may take; returns how many this
    call took. Safe to run in any number of processes at once."""
    total = 0
    for _ in range(max_rounds):
        try:
            taken = await _apply_batch(database, gateway, settings, batch_size)
        except _BatchFailed as failed:
            taken = list(failed.args[0])
            for event_id in taken:
                await _apply_one(database, gateway, settings, event_id)
        if not taken:
            break
        total += len(taken)
    return total


async def apply_received_quietly(
    database: Database, gateway: StripeGateway, settings: Settings
) -> None:
    """`apply_received` as a background task after a webhook's answer: an error is logged,
    and whatever was not applied stays received for the next round or a worker."""
    try:
        await apply_received(database, gateway, settings)
    except Exception:
        log.exception("applying received webhook events failed; a worker will retry them")


async def run_applier(
    database: Database,
    gateway: StripeGateway,
    settings: Settings,
    *,
    poll_seconds: float,
    stop: asyncio.Event | None = None,
) -> None:
    """The worker's loop: apply received events, then wait `poll_seconds` when none were
    left (at once again when a round was busy)."""
    while stop is None or not stop.is_set():
        try:
            await apply_received(database, gateway, settings)
        except Exception:
            log.exception("applying received webhook events failed; retrying")
        await asyncio.sleep(poll_seconds)
