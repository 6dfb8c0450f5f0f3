"""What `charge.dispute.*` events do: record the dispute and move the store's share."""

from __future__ import annotations

from typing import Any

from storeplex.disputes.service import apply_stripe_dispute
from storeplex.payments.service import PaymentService


async def dispute_changed(service: PaymentService, event: dict[str, Any]) -> str:
    dispute = await apply_stripe_dispute(service.db, service.stripe, event["data"]["object"])
    return "applied" if dispute is not None else "ignored"


HANDLERS = {
    "charge.dispute.created": dispute_changed,
    "charge.dispute.updated": dispute_changed,
    "charge.dispute.closed": dispute_changed,
    "charge.dispute.funds_withdrawn": dispute_changed,
    "charge.dispute.funds_reinstated": dispute_changed,
}
