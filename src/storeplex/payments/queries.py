"""Read side of payments for store staff: the paged list, one payment, the dashboard figures.

Lists page by keyset (created_at, id) rather than OFFSET, so page 500 costs what page 1
costs; every query is scoped to one store and served by an index on (store_id, ...).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.errors import BadRequest
from storeplex.models import Order, OrderStatus, Payment, PaymentState
from storeplex.tenancy import get_scoped, scoped

SETTLED = (PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED)


def encode_cursor(payment: Payment) -> str:
    raw = f"{payment.created_at.timestamp():.6f}:{payment.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, payment_id = raw.split(":")
        return datetime.fromtimestamp(float(stamp), UTC), int(payment_id)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest(
            "The cursor is not valid; start again without it", field="cursor"
        ) from None


async def list_payments(
    session: AsyncSession,
    *,
    store_id: int,
    status: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> tuple[list[Payment], str | None]:
    """The store's payments, newest first; returns the page and the cursor of the next one."""
    if status is not None and status not in PaymentState.ALL:
        raise BadRequest(
            f"Unknown status {status!r}; use one of {', '.join(PaymentState.ALL)}", field="status"
        )
    query = scoped(Payment, store_id)
    if status:
        query = query.where(Payment.status == status)
    if created_from:
        query = query.where(Payment.created_at >= created_from)
    if created_to:
        query = query.where(Payment.created_at < created_to)
    if cursor:
        at, last_id = decode_cursor(cursor)
        # The plain `created_at <= at` bound is what lets the index seek to the page; with the
        # OR alone PostgreSQL walks the index from the newest row (680 ms for a deep page of
        # a 400,000-payment store, 0.4 ms with the bound; benchmarks/).
        query = query.where(
            Payment.created_at <= at,
            or_(Payment.created_at < at, and_(Payment.created_at == at, Payment.id < last_id)),
        )
    query = query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit + 1)
    rows = list((await session.execute(query)).scalars())
    page = rows[:limit]
    return page, encode_cursor(page[-1]) if len(rows) > limit and page else None


async def get_payment(session: AsyncSession, *, store_id: int, payment_id: int) -> Payment:
    return await get_scoped(session, Payment, store_id, payment_id, what="payment")


@dataclass
class Dashboard:
    currency: str | None
    sales_today_amount: int
    sales_month_amount: int
    payments_today: int
    orders_to_fulfil: int
    payments_last_30_days: dict[str, int]


async def dashboard(
    session: AsyncSession, *, store_id: int, now: datetime | None = None
) -> Dashboard:
    """Today's and this month's settled sales (by paid_at, UTC), orders to ship, recent statuses."""
    now = now or datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)

    async def sales_since(start: datetime) -> tuple[int, int]:
        row = (
            await session.execute(
                select(func.coalesce(func.sum(Payment.amount_total), 0), func.count(Payment.id))
                .where(Payment.store_id == store_id, Payment.paid_at >= start)
                .where(Payment.status.in_(SETTLED))
            )
        ).one()
        return int(row[0]), int(row[1])

    today_amount, today_count = await sales_since(day)
    month_amount, _ = await sales_since(month)
    to_fulfil = (
        await session.execute(
            select(func.count(Order.id)).where(
                Order.store_id == store_id, Order.status == OrderStatus.PROCESSING
            )
        )
    ).scalar_one()
    by_status = dict(
        (
            await session.execute(
                select(Payment.status, func.count(Payment.id))
                .where(Payment.store_id == store_id)
                .where(Payment.created_at >= now - timedelta(days=30))
                .group_by(Payment.status)
            )
        ).all()
    )
    currency = (
        await session.execute(select(Payment.currency).where(Payment.store_id == store_id).limit(1))
    ).scalar_one_or_none()
    return Dashboard(
        currency=currency,
        sales_today_amount=today_amount,
        sales_month_amount=month_amount,
        payments_today=today_count,
        orders_to_fulfil=int(to_fulfil),
        payments_last_30_days={str(k): int(v) for k, v in by_status.items()},
    )


def payment_out(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order_id": payment.order_id,
        "status": payment.status,
        "currency": payment.currency,
        "amount_total": payment.amount_total,
        "amount_store": payment.amount_store,
        "amount_platform_fee": payment.amount_platform_fee,
        "amount_refunded": payment.amount_refunded,
        "card_brand": payment.card_brand,
        "card_last4": payment.card_last4,
        "failure_reason": payment.failure_reason,
        "disputed": payment.disputed,
        "stripe_payment_intent_id": payment.stripe_payment_intent_id,
        "stripe_charge_id": payment.stripe_charge_id,
        "created_at": payment.created_at.isoformat(),
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
    }
