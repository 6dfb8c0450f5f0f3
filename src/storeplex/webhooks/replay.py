"""Replaying stored events: the one function the platform API, the platform pages and the
worker call, and which store each event is about.

Rules a newcomer must know:
- Each event is applied in its own transaction, as the worker does: `apply_event` rolls
  the whole transaction back when a handler fails, so this module commits after every
  event (the caller must have nothing pending that it wants kept).
- The outcome is read back from the stored row, never assumed: an event that fails again
  is reported as failed, with its error.
- Events often depend on each other (a `charge.dispute.created` needs the payment that
  `payment_intent.succeeded` records). When an event is applied, the other failed events
  about the same object (the same id, or the same payment intent or charge) are retried
  at once, oldest first, instead of waiting for their backoff. When it fails again, they
  are left as they are and reported as waiting for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.errors import Conflict, NotFound
from storeplex.models import EventStatus, Payment, StorePaymentConfig, StripeEvent
from storeplex.payments.service import PaymentService
from storeplex.webhooks.inbox import MALFORMED_TYPE, apply_event

# At most this many failed events are looked at for siblings or for one store's replay.
FAILED_SCAN_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Replayed:
    """What became of one event: its stored status and error after the attempt."""

    id: int
    stripe_event_id: str
    type: str
    status: str
    error: str | None
    tried: bool  # False: not retried, because the event it depends on failed again
    sibling_of: int | None = None  # the event whose replay brought this one along

    @property
    def succeeded(self) -> bool:
        return self.status in (EventStatus.APPLIED, EventStatus.IGNORED)


def _object(row: StripeEvent) -> dict[str, Any]:
    """The event's data.object, or {} (a malformed or odd payload)."""
    try:
        event = json.loads(row.payload)
    except ValueError:
        return {}
    data = event.get("data") if isinstance(event, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


def related_ids(row: StripeEvent) -> set[str]:
    """The Stripe ids an event is about: its object, and that object's payment intent and
    charge (a charge, refund or dispute event names the payment it belongs to)."""
    obj = _object(row)
    ids = {row.object_id} if row.object_id else set()
    for key in ("payment_intent", "charge", "latest_charge"):
        value = obj.get(key)
        if isinstance(value, dict):
            value = value.get("id")
        if isinstance(value, str) and value:
            ids.add(value)
    return ids


def _account_and_intent(row: StripeEvent) -> tuple[str | None, str | None]:
    obj = _object(row)
    account = row.account
    if account is None:
        transfer = obj.get("transfer_data")
        destination = transfer.get("destination") if isinstance(transfer, dict) else None
        if isinstance(destination, str):
            account = destination
    intent = row.object_id if (row.object_id or "").startswith("pi_") else None
    value = obj.get("payment_intent")
    if intent is None and isinstance(value, str):
        intent = value
    return account, intent


async def stores_of(session: AsyncSession, rows: Iterable[StripeEvent]) -> dict[int, int | None]:
    """Each event's store id (None when it names no store of ours), from our own records:
    the connected account it came from or pays, or the payment intent it is about."""
    pairs = {row.id: _account_and_intent(row) for row in rows}
    accounts = {a for a, _ in pairs.values() if a}
    intents = {i for _, i in pairs.values() if i}
    by_account: dict[str, int] = {}
    by_intent: dict[str, int] = {}
    if accounts:
        result = await session.execute(
            select(StorePaymentConfig.stripe_account_id, StorePaymentConfig.store_id).where(
                StorePaymentConfig.stripe_account_id.in_(accounts)
            )
        )
        by_account = {str(a): int(s) for a, s in result.all()}
    if intents:
        result = await session.execute(
            select(Payment.stripe_payment_intent_id, Payment.store_id).where(
                Payment.stripe_payment_intent_id.in_(intents)
            )
        )
        by_intent = {str(i): int(s) for i, s in result.all()}
    out: dict[int, int | None] = {}
    for event_id, (account, intent) in pairs.items():
        out[event_id] = by_intent.get(intent or "") or by_account.get(account or "")
    return out


async def failed_events(session: AsyncSession, *, store_id: int | None = None) -> list[StripeEvent]:
    """Failed events, oldest first (optionally only those about one store)."""
    rows = list(
        (
            await session.execute(
                select(StripeEvent)
                .where(StripeEvent.status == EventStatus.FAILED)
                .order_by(StripeEvent.event_created, StripeEvent.id)
                .limit(FAILED_SCAN_LIMIT)
            )
        ).scalars()
    )
    if store_id is None:
        return rows
    stores = await stores_of(session, rows)
    return [row for row in rows if stores.get(row.id) == store_id]


async def _lock(
    session: AsyncSession, event_id: int, *, only_failed: bool, skip_locked: bool
) -> StripeEvent | None:
    query = select(StripeEvent).where(StripeEvent.id == event_id)
    if only_failed:
        query = query.where(StripeEvent.status == EventStatus.FAILED)
    query = query.with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one_or_none()


async def _result(
    session: AsyncSession, event_id: int, *, tried: bool, sibling_of: int | None
) -> Replayed:
    row = (
        await session.execute(
            select(StripeEvent)
            .where(StripeEvent.id == event_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    return Replayed(
        id=row.id,
        stripe_event_id=row.stripe_event_id,
        type=row.type,
        status=row.status,
        error=row.last_error,
        tried=tried,
        sibling_of=sibling_of,
    )


async def _apply(session: AsyncSession, row: StripeEvent, service: PaymentService) -> str:
    outcome = await apply_event(
        session,
        row,
        service,
        expected_livemode=service.stripe.livemode,
        retry_base_seconds=service.settings.webhook_retry_base_seconds,
    )
    await session.commit()
    return outcome


async def _siblings(session: AsyncSession, row_id: int, ids: set[str]) -> list[int]:
    """The other failed events about any of `ids`, oldest first. The database narrows them
    down (failed rows whose object or payload names one of the ids; the status index keeps
    this to the failed rows), then each is checked on its parsed payload."""
    if not ids:
        return []
    names = [StripeEvent.object_id.in_(ids)] + [
        StripeEvent.payload.contains(f'"{i}"', autoescape=True) for i in sorted(ids)[:10]
    ]
    candidates = (
        await session.execute(
            select(StripeEvent)
            .where(StripeEvent.status == EventStatus.FAILED, StripeEvent.id != row_id)
            .where(or_(*names))
            .order_by(StripeEvent.event_created, StripeEvent.id)
            .limit(FAILED_SCAN_LIMIT)
        )
    ).scalars()
    return [other.id for other in candidates if related_ids(other) & ids]


async def replay(
    session: AsyncSession,
    service: PaymentService,
    event_id: int,
    *,
    only_failed: bool = False,
    skip_locked: bool = False,
) -> list[Replayed]:
    """Apply a stored event again now, then (if it was applied) the other failed events about
    the same object; one transaction each. The first item is the event itself; an empty
    list when `only_failed` and the event is no longer failed (or another worker holds it).

    The admin's replay (API and page) may replay any event but a malformed delivery (404 if
    there is no such event, 409 for a malformed one); the worker passes `only_failed` and
    `skip_locked` so that workers share the queue.
    """
    row = await _lock(session, event_id, only_failed=only_failed, skip_locked=skip_locked)
    if row is None:
        if only_failed:
            return []
        raise NotFound(f"No webhook event with id {event_id}")
    if row.type == MALFORMED_TYPE:
        raise Conflict("This delivery is not a Stripe event; it is kept only to be read")
    ids = related_ids(row)
    await _apply(session, row, service)
    first = await _result(session, event_id, tried=True, sibling_of=None)
    results = [first]
    siblings = await _siblings(session, event_id, ids)
    await session.commit()  # the reads above end their transaction: nothing is held
    for other_id in siblings:
        if not first.succeeded:
            results.append(await _result(session, other_id, tried=False, sibling_of=event_id))
            continue
        other = await _lock(session, other_id, only_failed=True, skip_locked=True)
        if other is None:  # applied meanwhile, or another worker has it
            results.append(await _result(session, other_id, tried=False, sibling_of=event_id))
        else:
            await _apply(session, other, service)
            results.append(await _result(session, other_id, tried=True, sibling_of=event_id))
    await session.commit()
    return results


async def replay_store(
    session: AsyncSession, service: PaymentService, store_id: int
) -> list[Replayed]:
    """Replay every failed event about one store, oldest first (each with its siblings)."""
    pending = [row.id for row in await failed_events(session, store_id=store_id)]
    await session.commit()
    done: set[int] = set()
    results: list[Replayed] = []
    for event_id in pending:
        if event_id in done:
            continue
        batch = await replay(session, service, event_id, only_failed=True, skip_locked=True)
        for item in batch:
            if item.tried:
                done.add(item.id)
            results.append(item)
    # An event first reported as waiting and later tried appears once, with its last state.
    last: dict[int, Replayed] = {}
    for item in results:
        if item.tried or item.id not in last:
            last[item.id] = item
    return list(last.values())
