"""Store staff refund orders and list refunds. The store is the one in the credential.

POST runs `refunds.flow.refund_order`, the same sequence as the store admin's refund
page: it commits twice on purpose (the reservation before Stripe is called, so concurrent
requests can never refund more than was paid; a refusal by Stripe as a failed refund
before the error is answered).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from storeplex.auth.deps import CurrentStaff
from storeplex.deps import SessionDep
from storeplex.payments.deps import GatewayDep
from storeplex.refunds import service
from storeplex.refunds.flow import refund_order
from storeplex.refunds.schemas import RefundIn, RefundList, RefundOut, refund_out

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
    refund = await refund_order(
        session,
        gateway,
        store_id=staff.store_id,
        order_id=order_id,
        amount=body.amount,
        reason=body.reason,
        note=body.note,
        restock=body.restock,
        staff_user_id=staff.staff_user_id,
        token_id=staff.token_id,
    )
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
