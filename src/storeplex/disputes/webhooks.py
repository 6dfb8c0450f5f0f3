"""What `charge.dispute.*` events do: record the dispute and move the store's share.

Before anything moves, the dispute must be about the payment it would change: its
charge (when we know the payment's charge) is that payment's, and its currency and
amount fit the payment (else EventRejected).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from storeplex.disputes.service import apply_stripe_dispute
from storeplex.models import Payment
from storeplex.payments.service import PaymentService
from storeplex.stripe.binding import EventRejected, check_share_of_payment, id_of


async def _check_dispute(service: PaymentService, dispute: dict[str, Any]) -> None:
    intent_id = id_of(dispute.get("payment_intent"))
    charge_id = id_of(dispute.get("charge"))
    if intent_id:
        query = select(Payment).where(Payment.stripe_payment_intent_id == intent_id)
    elif charge_id:
        query = select(Payment).where(Payment.stripe_charge_id == charge_id)
    else:
        return  # about nothing of ours; the service ignores it
    payment = (await service.db.execute(query)).scalar_one_or_none()
    if payment is None:
        return
    if charge_id and payment.stripe_charge_id and charge_id != payment.stripe_charge_id:
        raise EventRejected(
            f"dispute {dispute.get('id')} names charge {charge_id}, but intent {intent_id} "
            f"was paid by charge {payment.stripe_charge_id}"
        )
    check_share_of_payment(
        dispute, what="dispute", amount=payment.amount_total, currency=payment.currency
    )


async def dispute_changed(service: PaymentService, event: dict[str, Any]) -> str:
    dispute = event["data"]["object"]
    await _check_dispute(service, dispute)
    row = await apply_stripe_dispute(service.db, service.stripe, dispute)
    return "applied" if row is not None else "ignored"


HANDLERS = {
    "charge.dispute.created": dispute_changed,
    "charge.dispute.updated": dispute_changed,
    "charge.dispute.closed": dispute_changed,
    "charge.dispute.funds_withdrawn": dispute_changed,
    "charge.dispute.funds_reinstated": dispute_changed,
}
