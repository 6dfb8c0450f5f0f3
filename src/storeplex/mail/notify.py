"""The mails Storeplex sends when something happens to an order, a payment or a store.

Each function is called by the service that makes the change, in its session, and
writes its mail(s) into the outbox with a key naming the cause, so calling it twice
(a repeated webhook, a retried job) enqueues nothing new. Each reads what the mail
needs now, so the mail says what was true when it happened.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.mail.outbox import enqueue
from storeplex.models import (
    Dispute,
    Order,
    OrderItem,
    OrderPaymentStatus,
    OrderStatus,
    Payment,
    Payout,
    Refund,
    RefundState,
    Store,
    StorePaymentConfig,
)
from storeplex.words import requirement


def staff_wants(store: Store, kind: str) -> bool:
    """Whether the store still receives this staff mail (each can be turned off)."""
    return kind not in (store.staff_mails_off or "").split(",")


def _store_address(store: Store) -> list[str]:
    lines = [store.address_line1, store.address_line2]
    lines.append(" ".join(p for p in (store.postal_code, store.city) if p) or None)
    lines.append(store.country)
    return [line for line in lines if line]


def _shipping_address(order: Order) -> list[str]:
    lines = [order.shipping_name, order.shipping_line1, order.shipping_line2]
    lines.append(f"{order.shipping_postal_code} {order.shipping_city}")
    lines.append(order.shipping_country)
    return [line for line in lines if line]


def _day(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d") if value is not None else None


def _when(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else None


def _store_fields(store: Store, currency: str) -> dict[str, object]:
    return {
        "store_name": store.name,
        "store_email": store.business_email,
        "store_address": _store_address(store),
        "currency": currency,
        "locale": store.locale,
    }


def _order_fields(order: Order, store: Store) -> dict[str, object]:
    return {
        **_store_fields(store, order.currency),
        "order_id": order.id,
        "order_path": f"/s/{store.slug}/orders/{order.id}",
        "admin_path": f"/admin/orders/{order.id}",
        "number": order.number,
        "shipping_name": order.shipping_name,
        "shipping_address": _shipping_address(order),
        "customer_email": order.email,
        "total_amount": order.total_amount_cents,
    }


async def _lines(session: AsyncSession, order_id: int) -> list[dict[str, object]]:
    items = (
        await session.execute(
            select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id)
        )
    ).scalars()
    return [
        {
            "name": item.name,
            "quantity": item.quantity,
            "unit_price_amount": item.unit_price_amount,
            "line_total_amount": item.line_total_amount,
        }
        for item in items
    ]


async def _to_shopper(
    session: AsyncSession,
    store: Store,
    order: Order,
    kind: str,
    key: object,
    context: Mapping[str, object],
    *,
    delay_seconds: float = 0,
) -> None:
    """A mail about `order` to the shopper who placed it, keyed `<kind>:<key>`; its
    context is the order's fields plus `context`."""
    await enqueue(
        session,
        kind=kind,
        to=order.email,
        sender_name=store.name,
        context={**_order_fields(order, store), **context},
        store_id=store.id,
        dedupe_key=f"{kind}:{key}",
        delay_seconds=delay_seconds,
    )


async def _to_staff(
    session: AsyncSession, store: Store, kind: str, key: object, context: Mapping[str, object]
) -> None:
    """A mail to the store's staff address, keyed `<kind>:<key>`, unless the store turned
    this kind off. `context` should start from `_store_fields` or `_order_fields`."""
    if not staff_wants(store, kind):
        return
    await enqueue(
        session,
        kind=kind,
        to=store.business_email,
        sender_name=store.name,
        context=dict(context),
        store_id=store.id,
        dedupe_key=f"{kind}:{key}",
    )


async def order_paid(session: AsyncSession, *, order: Order, payment: Payment | None) -> None:
    """The shopper's confirmation with its receipt, and the store's new-order notice
    (`payment` None: a free order, paid without a card)."""
    if order.status == OrderStatus.CANCELED:
        return  # paid after it was canceled: it gets refunded, not confirmed
    store = await session.get_one(Store, order.store_id)
    lines = await _lines(session, order.id)
    receipt = {
        "lines": lines,
        "subtotal_amount": order.subtotal_amount,
        "shipping_amount": order.shipping_amount,
        "paid_on": _day(order.paid_at or (payment.paid_at if payment else None)),
        # Brand and last 4 only: never more of a card number.
        "card_brand": payment.card_brand if payment else None,
        "card_last4": payment.card_last4 if payment else None,
    }
    await _to_shopper(session, store, order, "order_confirmation", order.id, receipt)
    await _to_staff(
        session, store, "staff_new_order", order.id, {**_order_fields(order, store), "lines": lines}
    )


