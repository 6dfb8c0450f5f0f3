"""The mails Storeplex sends when something happens to an order, a payment or a store.

Each function is called by the service that makes the change, in its session, and
writes its mail(s) into the outbox with a key naming the cause, so calling it twice
(a repeated webhook, a retried job) enqueues nothing new. Each reads what the mail
needs now, so the mail says what was true when it happened.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.mail.outbox import enqueue
from storeplex.models import (
    Dispute,
    Order,
    OrderItem,
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


async def order_paid(session: AsyncSession, *, order: Order, payment: Payment) -> None:
    """The shopper's confirmation with its receipt, and the store's new-order notice."""
    if order.status == OrderStatus.CANCELED:
        return  # paid after it was canceled: it gets refunded, not confirmed
    store = await session.get_one(Store, order.store_id)
    lines = await _lines(session, order.id)
    receipt = {
        **_order_fields(order, store),
        "lines": lines,
        "subtotal_amount": order.subtotal_amount,
        "shipping_amount": order.shipping_amount,
        "paid_on": _day(order.paid_at or payment.paid_at),
        # Brand and last 4 only: never more of a card number.
        "card_brand": payment.card_brand,
        "card_last4": payment.card_last4,
    }
    await enqueue(
        session,
        kind="order_confirmation",
        to=order.email,
        sender_name=store.name,
        context=receipt,
        store_id=store.id,
        dedupe_key=f"order_confirmation:{order.id}",
    )
    if not staff_wants(store, "staff_new_order"):
        return
    await enqueue(
        session,
        kind="staff_new_order",
        to=store.business_email,
        sender_name=store.name,
        context={**_order_fields(order, store), "lines": lines},
        store_id=store.id,
        dedupe_key=f"staff_new_order:{order.id}",
    )


async def order_shipped(session: AsyncSession, *, order: Order) -> None:
    """The shopper's shipping notice, with the carrier and tracking link if given."""
    store = await session.get_one(Store, order.store_id)
    await enqueue(
        session,
        kind="order_shipped",
        to=order.email,
        sender_name=store.name,
        context={
            **_order_fields(order, store),
            "carrier": order.carrier,
            "tracking_number": order.tracking_number,
            "tracking_url": order.tracking_url,
        },
        store_id=store.id,
        dedupe_key=f"order_shipped:{order.id}",
    )


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
    await enqueue(
        session,
        kind="order_refunded",
        to=order.email,
        sender_name=store.name,
        context={
            **_order_fields(order, store),
            "amount": refund.amount,
            "refunded_amount": refunded,
            "total_amount": payment.amount_total,
            "remaining_amount": max(payment.amount_total - refunded, 0),
            "card_last4": payment.card_last4,
        },
        store_id=store.id,
        dedupe_key=f"order_refunded:{refund.id}",
    )


async def dispute_opened(session: AsyncSession, *, dispute: Dispute) -> None:
    """The store hears of a dispute once, with the deadline for its evidence."""
    if dispute.outcome is not None:
        return
    order = await session.get_one(Order, dispute.order_id)
    store = await session.get_one(Store, dispute.store_id)
    if not staff_wants(store, "dispute_opened"):
        return
    await enqueue(
        session,
        kind="dispute_opened",
        to=store.business_email,
        sender_name=store.name,
        context={
            **_store_fields(store, dispute.currency),
            "number": order.number,
            "amount": dispute.amount,
            "reason": (dispute.reason or "unspecified").replace("_", " "),
            "evidence_due_by": _when(dispute.evidence_due_by),
            "admin_path": f"/admin/payments/{dispute.payment_id}",
        },
        store_id=store.id,
        dedupe_key=f"dispute_opened:{dispute.id}",
    )


async def payout_changed(session: AsyncSession, *, payout: Payout) -> None:
    """The store hears when a payout is paid or has failed."""
    if payout.status not in ("paid", "failed"):
        return
    store = await session.get_one(Store, payout.store_id)
    if not staff_wants(store, f"payout_{payout.status}"):
        return
    await enqueue(
        session,
        kind=f"payout_{payout.status}",
        to=store.business_email,
        sender_name=store.name,
        context={
            **_store_fields(store, payout.currency),
            "amount": payout.amount,
            "arrival_date": _day(payout.arrival_date),
            "failure_message": payout.failure_message,
            "admin_path": "/admin/payments/settings",
        },
        store_id=store.id,
        dedupe_key=f"payout_{payout.status}:{payout.id}",
    )


async def account_needs_information(session: AsyncSession, *, config: StorePaymentConfig) -> None:
    """The store hears once per new list of what Stripe asks for."""
    requirements = sorted(json.loads(config.requirements_due or "[]"))
    if not requirements or not config.details_submitted:
        return  # before onboarding is finished, the onboarding page asks for it
    store = await session.get_one(Store, config.store_id)
    if not staff_wants(store, "account_needs_information"):
        return
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()[:16]
    await enqueue(
        session,
        kind="account_needs_information",
        to=store.business_email,
        sender_name=store.name,
        context={
            **_store_fields(store, store.currency),
            # In words (storeplex.words); the raw codes only for a details line.
            "requirements": list(dict.fromkeys(requirement(r).sentence for r in requirements)),
            "requirement_codes": requirements,
            "admin_path": "/admin/payments/settings",
        },
        store_id=store.id,
        dedupe_key=f"account_needs_information:{store.id}:{digest}",
    )
