"""Order state changes and queries. Other domains (payments, refunds, jobs) call these.

Rule: every state change is one conditional UPDATE (compare-and-set on the
current state), so concurrent callers cannot both win, and states only move
forward: pending → processing → shipped → completed, or pending → canceled;
payment_status never goes back from paid to pending or failed. Reserved stock
goes back to the catalog exactly once, guarded by `orders.stock_released`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.secrets import digests_match
from storeplex.errors import BadRequest, Conflict, NotFound
from storeplex.mail import notify
from storeplex.mail.render import order_id_of_key
from storeplex.models import (
    Customer,
    Order,
    OrderItem,
    OrderPaymentStatus,
    OrderStatus,
    Product,
    utcnow,
)
from storeplex.models.predicates import SHIPPABLE_PAYMENT, lost_to_dispute
from storeplex.tenancy import get_scoped, scoped

log = logging.getLogger("storeplex.orders")

UNPAID = (OrderPaymentStatus.PENDING, OrderPaymentStatus.FAILED)

# target status → the status an order must be in to move there.
FULFILMENT_STEPS: dict[str, str] = {
    OrderStatus.PROCESSING: OrderStatus.PENDING,
    OrderStatus.SHIPPED: OrderStatus.PROCESSING,
    OrderStatus.COMPLETED: OrderStatus.SHIPPED,
}

NEXT_STEP_HELP: dict[str, str] = {
    OrderStatus.PENDING: "it can move to processing once it is paid, or be canceled while unpaid",
    OrderStatus.PROCESSING: "it can move to shipped",
    OrderStatus.SHIPPED: "it can move to completed",
    OrderStatus.COMPLETED: "it is final",
    OrderStatus.CANCELED: "it is final",
}


class ClosedReason:
    """Why a paid order left fulfilment without being shipped: the money went back."""

    REFUNDED = "refunded"
    LOST_TO_DISPUTE = "lost_to_dispute"
    TEXT = {
        REFUNDED: "refunded in full, nothing to ship",
        LOST_TO_DISPUTE: "lost to a dispute (the bank gave the money back), nothing to ship",
    }


async def closed_reasons(session: AsyncSession, orders: list[Order]) -> dict[int, str]:
    """For the given orders, why those still in processing left fulfilment (see ClosedReason)."""
    reasons = {
        o.id: ClosedReason.REFUNDED
        for o in orders
        if o.status == OrderStatus.PROCESSING and o.payment_status == OrderPaymentStatus.REFUNDED
    }
    candidates = [
        o.id for o in orders if o.status == OrderStatus.PROCESSING and o.id not in reasons
    ]
    if candidates:
        lost = await session.execute(
            select(Order.id).where(Order.id.in_(candidates), lost_to_dispute())
        )
        reasons.update({order_id: ClosedReason.LOST_TO_DISPUTE for order_id in lost.scalars()})
    return reasons


async def _reload(session: AsyncSession, order_id: int) -> Order:
    """The order as the database has it now (after a Core UPDATE bypassed the ORM)."""
    query = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
    return (await session.execute(query)).scalar_one()


async def _locate(session: AsyncSession, order_id: int, store_id: int | None) -> Order:
    if store_id is not None:
        return await get_scoped(session, Order, store_id, order_id, what="order")
    order = (await session.execute(select(Order).where(Order.id == order_id))).scalar_one_or_none()
    if order is None:
        raise NotFound(f"No order with id {order_id}")
    return order


async def get_order(session: AsyncSession, *, store_id: int, order_id: int) -> Order:
    """One order of the store, or 404."""
    return await get_scoped(session, Order, store_id, order_id, what="order")


async def get_order_items(session: AsyncSession, *, order_id: int) -> list[OrderItem]:
    """The order's items in the order they were added."""
    query = select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id)
    return list((await session.execute(query)).scalars())


def opens_order(order: Order, token: str | None, key_secret: str | None) -> bool:
    """Whether `token` is the order's access token, or (given the signing secret) the
    signed key of the shopper's mails for this order, which opens it from any device."""
    if not token:
        return False
    if digests_match(token, order.access_token_hash):
        return True
    return key_secret is not None and order_id_of_key(key_secret, token) == order.id


async def order_for_shopper(
    session: AsyncSession,
    *,
    store_id: int,
    order_id: int,
    token: str | None,
    key_secret: str | None = None,
) -> Order:
    """The order if `token` opens it (see `opens_order`); otherwise 404, so existence is
    not revealed."""
    order = (
        await session.execute(scoped(Order, store_id).where(Order.id == order_id))
    ).scalar_one_or_none()
    if order is None or not opens_order(order, token, key_secret):
        raise NotFound(f"No order with id {order_id}")
    return order