AWAITING_PAYMENT = (OrderPaymentStatus.PENDING, OrderPaymentStatus.FAILED)


def awaits_payment(order: Order) -> bool:
    """Whether the order can still be paid (neither paid nor canceled)."""
    return order.status != OrderStatus.CANCELED and order.payment_status in AWAITING_PAYMENT


async def payment_needs_action(
    session: AsyncSession, *, order: Order, delay_seconds: float = 0
) -> None:
    """The bank asked the shopper to authenticate (3-D Secure) and the payment is not
    finished: once per order, a link back to pay it. Sent after `delay_seconds`, and
    dropped at sending time if the order was paid or canceled meanwhile (see delivery)."""
    if not awaits_payment(order):
        return
    store = await session.get_one(Store, order.store_id)
    context = {
        "lines": await _lines(session, order.id),
        "pay_path": f"/s/{store.slug}/orders/{order.id}/pay",
    }
    await _to_shopper(
        session, store, order, "payment_needs_action", order.id, context,
        delay_seconds=delay_seconds,
    )  # fmt: skip


async def order_shipped(session: AsyncSession, *, order: Order) -> None:
    """The shopper's shipping notice, with the carrier and tracking link if given."""
    store = await session.get_one(Store, order.store_id)
    tracking = {
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
    }
    await _to_shopper(session, store, order, "order_shipped", order.id, tracking)


async def refund_changed(session: AsyncSession, *, refund: Refund, payment: Payment) -> None:
    """Once a refund has succeeded: the shopper hears the amount and what remains paid."""
    if refund.status != RefundState.SUCCEEDED:
        return
    order = await session.get_one(Order, refund.order_id)
    store = await session.get_one(Store, order.store_id)
    # Read from the database: the refund's own UPDATE bypassed the loaded payment.
    refunded = (
        await session.execute(select(Payment.amount_refunded).where(Payment.id == payment.id))
    ).scalar_one()
    amounts = {
        "amount": refund.amount,
        "refunded_amount": refunded,
        "total_amount": payment.amount_total,
        "remaining_amount": max(payment.amount_total - refunded, 0),
        "card_last4": payment.card_last4,
    }
    await _to_shopper(session, store, order, "order_refunded", refund.id, amounts)


async def dispute_opened(session: AsyncSession, *, dispute: Dispute) -> None:
    """The store hears of a dispute once, with the deadline for its evidence."""
    if dispute.outcome is not None:
        return
    order = await session.get_one(Order, dispute.order_id)
    store = await session.get_one(Store, dispute.store_id)
    context = {
        **_store_fields(store, dispute.currency),
        "number": order.number,
        "amount": dispute.amount,
        "reason": (dispute.reason or "unspecified").replace("_", " "),
        "evidence_due_by": _when(dispute.evidence_due_by),
        "admin_path": f"/admin/payments/{dispute.payment_id}",
    }
    await _to_staff(session, store, "dispute_opened", dispute.id, context)


async def payout_changed(session: AsyncSession, *, payout: Payout) -> None:
    """The store hears when a payout is paid or has failed."""
    if payout.status not in ("paid", "failed"):
        return
    store = await session.get_one(Store, payout.store_id)
    context = {
        **_store_fields(store, payout.currency),
        "amount": payout.amount,
        "arrival_date": _day(payout.arrival_date),
        "failure_message": payout.failure_message,
        "admin_path": "/admin/payments/settings",
    }
    await _to_staff(session, store, f"payout_{payout.status}", payout.id, context)


async def account_needs_information(session: AsyncSession, *, config: StorePaymentConfig) -> None:
    """The store hears once per new list of what Stripe asks for."""
    requirements = sorted(json.loads(config.requirements_due or "[]"))
    if not requirements or not config.details_submitted:
        return  # before onboarding is finished, the onboarding page asks for it
    store = await session.get_one(Store, config.store_id)
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    context = {
        **_store_fields(store, store.currency),
        # In words (storeplex.words); the raw codes only for a details line.
        "requirements": list(dict.fromkeys(requirement(r).sentence for r in requirements)),
        "requirement_codes": requirements,
        "admin_path": "/admin/payments/settings",
    }
    await _to_staff(session, store, "account_needs_information", f"{store.id}:{digest}", context)
