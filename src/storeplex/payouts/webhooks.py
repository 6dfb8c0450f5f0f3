"""What `payout.*` events (Connect endpoint, carrying `account`) do: upsert the payout."""

from __future__ import annotations

from typing import Any

from storeplex.payments.service import PaymentService
from storeplex.payouts.service import apply_stripe_payout


async def payout_changed(service: PaymentService, event: dict[str, Any]) -> str:
    row = await apply_stripe_payout(
        service.db, event["data"]["object"], account=event.get("account")
    )
    return "applied" if row is not None else "ignored"


HANDLERS = {
    "payout.created": payout_changed,
    "payout.updated": payout_changed,
    "payout.paid": payout_changed,
    "payout.failed": payout_changed,
    "payout.canceled": payout_changed,
}
