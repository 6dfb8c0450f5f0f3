"""Stopping payments: cancelling an order, and a store's open PaymentIntents when it is suspended.

The rule a newcomer must know: Stripe is asked first, and what Stripe then says
decides. An order is canceled (and its stock released) only once its PaymentIntent
is canceled at Stripe; if the shopper paid in between, Stripe refuses the cancel,
the intent is read back and applied, and the order stays paid (the staff are told
so, and may refund it). So an order is never canceled and paid at once, and stock
is never released for an order whose money arrived.

The order row is locked before Stripe is called, in the same order create-intent
and the payment webhook take it (order, then payment), so no new intent can be made
for the order meanwhile and a concurrent webhook waits for the outcome.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select

from storeplex.errors import Conflict
from storeplex.models import Order, OrderStatus, Payment, PaymentState
from storeplex.orders import service as orders
from storeplex.payments.service import PaymentService
from storeplex.stripe.gateway import StripeCallError, StripeDict
from storeplex.stripe.ids import idempotency_key
from storeplex.tenancy import scoped

log = logging.getLogger("storeplex.payments.cancel")

# Payments whose intent may still be paid: these are cancelled at Stripe (a processing one
# cannot be, and says so).
OPEN = (PaymentState.PENDING, PaymentState.FAILED, PaymentState.PROCESSING)
# Stripe did not answer, or not about this intent: nothing can be decided.
UNDECIDED = (
    "payment_provider_unavailable",
    "payment_provider_misconfigured",
    "idempotency_conflict",
)


class PaymentInProgress(Conflict):
    code = "payment_processing"


@dataclass
class CancelResult:
    order: Order
    # The shopper paid while the order was being canceled: it is paid, not canceled.
    paid_meanwhile: bool = False

    def paid_message(self) -> str:
        return (
            f"Order #{self.order.number} was paid by the shopper while you were canceling it, "
            "so it was not canceled: it is paid and waiting to be shipped. Refund it if the "
            "shopper should get the money back."
        )


@dataclass
class StoreCancelResult:
    canceled_orders: list[int] = field(default_factory=list)
    paid_meanwhile: list[int] = field(default_factory=list)


async def _cancel_at_stripe(service: PaymentService, payment: Payment) -> StripeDict:
    """Cancel the payment's intent at Stripe; the intent as Stripe has it afterwards.

    Stripe refuses to cancel an intent that succeeded, is processing or was already
    canceled; then the intent is read back, and its status says what happened.
    Stripe being unreachable is raised (nothing is decided without its answer).
    """
    try:
        return await service.stripe.cancel_payment_intent(
            payment.stripe_payment_intent_id,
            idempotency_key=idempotency_key("payment", payment.id, payment.created_at, "cancel"),
            order_id=payment.order_id,
        )
    except StripeCallError as exc:
        if exc.code in UNDECIDED:
            raise
        log.info("cancel of intent %s refused (%s); reading it", payment.id, exc.stripe_code)
        return await service.stripe.retrieve_payment_intent(
            payment.stripe_payment_intent_id, expand=["latest_charge"], order_id=payment.order_id
        )


async def _lock_order(service: PaymentService, *, store_id: int, order_id: int) -> Order | None:
    query = (
        scoped(Order, store_id)
        .where(Order.id == order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await service.db.execute(query)).scalar_one_or_none()


async def _open_payment(service: PaymentService, order_id: int) -> Payment | None:
    query = (
        select(Payment)
        .where(Payment.order_id == order_id, Payment.status.in_(OPEN))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await service.db.execute(query)).scalar_one_or_none()


async def _stop_payment(service: PaymentService, order: Order, payment: Payment) -> bool:
    """Cancel the intent and apply what Stripe says; True if the order got paid meanwhile."""
    intent = await _cancel_at_stripe(service, payment)
    status = intent.get("status")
    if status == "processing":
        raise PaymentInProgress(
            f"The payment of order #{order.number} is being processed by the shopper's bank, "
            "so the order cannot be canceled now. Try again in a few minutes."
        )
    if status not in ("canceled", "succeeded"):
        raise Conflict(
            f"The payment of order #{order.number} could not be stopped (it is {status}); "
            "nothing was changed. Try again in a moment."
        )
    await service.apply_payment_intent(intent)
    return status == "succeeded"


async def cancel_order(service: PaymentService, *, store_id: int, order_id: int) -> CancelResult:
    """Cancel an unpaid order: its PaymentIntent at Stripe first, then the order and its stock.

    If the intent succeeded in between, the order is marked paid and left as it is
    (`paid_meanwhile`); the caller commits that and tells the staff.
    """
    order = await _lock_order(service, store_id=store_id, order_id=order_id)
    if order is not None and order.status == OrderStatus.PENDING:
        payment = await _open_payment(service, order.id)
        if payment is not None and await _stop_payment(service, order, payment):
            paid = await orders.get_order(service.db, store_id=store_id, order_id=order_id)
            return CancelResult(order=paid, paid_meanwhile=True)
    # The order itself (also: not found, already canceled, paid, shipped → its own answer).
    return CancelResult(
        order=await orders.cancel_order(service.db, store_id=store_id, order_id=order_id)
    )


async def cancel_open_payments(service: PaymentService, *, store_id: int) -> StoreCancelResult:
    """Cancel at Stripe every PaymentIntent of the store a shopper could still pay (suspension).

    Each pending order of the store is locked first, so an intent being created right
    now is either committed before we look (and canceled) or refused afterwards.
    Orders whose intent is canceled are canceled with their stock released; one the
    shopper paid meanwhile stays paid and is reported.
    """
    result = StoreCancelResult()
    pending = (
        await service.db.execute(
            scoped(Order, store_id)
            .where(Order.status == OrderStatus.PENDING)
            .order_by(Order.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalars()
    for order in list(pending):
        payment = await _open_payment(service, order.id)
        if payment is None:
            continue
        if await _stop_payment(service, order, payment):
            result.paid_meanwhile.append(order.number)
        else:
            result.canceled_orders.append(order.number)
    if result.paid_meanwhile:
        log.warning(
            "store %s suspended; orders %s were paid while their payments were canceled",
            store_id,
            result.paid_meanwhile,
        )
    return result