SEARCH_MAX_LENGTH = 100
# Name and partial-email search reads at most this many of the store's newest orders, so
# its cost is bounded whatever the store's size; order numbers and whole emails use indexes
# and find any order.
SEARCH_SCAN_LIMIT = 10_000


def check_search(q: str | None) -> str | None:
    """The search text, trimmed; refused when too long."""
    if q is None or not q.strip():
        return None
    q = q.strip()
    if len(q) > SEARCH_MAX_LENGTH:
        raise BadRequest(f"Search for at most {SEARCH_MAX_LENGTH} characters", field="q")
    return q


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def search_condition(store_id: int, q: str) -> ColumnElement[bool]:
    """Orders matching `q`: its number ("42" or "#42", unique index), the shopper's whole
    email (the customers' (store, email) index), or part of the name or email among the
    store's newest SEARCH_SCAN_LIMIT orders."""
    q = q.strip()[:SEARCH_MAX_LENGTH]
    number = q.removeprefix("#").strip()
    pattern = _like(q)
    newest = (
        select(Order.id)
        .where(Order.store_id == store_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(SEARCH_SCAN_LIMIT)
        .scalar_subquery()
    )
    recent = (
        select(Order.id)
        .where(Order.store_id == store_id, Order.id.in_(newest))
        .where(
            or_(
                func.lower(Order.shipping_name).like(pattern, escape="\\"),
                Order.email.like(pattern, escape="\\"),
            )
        )
    )
    conditions: list[ColumnElement[bool]] = [Order.id.in_(recent)]
    if number.isdigit() and len(number) <= 9:
        conditions.append(Order.number == int(number))
    if "@" in q:
        conditions.append(
            Order.customer_id.in_(
                select(Customer.id).where(
                    Customer.store_id == store_id, Customer.email == q.lower()
                )
            )
        )
    return or_(*conditions)


async def list_orders(
    session: AsyncSession,
    *,
    store_id: int,
    status: str | None = None,
    payment_status: str | None = None,
    q: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Order], bool]:
    """The store's orders, newest first, and whether more follow this page; `q` searches
    (see `search_condition`)."""
    query = scoped(Order, store_id)
    if status is not None:
        query = query.where(Order.status == status)
    if payment_status is not None:
        query = query.where(Order.payment_status == payment_status)
    if q is not None and q.strip():
        query = query.where(search_condition(store_id, q))
    query = query.order_by(Order.created_at.desc(), Order.id.desc()).limit(limit + 1).offset(offset)
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], len(rows) > limit


