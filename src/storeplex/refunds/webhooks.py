"""What refund events do: `charge.refunded`, `refund.created/updated/failed` and
`charge.refund.updated` all bring our refund rows to the refund objects they carry."""

from __future__ import annotations

from typing import Any

from storeplex.payments.service import PaymentService
from storeplex.refunds.service import apply_stripe_refund


async def refund_changed(service: PaymentService, event: dict[str, Any]) -> str:
    refund = await apply_stripe_refund(service.db, service.stripe, event["data"]["object"])
    return "applied" if refund is not None else "ignored"


async def charge_refunded(service: PaymentService, event: dict[str, Any]) -> str:
    charge = event["data"]["object"]
    listed = (charge.get("refunds") or {}).get("data")
    if listed is None or (charge.get("refunds") or {}).get("has_more"):
        listed = (await service.stripe.list_refunds({"charge": charge["id"], "limit": 100}))["data"]
    applied = 0
    for stripe_refund in listed:
        applied += await apply_stripe_refund(service.db, service.stripe, stripe_refund) is not None
    return "applied" if applied else "ignored"


HANDLERS = {
    "charge.refunded": charge_refunded,
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "refund.failed": refund_changed,
    "charge.refund.updated": refund_changed,
}
