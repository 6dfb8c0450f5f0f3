"""Store staff refund orders and list refunds. The store is the one in the credential.

POST commits twice on purpose: the reservation (a pending refund holding its amount
on the payment) is committed before Stripe is called, so concurrent requests can
never refund more than was paid; the request's own commit then records Stripe's
answer. A refusal by Stripe is committed as a failed refund before the error is
answered.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from storeplex.auth.deps import CurrentStaff
from storeplex.deps import SessionDep
from storeplex.payments.deps import GatewayDep
from storeplex.refunds import service
from storeplex.refunds.schemas import RefundIn, RefundList, RefundOut, refund_out
from storeplex.stripe.gateway import StripeCallError

router = APIRouter(prefix="/api/v1/store", tags=["store-refunds"])

OrderId = Annotated[int, Path(ge=1, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
RefundStatus = Literal["pending", "succeeded", "failed", "canceled"]


@router.post("/orders/{order_id}/refunds", response_model=RefundOut, status_code=201)
async def create_refund(
    order_id: OrderId,
    body: RefundIn,
    staff: CurrentStaff,
    session: SessionDep,
    gateway: GatewayDep,
) -> RefundOut:
    """Refund the order fully (no amount) or partly; never more than what is left."""
    refund = await service.reserve_refund(
        session,
        store_id=staff.store_id,
        order_id=order_id,
        amount=body.amount,
        reason=body.reason,
        note=body.note,
        restock=body.restock,
        staff_user_id=staff.staff_user_id,
        token_id=staff.token_id,
    )
    refund_id = refund.id
    await session.commit()  # the reservation stands before any money moves
    try:
        refund = await service.submit_refund(session, gateway, refund_id=refund_id)
    except StripeCallError as exc:
        await session.commit()  # keep the failed (or still pending) refund on record
        if exc.status_code == 503:
            exc.message = f"{exc.message} The refund is recorded as pending and will be retried."
        raise
    return refund_out(refund)


@router.get("/orders/{order_id}/refunds", response_model=RefundList)
async def list_order_refunds(
    order_id: OrderId,
    staff: CurrentStaff,
    session: SessionDep,
    limit: Limit = 20,
    offset: Offset = 0,
) -> RefundList:
    """One order's refunds, newest first."""
    rows, has_more = await service.list_refunds(
        session, store_id=staff.store_id, order_id=order_id, limit=limit, offset=offset
    )
    return RefundList(data=[refund_out(r) for r in rows], has_more=has_more)


@router.get("/refunds", response_model=RefundList)
async def list_refunds(
    staff: CurrentStaff,
    session: SessionDep,
    status: RefundStatus | None = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> RefundList:
    """The store's refunds, newest first."""
    rows, has_more = await service.list_refunds(
        session, store_id=staff.store_id, status=status, limit=limit, offset=offset
    )
    return RefundList(data=[refund_out(r) for r in rows], has_more=has_more)
