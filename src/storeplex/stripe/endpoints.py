"""Stripe webhook endpoints (platform and Connect, each with its own signing secret) and
the platform admin's view of the inbox (failed events, replay).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import stripe
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select

from storeplex.auth.deps import CurrentAdmin
from storeplex.errors import BadRequest, NotFound, ServiceUnavailable
from storeplex.models import EventStatus, StripeEvent
from storeplex.payments.deps import PaymentServiceDep
from storeplex.stripe.inbox import apply_event, store_event

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
admin_router = APIRouter(prefix="/api/v1/platform/webhook-events", tags=["platform"])

SIGNATURE_TOLERANCE_SECONDS = 300


def _verify(payload: bytes, signature: str | None, secret: str | None) -> dict[str, Any]:
    if not secret:
        raise ServiceUnavailable("This webhook endpoint has no signing secret configured")
    if not signature:
        raise BadRequest("Missing Stripe-Signature header")
    if not signature.isascii():  # the SDK's compare_digest raises TypeError on non-ASCII
        raise BadRequest("Invalid signature")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature, secret, SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError:
        raise BadRequest("Invalid signature") from None
    except UnicodeDecodeError:
        raise BadRequest("Invalid payload: not UTF-8") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise BadRequest("Invalid payload: not JSON") from None
    if (
        not isinstance(event, dict)
        or not all(isinstance(event.get(k), str) for k in ("id", "type"))
        or not isinstance(event.get("data"), dict)
    ):
        raise BadRequest("Invalid payload: not a Stripe event")
    return event


async def _receive(request: Request, service: PaymentServiceDep, endpoint: str) -> JSONResponse:
    keys = service.stripe.keys
    secret = keys.connect_webhook_secret if endpoint == "connect" else keys.webhook_secret
    payload = await request.body()
    event = _verify(payload, request.headers.get("stripe-signature"), secret)
    row = await store_event(service.db, event, endpoint=endpoint, raw=payload.decode("utf-8"))
    if row is None:
        return JSONResponse({"received": True, "status": "duplicate"})
    outcome = await apply_event(
        service.db,
        row,
        service,
        expected_livemode=service.stripe.livemode,
        retry_base_seconds=service.settings.webhook_retry_base_seconds,
        first_attempt=True,
    )
    return JSONResponse({"received": True, "status": outcome})


@router.post("/stripe")
async def stripe_webhook(request: Request, service: PaymentServiceDep) -> JSONResponse:
    """Platform events (payments, charges, refunds, disputes), signed with STRIPE_WEBHOOK_SECRET."""
    return await _receive(request, service, "platform")


@router.post("/stripe/connect")
async def stripe_connect_webhook(request: Request, service: PaymentServiceDep) -> JSONResponse:
    """Connected-account events (account.updated, payouts), signed with the Connect secret."""
    return await _receive(request, service, "connect")


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
    status: Annotated[str | None, Query(pattern="^(received|applied|ignored|failed)$")] = "failed",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Inbox events, newest first; by default the failed ones."""
    query = select(StripeEvent).order_by(StripeEvent.id.desc()).limit(limit + 1).offset(offset)
    if status:
        query = query.where(StripeEvent.status == status)
    rows = list((await service.db.execute(query)).scalars())
    return {"data": [_event_out(r) for r in rows[:limit]], "has_more": len(rows) > limit}


@admin_router.post("/{event_id}/replay", response_model=EventOut)
async def replay_event(event_id: int, admin: CurrentAdmin, service: PaymentServiceDep) -> EventOut:
    """Apply a stored event again now (forward-only rules make this safe for any event)."""
    row = (
        await service.db.execute(
            select(StripeEvent).where(StripeEvent.id == event_id).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No webhook event with id {event_id}")
    outcome = await apply_event(
        service.db,
        row,
        service,
        expected_livemode=service.stripe.livemode,
        retry_base_seconds=service.settings.webhook_retry_base_seconds,
    )
    if outcome == EventStatus.FAILED:
        await service.db.refresh(row)  # the failure rolled back and rewrote the row
    return _event_out(row)


__all__ = ["EventStatus", "admin_router", "router"]
