"""What refund events do: `charge.refunded`, `refund.created/updated/failed` and
`charge.refund.updated` all bring our refund rows to the refund objects they carry.

Before anything moves, the refund must be about the payment it would change: the
intent it names is the one of the payment our refund row belongs to, and its
currency and amount fit that payment (else EventRejected).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.models import Payment, Refund
from storeplex.payments.service import PaymentService
from storeplex.refunds.service import apply_stripe_refund
from storeplex.stripe.binding import (
    EventRejected,
    check_charge_terms,
    check_share_of_payment,
    id_of,
)
from storeplex.stripe.ids import PLATFORM_TAG


async def _payment_of_refund(
    session: AsyncSession, stripe_refund: dict[str, Any]
) -> Payment | None:
    """The payment this refund would change: its recorded one, else its intent's."""
    by_refund = select(Payment).join(Refund, Refund.payment_id == Payment.id)
    payment = (
        await session.execute(by_refund.where(Refund.stripe_refund_id == stripe_refund.get("id")))
    ).scalar_one_or_none()
    metadata = stripe_refund.get("metadata") or {}
    claimed = str(metadata.get("refund_id", ""))
    if payment is None and metadata.get("platform") == PLATFORM_TAG and claimed.isdigit():
        payment = (
            await session.execute(by_refund.where(Refund.id == int(claimed)))
        ).scalar_one_or_none()
    intent_id = id_of(stripe_refund.get("payment_intent"))
    if payment is not None:
        if intent_id and intent_id != payment.stripe_payment_intent_id:
            raise EventRejected(
                f"refund {stripe_refund.get('id')} names intent {intent_id}, but the refund "
                f"it claims to be is of intent {payment.stripe_payment_intent_id}"
            )
        return payment
    if not intent_id:
        return None
    return (
        await session.execute(select(Payment).where(Payment.stripe_payment_intent_id == intent_id))
    ).scalar_one_or_none()


async def _apply_checked(service: PaymentService, stripe_refund: dict[str, Any]) -> bool:
    payment = await _payment_of_refund(service.db, stripe_refund)
    if payment is not None:
        check_share_of_payment(
            stripe_refund, what="refund", amount=payment.amount_total, currency=payment.currency
        )
    refund = await apply_stripe_refund(service.db, service.stripe, stripe_refund)
    return refund is not None


async def refund_changed(service: PaymentService, event: dict[str, Any]) -> str:
    return "applied" if await _apply_checked(service, event["data"]["object"]) else "ignored"


async def charge_refunded(service: PaymentService, event: dict[str, Any]) -> str:
    charge = event["data"]["object"]
    intent_id = id_of(charge.get("payment_intent"))
    payment = (
        intent_id
        and (
            await service.db.execute(
                select(Payment).where(Payment.stripe_payment_intent_id == intent_id)
            )
        ).scalar_one_or_none()
    )
    if payment:
        check_charge_terms(
            charge,
            amount=payment.amount_total,
            currency=payment.currency,
            destination=payment.stripe_account_id,
        )
    listed = (charge.get("refunds") or {}).get("data")
    if listed is None or (charge.get("refunds") or {}).get("has_more"):
        listed = (await service.stripe.list_refunds({"charge": charge["id"], "limit": 100}))["data"]
    applied = 0
    for stripe_refund in listed:
        applied += await _apply_checked(service, stripe_refund)
    return "applied" if applied else "ignored"


HANDLERS = {
    "charge.refunded": charge_refunded,
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "refund.failed": refund_changed,
    "charge.refund.updated": refund_changed,
}
