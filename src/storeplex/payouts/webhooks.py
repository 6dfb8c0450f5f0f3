"""What `payout.*` events (Connect endpoint, carrying `account`) do: upsert the payout.

A payout is recorded for the store whose connected account the event came from; an
event about a payout we recorded for another account is rejected, not applied.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storeplex.models import Payout
from storeplex.payments.service import PaymentService
from storeplex.payouts.service import apply_stripe_payout
from storeplex.stripe.binding import EventRejected


async def payout_changed(service: PaymentService, event: dict[str, Any]) -> str:
    payout, account = event["data"]["object"], event.get("account")
    recorded_for = (
        await service.db.execute(
            select(Payout.stripe_account_id).where(Payout.stripe_payout_id == payout.get("id"))
        )
    ).scalar_one_or_none()
    if recorded_for is not None and recorded_for != account:
        raise EventRejected(
            f"payout {payout.get('id')} is one of {recorded_for}; this event came from {account}"
        )
    row = await apply_stripe_payout(service.db, payout, account=account)
    return "applied" if row is not None else "ignored"


HANDLERS = {
    "payout.created": payout_changed,
    "payout.updated": payout_changed,
    "payout.paid": payout_changed,
    "payout.failed": payout_changed,
    "payout.canceled": payout_changed,
}
