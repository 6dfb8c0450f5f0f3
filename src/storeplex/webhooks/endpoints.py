"""Stripe webhook endpoints (platform and Connect, each with its own signing secret) and
the platform admin's view of the inbox (failed and rejected events, replay).

What a delivery gets:
- no, wrong or stale signature, or one dated more than the tolerance in the future:
  400, nothing stored (anyone can send those);
- correctly signed but not a well-formed event (not JSON, too deeply nested, no id,
  type or data.object, a `created` that is not a time ...): 400 with what is wrong,
  and the payload is kept as a rejected inbox row for the admin to inspect;
- a well-formed event: stored once, as received, and answered 200 (`received`, or
  `duplicate`) as soon as that row is committed; it is applied afterwards
  (`storeplex.webhooks.batch`), and its outcome (applied, ignored, failed and retried
  later, rejected) is kept on its row for the platform admin. A rejected event is
  answered 2xx on purpose: it will never be applied, so Stripe must not send it again.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from starlette.background import BackgroundTask

from storeplex.auth.deps import CurrentAdmin
from storeplex.config import Settings
from storeplex.db import Database
from storeplex.errors import BadRequest, ServiceUnavailable, error_body
from storeplex.models import EventStatus, StripeEvent
from storeplex.payments.deps import PaymentServiceDep
from storeplex.stripe.events import MalformedEvent, parse_event
from storeplex.stripe.gateway import StripeGateway, signature_is_valid
from storeplex.webhooks.batch import apply_received_quietly
from storeplex.webhooks.inbox import (
    store_malformed,
    store_received,
)
from storeplex.webhooks.replay import replay

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
admin_router = APIRouter(prefix="/api/v1/platform/webhook-events", tags=["platform"])

SIGNATURE_TOLERANCE_SECONDS = 300


def _signed_at(signature: str) -> int:
    """The `t=` of a Stripe-Signature header (already verified by the SDK)."""
    for item in signature.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise ValueError("no timestamp")


def _verify(payload: bytes, signature: str | None, secret: str | None) -> str:
    """The payload as text, if its signature is valid and dated within the tolerance
    either side of now; else BadRequest (nothing is stored)."""
    if not secret:
        raise ServiceUnavailable("This webhook endpoint has no signing secret configured")
    if not signature:
        raise BadRequest("Missing Stripe-Signature header")
    if not signature.isascii():  # the SDK's compare_digest raises TypeError on non-ASCII
        raise BadRequest("Invalid signature")
    try:
        text = payload.decode("utf-8")
        if not signature_is_valid(text, signature, secret, SIGNATURE_TOLERANCE_SECONDS):
            raise BadRequest("Invalid signature")
        signed_at = _signed_at(signature)
    except UnicodeDecodeError:
        raise BadRequest("Invalid payload: not UTF-8") from None
    except ValueError:
        raise BadRequest("Invalid signature") from None
    if signed_at > time.time() + SIGNATURE_TOLERANCE_SECONDS:
        # The SDK refuses only old signatures; one from the future is a replay waiting to happen.
        raise BadRequest("Invalid signature: its timestamp is in the future")
    return text


async def _receive(request: Request, endpoint: str) -> JSONResponse:
    """Verify, store as received (committed), answer; the apply comes after the answer.

    No request session and no ORM object: the inbox row is one Core INSERT
    (`inbox.store_received`). With `STOREPLEX_WEBHOOK_APPLY=background` this process
    applies it right after the answer has been sent; workers apply whatever is left."""
    state = request.app.state
    gateway: StripeGateway = state.stripe
    settings: Settings = state.settings
    database: Database = state.database
    keys = gateway.keys
    secret = keys.connect_webhook_secret if endpoint == "connect" else keys.webhook_secret
    text = _verify(await request.body(), request.headers.get("stripe-signature"), secret)
    try:
        event = parse_event(text)
    except MalformedEvent as exc:
        message = f"Invalid payload: not a Stripe event: {exc}"
        # Answered 400, but kept for the admin to inspect.
        async with database.session_scope() as session:
            await store_malformed(session, text, endpoint=endpoint, reason=message)
        return JSONResponse(error_body("bad_request", message), status_code=400)
    event_id = await store_received(database, event, endpoint=endpoint, raw=text)
    if event_id is None:
        return JSONResponse({"received": True, "status": "duplicate"})
    background = (
        BackgroundTask(apply_received_quietly, database, gateway, settings)
        if settings.applies_webhooks_in_background
        else None
    )
    return JSONResponse({"received": True, "status": "received"}, background=background)


@router.post("/stripe")
async def stripe_webhook(request: Request) -> JSONResponse:
    """Platform events (payments, charges, refunds, disputes), signed with STRIPE_WEBHOOK_SECRET."""
    return await _receive(request, "platform")


@router.post("/stripe/connect")
async def stripe_connect_webhook(request: Request) -> JSONResponse:
    """Connected-account events (account.updated, payouts), signed with the Connect secret.

    Which event types each endpoint takes is decided in `storeplex.webhooks.dispatch`."""
    return await _receive(request, "connect")


class EventOut(BaseModel):
    id: int
    stripe_event_id: str
    type: str
    endpoint: str
    account: str | None
    status: str
    attempts: int
    last_error: str | None
    received_at: str
    next_attempt_at: str | None


def _event_out(row: StripeEvent) -> EventOut:
    return EventOut(
        id=row.id,
        stripe_event_id=row.stripe_event_id,
        type=row.type,
        endpoint=row.endpoint,
        account=row.account,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        received_at=row.received_at.isoformat(),
        next_attempt_at=row.next_attempt_at.isoformat() if row.next_attempt_at else None,
    )


@admin_router.get("")
async def list_events(
    admin: CurrentAdmin,
    service: PaymentServiceDep,
    status: Annotated[
        str | None, Query(pattern="^(received|applied|ignored|failed|rejected)$")
    ] = "failed",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Inbox events, newest first; by default the failed ones (`rejected`: the events that
    are not ours to apply, with the reason in last_error)."""
    query = select(StripeEvent).order_by(StripeEvent.id.desc()).limit(limit + 1).offset(offset)
    if status:
        query = query.where(StripeEvent.status == status)
    rows = list((await service.db.execute(query)).scalars())
    return {"data": [_event_out(r) for r in rows[:limit]], "has_more": len(rows) > limit}


class ReplayOut(EventOut):
    # The other failed events about the same object, retried with it (or, when it failed
    # again, left waiting for it: `retried` false).
    related: list[RelatedOut] = []


class RelatedOut(BaseModel):
    id: int
    stripe_event_id: str
    type: str
    status: str
    last_error: str | None
    retried: bool


@admin_router.post("/{event_id}/replay", response_model=ReplayOut)
async def replay_event(event_id: int, admin: CurrentAdmin, service: PaymentServiceDep) -> ReplayOut:
    """Apply a stored event again now (forward-only rules make this safe for any event),
    then the failed events about the same object; the statuses are as stored afterwards."""
    results = await replay(service.db, service, event_id)
    row = await service.db.get(StripeEvent, event_id, populate_existing=True)
    assert row is not None  # replay raised NotFound otherwise
    related = [
        RelatedOut(
            id=r.id,
            stripe_event_id=r.stripe_event_id,
            type=r.type,
            status=r.status,
            last_error=r.error,
            retried=r.tried,
        )
        for r in results[1:]
    ]
    return ReplayOut(**_event_out(row).model_dump(), related=related)


__all__ = ["EventStatus", "admin_router", "router"]
