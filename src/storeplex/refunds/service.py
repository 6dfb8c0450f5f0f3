"""Refunds: store staff give a paid order's money back, never more than was paid.

The rule a newcomer must know: a refund is *reserved in our books before Stripe
hears of it*. `reserve_refund` locks the payment row, checks what is left,
inserts a pending refund and adds its amount to `payments.amount_refunded`
(bounded by the CHECK `amount_refunded <= amount_total`); the caller commits
that reservation, and only then `submit_refund` calls Stripe with an
idempotency key made from the refund row. So ten concurrent requests can never
refund more than the payment, and a retried request never refunds twice.

`payments.amount_refunded` is the sum of the payment's pending and succeeded
refunds; `apply_stripe_refund` is the one place a refund's state changes (our
own call's response, the `charge.refunded` / `refund.*` webhooks, and the
reconciliation job all go through it) and it keeps that sum true.

Restock: `restock=true` is accepted only on the refund that refunds the rest of
the order (a full refund); a partial refund cannot say which items came back.
The stock goes back once, when that refund has succeeded.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.errors import BadRequest, Conflict, NotFound
from storeplex.mail import notify
from storeplex.models import (
    Dispute,
    DisputeOutcome,
    Order,
    OrderPaymentStatus,
    Payment,
    PaymentState,
    Refund,
    RefundReason,
    RefundState,
    StorePaymentConfig,
    utcnow,
)
from storeplex.money import format_amount, parse_amount, proportional_share
from storeplex.orders import service as orders
from storeplex.payments.states import may_move
from storeplex.stripe.gateway import StripeCallError, StripeDict, StripeGateway
from storeplex.stripe.ids import PLATFORM_TAG, idempotency_key
from storeplex.tenancy import get_scoped, scoped

log = logging.getLogger("storeplex.refunds")

REFUNDABLE = (PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED)
STRIPE_STATES = {
    "pending": RefundState.PENDING,
    "requires_action": RefundState.PENDING,
    "succeeded": RefundState.SUCCEEDED,
    "failed": RefundState.FAILED,
    "canceled": RefundState.CANCELED,
}


def _id_of(value: Any) -> str | None:
    return value.get("id") if isinstance(value, dict) else value


async def _payment_of_order(session: AsyncSession, order: Order, *, lock: bool) -> Payment | None:
    query = select(Payment).where(Payment.order_id == order.id, Payment.store_id == order.store_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def _lock_payment(session: AsyncSession, payment_id: int) -> Payment:
    query = (
        select(Payment)
        .where(Payment.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one()


async def _lock_refund(session: AsyncSession, refund_id: int) -> Refund:
    query = (
        select(Refund)
        .where(Refund.id == refund_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one()


async def dispute_blocking_refund(session: AsyncSession, *, payment: Payment) -> str | None:
    """Why the payment cannot be refunded because of a dispute ("open" or "lost"), or None.

    While a dispute is open the bank holds the money; once it is lost the shopper has
    had it back from the bank, so a refund would pay them twice (Stripe refuses it too).
    """
    outcomes = (
        await session.execute(
            select(Dispute.outcome, Dispute.status).where(Dispute.payment_id == payment.id)
        )
    ).all()
    if any(outcome is None and status != "lost" for outcome, status in outcomes):
        return "open"
    if any(outcome == DisputeOutcome.LOST or status == "lost" for outcome, status in outcomes):
        return "lost"
    return None


async def refuse_if_disputed(session: AsyncSession, *, payment: Payment, order: Order) -> None:
    """409 with a sentence for the store owner while a dispute forbids a refund."""
    blocking = await dispute_blocking_refund(session, payment=payment)
    if blocking == "open":
        raise Conflict(
            f"Order #{order.number} has an open dispute: the shopper's bank is reviewing the "
            "payment, so it cannot be refunded now. Answer the dispute instead; if you win it, "
            "you can refund afterwards.",
            code="disputed",
        )
    if blocking == "lost":
        raise Conflict(
            f"Order #{order.number} cannot be refunded: its dispute was lost, so the shopper's "
            "bank has already given the money back to the shopper.",
            code="dispute_lost",
        )


async def reserve_refund(
    session: AsyncSession,
    *,
    store_id: int,
    order_id: int,
    amount: str | None,
    reason: str | None,
    note: str | None,
    restock: bool,
    staff_user_id: int | None,
    token_id: int | None,
) -> Refund:
    """Hold the refund's amount on the payment and record it as pending (the caller commits)."""
    order = await get_scoped(session, Order, store_id, order_id, what="order")
    payment = await _payment_of_order(session, order, lock=True)
    if payment is None or payment.status not in REFUNDABLE:
        state = payment.status if payment is not None else order.payment_status
        if state == PaymentState.REFUNDED:
            raise Conflict(f"Order #{order.number} is already fully refunded", code="refunded")
        raise Conflict(
            f"Order #{order.number} is not paid ({state.replace('_', ' ')}); there is nothing "
            "to refund",
            code="order_not_paid",
        )
    if reason is not None and reason not in RefundReason.ALL:
        raise BadRequest(
            f"reason must be one of {', '.join(RefundReason.ALL)}", field="reason"
        )  # the schema already checks; services are called from elsewhere too
    await refuse_if_disputed(session, payment=payment, order=order)
    currency = payment.currency
    left = payment.amount_total - payment.amount_refunded
    if left <= 0:
        raise Conflict(
            f"Nothing is left to refund on order #{order.number}: "
            f"{format_amount(payment.amount_refunded, currency)} is refunded or being refunded",
            code="nothing_left",
        )
    minor = left if amount is None else parse_amount(amount, currency, field="amount")
    if minor <= 0:
        raise BadRequest("The refund amount must be more than 0", field="amount")
    if minor > left:
        raise BadRequest(
            f"The refund of {format_amount(minor, currency)} is more than the "
            f"{format_amount(left, currency)} left to refund on order #{order.number}",
            field="amount",
            code="amount_too_large",
        )
    if restock and minor != left:
        raise BadRequest(
            "Stock can only be put back with a refund of the whole remaining amount "
            f"({format_amount(left, currency)})",
            field="restock",
        )
    held = (
        await session.execute(
            update(Payment)
            .where(
                Payment.id == payment.id, Payment.amount_refunded + minor <= Payment.amount_total
            )
            .values(amount_refunded=Payment.amount_refunded + minor, updated_at=utcnow())
            .returning(Payment.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if held is None:  # cannot happen under the row lock; the CHECK constraint is the last word
        raise Conflict("Another refund took the remaining amount; reload and try again")
    refund = Refund(
        store_id=store_id,
        payment_id=payment.id,
        order_id=order.id,
        amount=minor,
        currency=currency,
        reason=reason,
        note=note,
        status=RefundState.PENDING,
        created_by_staff_id=staff_user_id,
        created_by_token_id=token_id,
        restock=restock,
    )
    session.add(refund)
    await session.flush()
    return refund


def refund_params(
    refund: Refund, payment: Payment, config: StorePaymentConfig | None
) -> StripeDict:
    """The Stripe refund request for our refund row (policy flags from the store's config)."""
    params: dict[str, Any] = {
        "payment_intent": payment.stripe_payment_intent_id,
        "amount": refund.amount,
        "reverse_transfer": config.reverse_transfer_on_refund if config else True,
        "refund_application_fee": config.refund_application_fee if config else True,
        "metadata": {
            "store_id": str(refund.store_id),
            "order_id": str(refund.order_id),
            "refund_id": str(refund.id),
            "platform": PLATFORM_TAG,
        },
        "expand": ["transfer_reversal"],
    }
    if refund.reason:
        params["reason"] = refund.reason
    return params


async def submit_refund(session: AsyncSession, gateway: StripeGateway, *, refund_id: int) -> Refund:
    """Ask Stripe for a reserved refund, then record the answer.

    A refusal marks the refund failed and releases its amount, then raises the
    StripeCallError (the caller commits before answering). When Stripe cannot
    be reached the outcome is unknown: the refund stays pending and the
    reconciliation job asks again with the same idempotency key.
    """
    refund = await session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(f"No refund with id {refund_id}")
    payment = await session.get(Payment, refund.payment_id)
    assert payment is not None
    config = (
        await session.execute(
            select(StorePaymentConfig).where(StorePaymentConfig.store_id == refund.store_id)
        )
    ).scalar_one_or_none()
    try:
        stripe_refund = await gateway.create_refund(
            refund_params(refund, payment, config),
            idempotency_key=idempotency_key("refund", refund.id, refund.created_at, "refund"),
            refund_id=refund.id,
            order_id=refund.order_id,
        )
    except StripeCallError as exc:
        if exc.status_code == 503:
            raise
        # Stripe's own text names its objects (the charge id); the owner gets our sentence.
        message = refusal_sentence(exc.stripe_code)
        await mark_refund_failed(session, refund_id=refund.id, message=message)
        raise StripeCallError(
            message, status_code=exc.status_code, code=exc.code, stripe_code=exc.stripe_code
        ) from None
    applied = await apply_stripe_refund(session, gateway, stripe_refund)
    return applied or refund


REFUSALS = {
    "charge_disputed": "the payment has been charged back (disputed) by the shopper's bank",
    "charge_already_refunded": "the payment is already refunded in full",
    "amount_too_large": "the amount is more than what is left to refund",
    "charge_expired_for_refund": "the payment is too old to be refunded by card",
    "insufficient_funds": "your Stripe balance is too low to cover it",
}


def refusal_sentence(stripe_code: str | None) -> str:
    """Why Stripe refused a refund, in the store owner's words; never Stripe's raw text."""
    why = REFUSALS.get(stripe_code or "", "the payment provider refused it")
    return f"Nothing was refunded: {why}."


async def mark_refund_failed(session: AsyncSession, *, refund_id: int, message: str) -> Refund:
    """Stripe refused to make the refund: it is failed and its amount is free again."""
    refund = await session.get(Refund, refund_id)
    assert refund is not None
    await _lock_payment(session, refund.payment_id)
    refund = await _lock_refund(session, refund_id)
    await _move(session, refund, RefundState.FAILED)
    refund.failure_reason = message[:2000]
    return refund


async def _move(session: AsyncSession, refund: Refund, new: str) -> bool:
    """Change a refund's state and keep payments.amount_refunded true. Caller holds the locks."""
    old = refund.status
    if old == new:
        return False
    delta = refund.amount * ((new in RefundState.COUNTED) - (old in RefundState.COUNTED))
    if delta:
        changed = (
            await session.execute(
                update(Payment)
                .where(
                    Payment.id == refund.payment_id,
                    Payment.amount_refunded + delta >= 0,
                    Payment.amount_refunded + delta <= Payment.amount_total,
                )
                .values(amount_refunded=Payment.amount_refunded + delta, updated_at=utcnow())
                .returning(Payment.id)
                .execution_options(synchronize_session=False)
            )
        ).scalar_one_or_none()
        if changed is None:
            raise Conflict(
                f"Refund {refund.id} cannot become {new}: the payment's refunds would exceed it"
            )
    refund.status = new
    if new == RefundState.SUCCEEDED:
        refund.succeeded_at = refund.succeeded_at or utcnow()
    return True


async def _row_for(session: AsyncSession, stripe_refund: StripeDict) -> Refund | None:
    row = (
        await session.execute(select(Refund).where(Refund.stripe_refund_id == stripe_refund["id"]))
    ).scalar_one_or_none()
    if row is not None:
        return row
    metadata = stripe_refund.get("metadata") or {}
    refund_id = str(metadata.get("refund_id", ""))
    if metadata.get("platform") == PLATFORM_TAG and refund_id.isdigit():
        row = await session.get(Refund, int(refund_id))
        if row is not None and str(row.store_id) == str(metadata.get("store_id")):
            return row
    return None


async def _adopt(session: AsyncSession, stripe_refund: StripeDict) -> Refund | None:
    """A refund of one of our payments made outside Storeplex (e.g. in the Dashboard)."""
    intent_id = _id_of(stripe_refund.get("payment_intent"))
    if not intent_id:
        return None
    payment = (
        await session.execute(
            select(Payment).where(Payment.stripe_payment_intent_id == intent_id).with_for_update()
        )
    ).scalar_one_or_none()
    if payment is None:
        return None
    refund = Refund(
        store_id=payment.store_id,
        payment_id=payment.id,
        order_id=payment.order_id,
        stripe_refund_id=stripe_refund["id"],
        amount=int(stripe_refund["amount"]),
        currency=payment.currency,
        reason=stripe_refund.get("reason"),
        note="Made outside Storeplex",
        status=RefundState.CANCELED,  # counted below, when it moves to Stripe's state
        restock=False,
    )
    session.add(refund)
    await session.flush()
    log.warning("adopted refund %s made outside Storeplex", stripe_refund["id"])
    return refund


async def apply_stripe_refund(
    session: AsyncSession, gateway: StripeGateway | None, stripe_refund: StripeDict
) -> Refund | None:
    """Bring our refund row (and its payment and order) to what Stripe says about it."""
    row = await _row_for(session, stripe_refund)
    if row is None:
        row = await _adopt(session, stripe_refund)
        if row is None:
            return None
    payment = await _lock_payment(session, row.payment_id)
    refund = await _lock_refund(session, row.id)
    refund.stripe_refund_id = refund.stripe_refund_id or stripe_refund["id"]
    new = STRIPE_STATES.get(str(stripe_refund.get("status")), RefundState.PENDING)
    if refund.status == RefundState.SUCCEEDED and new == RefundState.PENDING:
        new = RefundState.SUCCEEDED  # an older event; refunds never go back to pending
    moved = await _move(session, refund, new)
    if new == RefundState.FAILED:
        refund.failure_reason = refund.failure_reason or str(
            stripe_refund.get("failure_reason") or "The card issuer could not take the refund"
        )
    if gateway is not None and new in RefundState.COUNTED:
        await _record_money_movements(session, gateway, refund, payment, stripe_refund)
    await settle_payment_status(session, payment_id=payment.id)
    await notify.refund_changed(session, refund=refund, payment=payment)
    if moved and new == RefundState.SUCCEEDED and refund.restock:
        await orders.release_stock(session, order_id=refund.order_id)
    return refund


async def _record_money_movements(
    session: AsyncSession,
    gateway: StripeGateway,
    refund: Refund,
    payment: Payment,
    stripe_refund: StripeDict,
) -> None:
    """Record the transfer reversal and application-fee refund Stripe actually made."""
    if refund.stripe_transfer_reversal_id is None:
        reversal = stripe_refund.get("transfer_reversal")
        if reversal is not None and not isinstance(reversal, dict):
            fetched = await gateway.retrieve_refund(
                stripe_refund["id"], expand=["transfer_reversal"], refund_id=refund.id
            )
            reversal = fetched.get("transfer_reversal")
        if isinstance(reversal, dict):
            refund.stripe_transfer_reversal_id = reversal["id"]
            refund.transfer_reversal_amount = int(reversal["amount"])
    if refund.stripe_fee_refund_id is None and payment.amount_platform_fee > 0:
        await _record_fee_refund(session, gateway, refund, payment, stripe_refund)


async def _record_fee_refund(
    session: AsyncSession,
    gateway: StripeGateway,
    refund: Refund,
    payment: Payment,
    stripe_refund: StripeDict,
) -> None:
    # Stripe links a fee refund to its application fee, not to the refund that caused it:
    # take the fee's refunds that no other refund of this payment has claimed (we hold the
    # payment's lock, so claims do not race) and pick the one of this refund's share.
    fee_id = payment.stripe_application_fee_id
    if not fee_id:
        charge_id = _id_of(stripe_refund.get("charge")) or payment.stripe_charge_id
        if not charge_id:
            return
        charge = await gateway.retrieve_charge(charge_id, refund_id=refund.id)
        fee_id = _id_of(charge.get("application_fee"))
        if not fee_id:
            return
        payment.stripe_application_fee_id = fee_id
    claimed = set(
        (
            await session.execute(
                select(Refund.stripe_fee_refund_id).where(
                    Refund.payment_id == payment.id, Refund.stripe_fee_refund_id.is_not(None)
                )
            )
        ).scalars()
    )
    listed = await gateway.list_fee_refunds(fee_id, refund_id=refund.id)
    free = [fr for fr in listed.get("data") or [] if fr["id"] not in claimed]
    if not free:
        return
    expected = proportional_share(refund.amount, payment.amount_total, payment.amount_platform_fee)
    best = min(free, key=lambda fr: (abs(int(fr["amount"]) - expected), fr["created"], fr["id"]))
    refund.stripe_fee_refund_id = best["id"]
    refund.application_fee_refund_amount = int(best["amount"])


async def settle_payment_status(session: AsyncSession, *, payment_id: int) -> Payment:
    """Payment and order follow the succeeded refunds: partially_refunded, then refunded."""
    payment = await session.get(Payment, payment_id)
    assert payment is not None
    refunded = (
        await session.execute(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment_id, Refund.status == RefundState.SUCCEEDED
            )
        )
    ).scalar_one()
    if refunded <= 0 or payment.status not in (*REFUNDABLE, PaymentState.REFUNDED):
        return payment
    new = (
        PaymentState.REFUNDED
        if refunded >= payment.amount_total
        else PaymentState.PARTIALLY_REFUNDED
    )
    if may_move(payment.status, new):
        payment.status = new
        if new == PaymentState.REFUNDED:
            payment.refunded_at = utcnow()
    order_state = (
        OrderPaymentStatus.REFUNDED
        if new == PaymentState.REFUNDED
        else OrderPaymentStatus.PARTIALLY_REFUNDED
    )
    before = (
        (OrderPaymentStatus.PAID, OrderPaymentStatus.PARTIALLY_REFUNDED)
        if order_state == OrderPaymentStatus.REFUNDED
        else (OrderPaymentStatus.PAID,)
    )
    await session.execute(
        update(Order)
        .where(Order.id == payment.order_id, Order.payment_status.in_(before))
        .values(payment_status=order_state, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return payment


async def refresh_refund(
    session: AsyncSession, gateway: StripeGateway, *, refund_id: int
) -> Refund:
    """Re-read a pending refund from Stripe (or submit it again if Stripe never answered)."""
    refund = await session.get(Refund, refund_id)
    if refund is None:
        raise NotFound(f"No refund with id {refund_id}")
    if refund.stripe_refund_id is None:
        return await submit_refund(session, gateway, refund_id=refund.id)
    stripe_refund = await gateway.retrieve_refund(
        refund.stripe_refund_id, expand=["transfer_reversal"], refund_id=refund.id
    )
    return await apply_stripe_refund(session, gateway, stripe_refund) or refund


async def list_refunds(
    session: AsyncSession,
    *,
    store_id: int,
    order_id: int | None = None,
    status: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Refund], bool]:
    """The store's refunds, newest first (one order's when `order_id` is given)."""
    if order_id is not None:
        await get_scoped(session, Order, store_id, order_id, what="order")
    query = scoped(Refund, store_id)
    if order_id is not None:
        query = query.where(Refund.order_id == order_id)
    if status is not None:
        query = query.where(Refund.status == status)
    query = (
        query.order_by(Refund.created_at.desc(), Refund.id.desc()).limit(limit + 1).offset(offset)
    )
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], len(rows) > limit
