"""Conditions over orders that more than one part asks (the orders list, the dashboard
pages and the API's dashboard): an order still to ship, an order lost to a dispute."""

from __future__ import annotations

from sqlalchemy import ColumnElement, select

from storeplex.models.order import Order, OrderPaymentStatus, OrderStatus
from storeplex.models.refund import Dispute, DisputeOutcome

SHIPPABLE_PAYMENT = (OrderPaymentStatus.PAID, OrderPaymentStatus.PARTIALLY_REFUNDED)


def lost_to_dispute() -> ColumnElement[bool]:
    """For a query over orders: the order has a dispute that was lost."""
    return (
        select(Dispute.id)
        .where(
            Dispute.order_id == Order.id,
            (Dispute.outcome == DisputeOutcome.LOST) | (Dispute.status == "lost"),
        )
        .exists()
    )


def awaiting_fulfilment() -> ColumnElement[bool]:
    """For a query over orders: the store still has to ship it (paid, not given back)."""
    return (
        (Order.status == OrderStatus.PROCESSING)
        & Order.payment_status.in_(SHIPPABLE_PAYMENT)
        & ~lost_to_dispute()
    )