async def orders_of_customer(
    session: AsyncSession, *, store_id: int, customer_id: int, limit: int = 50
) -> list[Order]:
    """A shopper's orders in one store, newest first (their account's order history)."""
    query = (
        scoped(Order, store_id)
        .where(Order.customer_id == customer_id)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


def mark_order_paid(order: Order, *, paid_at: datetime) -> bool:
    """payment_status → paid and status pending → processing; a repeat call changes nothing.
    The caller holds the order's row lock; the change is written with the caller's flush.

    A refunded or already-paid order is left as it is (forward only). If the order
    was canceled before the money arrived it stays canceled with payment_status
    paid, and a warning is logged: the caller must refund it.
    """
    if order.payment_status not in UNPAID:
        return False
    order.payment_status = OrderPaymentStatus.PAID
    order.paid_at = paid_at
    if order.status == OrderStatus.PENDING:
        order.status = OrderStatus.PROCESSING
    elif order.status == OrderStatus.CANCELED:
        log.warning("order %s was paid after it was canceled; it needs a refund", order.id)
    return True


async def mark_order_payment_failed(
    session: AsyncSession, *, order_id: int, store_id: int | None = None
) -> Order:
    """payment_status pending → failed; never touches a paid or refunded order.

    A failed attempt is not final: the shopper may retry, and `mark_order_paid`
    still moves a failed order to paid.
    """
    order = await _locate(session, order_id, store_id)
    await session.execute(
        update(Order)
        .where(Order.id == order.id, Order.payment_status == OrderPaymentStatus.PENDING)
        .values(payment_status=OrderPaymentStatus.FAILED, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return await _reload(session, order.id)


async def release_stock(session: AsyncSession, *, order_id: int) -> bool:
    """Give the order's reserved stock back to the catalog, once; True if this call did it."""
    store_id = (
        await session.execute(
            update(Order)
            .where(Order.id == order_id, Order.stock_released.is_(False))
            .values(stock_released=True, updated_at=utcnow())
            .returning(Order.store_id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    if store_id is None:
        return False
    quantities: dict[int, int] = defaultdict(int)
    for item in await get_order_items(session, order_id=order_id):
        if item.product_id is not None:
            quantities[item.product_id] += item.quantity
    # Product id order: the same lock order as checkout, so the two cannot deadlock.
    for product_id in sorted(quantities):
        await session.execute(
            update(Product)
            .where(Product.id == product_id, Product.store_id == store_id)
            .values(stock=Product.stock + quantities[product_id])
            .execution_options(synchronize_session=False)
        )
    return True


async def cancel_order(session: AsyncSession, *, store_id: int, order_id: int) -> Order:
    """Cancel a pending, unpaid order and release its stock; canceling twice is harmless.

    A paid order is a 409: it must be refunded instead.
    """
    order = await get_scoped(session, Order, store_id, order_id, what="order")
    changed = (
        await session.execute(
            update(Order)
            .where(
                Order.id == order.id,
                Order.status == OrderStatus.PENDING,
                Order.payment_status.in_(UNPAID),
            )
            .values(status=OrderStatus.CANCELED, canceled_at=utcnow(), updated_at=utcnow())
            .returning(Order.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    order = await _reload(session, order.id)
    if changed is None and order.status != OrderStatus.CANCELED:
        if order.payment_status not in UNPAID:
            raise Conflict(
                f"Order #{order.number} is {order.payment_status.replace('_', ' ')}; "
                "refund it instead of canceling it",
                code="order_paid",
            )
        raise Conflict(
            f"Order #{order.number} is {order.status}; only pending orders can be canceled",
            code="invalid_transition",
        )
    if order.status == OrderStatus.CANCELED:
        await release_stock(session, order_id=order.id)
        order = await _reload(session, order.id)
    return order


def check_tracking_url(value: str | None) -> str | None:
    """A tracking link shown to shoppers must be an http(s) URL; anything else is a 400."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or " " in value:
        raise BadRequest(
            "The tracking URL must be an http:// or https:// address, "
            "for example https://carrier.example/track/123",
            field="tracking_url",
        )
    return value


async def set_fulfilment_status(
    session: AsyncSession,
    *,
    store_id: int,
    order_id: int,
    status: str,
    carrier: str | None = None,
    tracking_number: str | None = None,
    tracking_url: str | None = None,
) -> Order:
    """Move an order one step forward (processing, shipped, completed) or answer 409 saying why.

    Shipping may carry the carrier, tracking number and tracking URL; the shopper is
    told by mail, in the same transaction.
    """
    tracking_url = check_tracking_url(tracking_url)
    order = await get_scoped(session, Order, store_id, order_id, what="order")
    required = FULFILMENT_STEPS.get(status)
    if required is None:
        raise Conflict(f"Orders cannot be moved to {status!r} here", field="status")
    values: dict[str, object] = {"status": status, "updated_at": utcnow()}
    if status == OrderStatus.SHIPPED:
        values["shipped_at"] = utcnow()
        values["carrier"] = (carrier or "").strip()[:100] or None
        values["tracking_number"] = (tracking_number or "").strip()[:100] or None
        values["tracking_url"] = tracking_url
    elif status == OrderStatus.COMPLETED:
        values["completed_at"] = utcnow()
    conditions = [Order.id == order.id, Order.status == required]
    if status in (OrderStatus.PROCESSING, OrderStatus.SHIPPED):
        conditions.append(Order.payment_status.in_(SHIPPABLE_PAYMENT))
        conditions.append(~lost_to_dispute())
    changed = (
        await session.execute(
            update(Order)
            .where(*conditions)
            .values(**values)
            .returning(Order.id)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()
    order = await _reload(session, order.id)
    if changed is None:
        closed = (await closed_reasons(session, [order])).get(order.id)
        if closed is not None and order.status == required:
            raise Conflict(
                f"Order #{order.number} was {ClosedReason.TEXT[closed]}",
                field="status",
                code="invalid_transition",
            )
        if order.status == required and order.payment_status not in SHIPPABLE_PAYMENT:
            raise Conflict(
                f"Order #{order.number} is {order.status} and its payment is "
                f"{order.payment_status.replace('_', ' ')}; it can move to {status} "
                "only once it is paid",
                field="status",
                code="invalid_transition",
            )
        raise Conflict(
            f"Order #{order.number} is {order.status}; {NEXT_STEP_HELP[order.status]}",
            field="status",
            code="invalid_transition",
        )
    if status == OrderStatus.SHIPPED:
        await notify.order_shipped(session, order=order)
    return order
