"""Store staff list and view orders and move them through fulfilment.

The store is the one in the staff credential; another store's order ids are 404.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from storeplex.auth.deps import CurrentStaff
from storeplex.deps import SessionDep
from storeplex.errors import Conflict
from storeplex.orders import service
from storeplex.orders.schemas import (
    FulfilmentStatusIn,
    OrderList,
    StaffOrderOut,
    staff_order_out,
    staff_order_summary,
)
from storeplex.payments.cancel import cancel_order
from storeplex.payments.deps import PaymentServiceDep

router = APIRouter(prefix="/api/v1/store/orders", tags=["store-orders"])

OrderId = Annotated[int, Path(ge=1, le=2**62)]
StatusFilter = Literal["pending", "processing", "shipped", "completed", "canceled"]
PaymentFilter = Literal["pending", "paid", "failed", "partially_refunded", "refunded"]


@router.get("", response_model=OrderList)
async def list_orders(
    staff: CurrentStaff,
    session: SessionDep,
    status: StatusFilter | None = None,
    payment_status: PaymentFilter | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=service.SEARCH_MAX_LENGTH,
            description="An order number (42 or #42), the shopper's email, or part of the "
            "name or email",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderList:
    """The store's orders, newest first."""
    rows, has_more = await service.list_orders(
        session,
        store_id=staff.store_id,
        status=status,
        payment_status=payment_status,
        q=service.check_search(q),
        limit=limit,
        offset=offset,
    )
    closed = await service.closed_reasons(session, rows)
    return OrderList(
        data=[staff_order_summary(o, closed.get(o.id)) for o in rows], has_more=has_more
    )


@router.get("/{order_id}", response_model=StaffOrderOut)
async def get_order(order_id: OrderId, staff: CurrentStaff, session: SessionDep) -> StaffOrderOut:
    order = await service.get_order(session, store_id=staff.store_id, order_id=order_id)
    items = await service.get_order_items(session, order_id=order.id)
    closed = await service.closed_reasons(session, [order])
    return staff_order_out(order, items, closed.get(order.id))


@router.post("/{order_id}/status", response_model=StaffOrderOut)
async def set_status(
    order_id: OrderId, body: FulfilmentStatusIn, staff: CurrentStaff, session: SessionDep
) -> StaffOrderOut:
    """Move the order one step: processing (once paid), shipped (with the carrier and
    tracking number, which the shopper receives by mail), completed."""
    order = await service.set_fulfilment_status(
        session,
        store_id=staff.store_id,
        order_id=order_id,
        status=body.status,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        tracking_url=body.tracking_url,
    )
    items = await service.get_order_items(session, order_id=order.id)
    return staff_order_out(order, items)


@router.post("/{order_id}/cancel", response_model=StaffOrderOut)
async def cancel(
    order_id: OrderId, staff: CurrentStaff, session: SessionDep, payments: PaymentServiceDep
) -> StaffOrderOut:
    """Cancel an unpaid order: its payment at Stripe first, then the order and its stock.

    A paid order must be refunded instead (409). If the shopper paid while it was being
    canceled, the order is recorded as paid and not canceled, and the answer is a 409
    that says so."""
    result = await cancel_order(payments, store_id=staff.store_id, order_id=order_id)
    if result.paid_meanwhile:
        await session.commit()  # keep the payment that arrived; the refusal tells the staff
        raise Conflict(result.paid_message(), code="order_paid")
    items = await service.get_order_items(session, order_id=result.order.id)
    return staff_order_out(result.order, items)
