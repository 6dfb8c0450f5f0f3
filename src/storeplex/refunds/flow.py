"""The one refund sequence the API and the store admin page both run.

It commits twice on purpose: the reservation (a pending refund holding its amount on the
payment) is committed before Stripe is called, so concurrent requests can never refund
more than was paid; the caller's own commit then records Stripe's answer. A refusal by
Stripe is committed as a failed refund before the StripeCallError goes up. A refusal
before Stripe (a bad amount, an open dispute, ...) raises the service's StoreplexError
with nothing written (the reservation runs in a savepoint).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.models import Payment, Refund, RefundState, StorePaymentConfig
from storeplex.money import proportional_share
from storeplex.refunds import service
from storeplex.stripe.gateway import StripeCallError, StripeGateway


async def refund_order(
    session: AsyncSession,
    gateway: StripeGateway,
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
    """Reserve, commit, submit to Stripe; the refund as Stripe left it."""
    async with session.begin_nested():
        reserved = await service.reserve_refund(
            session,
            store_id=store_id,
            order_id=order_id,
            amount=amount,
            reason=reason,
            note=note,
            restock=restock,
            staff_user_id=staff_user_id,
            token_id=token_id,
        )
    refund_id = reserved.id
    await session.commit()  # the reservation stands before any money moves
    try:
        return await service.submit_refund(session, gateway, refund_id=refund_id)
    except StripeCallError as exc:
        await session.commit()  # keep the failed (or still pending) refund on record
        if exc.status_code == 503:
            exc.message = f"{exc.message} The refund is recorded as pending and will be retried."
        raise


def store_share_taken(
    amount: int,
    payment: Payment,
    config: StorePaymentConfig | None,
    *,
    earlier: list[Refund],
) -> int:
    """How much a refund of `amount` takes from the store's share, as Stripe will do it.

    A destination charge transfers the whole amount to the store and collects the platform
    fee from it. A refund reverses that transfer and refunds the fee, each in proportion
    (rounded half up), and the refund that completes the payment takes whatever is left
    (`earlier`: the payment's refunds so far). The store loses the reversal less the fee
    given back; with the store's flags off, that part is 0."""
    reverse = config is None or config.reverse_transfer_on_refund
    fee_back = config is None or config.refund_application_fee
    done = [r for r in earlier if r.status in (RefundState.SUCCEEDED, RefundState.PENDING)]
    completes = amount >= payment.amount_total - payment.amount_refunded
    total, fee = payment.amount_total, payment.amount_platform_fee
    if completes:
        reversal = total - sum(r.transfer_reversal_amount for r in done)
        fee_refund = fee - sum(r.application_fee_refund_amount for r in done)
    else:
        reversal = proportional_share(amount, total, total)
        fee_refund = proportional_share(amount, total, fee)
    return (reversal if reverse else 0) - (fee_refund if fee_back else 0)


def store_share_now(payment: Payment, refunds: list[Refund]) -> int:
    """The store's share of the payment after its succeeded refunds, as Stripe moved it."""
    taken = sum(
        r.transfer_reversal_amount - r.application_fee_refund_amount
        for r in refunds
        if r.status == RefundState.SUCCEEDED
    )
    return payment.amount_store - taken
