"""Read-only queries the admin pages show (dashboard figures, payment lists, fee revenue).

Rule: every store query goes through `tenancy.scoped`; amounts are summed in
minor units per currency and never mixed across currencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.models import Order, OrderStatus, Payment, PaymentState, Store, StorePaymentConfig
from storeplex.models.base import utcnow
from storeplex.tenancy import scoped

# Payments whose money arrived (refunded ones included: the sale happened).
COLLECTED = (PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED)


@dataclass(frozen=True, slots=True)
class SalesFigure:
    count: int
    total: int
    fees: int
    refunded: int


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    sales: int
    fees: int


def _start_of_day(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def sales_since(session: AsyncSession, *, store_id: int, since: datetime) -> SalesFigure:
    """Collected payments of the store paid at or after `since` (count, gross, fees, refunded)."""
    row = (
        await session.execute(
            scoped(Payment, store_id)
            .where(Payment.status.in_(COLLECTED), Payment.paid_at >= since)
            .with_only_columns(
                func.count(Payment.id),
                func.coalesce(func.sum(Payment.amount_total), 0),
                func.coalesce(func.sum(Payment.amount_platform_fee), 0),
                func.coalesce(func.sum(Payment.amount_refunded), 0),
            )
        )
    ).one()
    return SalesFigure(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


async def dashboard_figures(session: AsyncSession, *, store_id: int) -> dict[str, object]:
    """Today's and this month's sales, and how many orders wait to be fulfilled."""
    now = utcnow()
    today = await sales_since(session, store_id=store_id, since=_start_of_day(now))
    month = await sales_since(session, store_id=store_id, since=_start_of_day(now).replace(day=1))
    to_fulfil = (
        await session.execute(
            scoped(Order, store_id)
            .where(Order.status == OrderStatus.PROCESSING)
            .with_only_columns(func.count(Order.id))
        )
    ).scalar_one()
    awaiting_payment = (
        await session.execute(
            scoped(Order, store_id)
            .where(Order.status == OrderStatus.PENDING)
            .with_only_columns(func.count(Order.id))
        )
    ).scalar_one()
    return {
        "today": today,
        "month": month,
        "to_fulfil": int(to_fulfil),
        "awaiting_payment": int(awaiting_payment),
    }


async def daily_sales(session: AsyncSession, *, store_id: int, days: int = 30) -> list[DayPoint]:
    """Gross sales and platform fees per day over the last `days` days, oldest first."""
    since = _start_of_day(utcnow()) - timedelta(days=days - 1)
    rows = (
        await session.execute(
            scoped(Payment, store_id)
            .where(Payment.status.in_(COLLECTED), Payment.paid_at >= since)
            .with_only_columns(Payment.paid_at, Payment.amount_total, Payment.amount_platform_fee)
        )
    ).all()
    return _bucket(rows, since, days)


def _bucket(rows: Sequence[Any], since: datetime, days: int) -> list[DayPoint]:
    sales: dict[date, int] = {}
    fees: dict[date, int] = {}
    for paid_at, total, fee in rows:
        if paid_at is None:
            continue
        day = paid_at.date()
        sales[day] = sales.get(day, 0) + int(total)
        fees[day] = fees.get(day, 0) + int(fee)
    first = since.date()
    return [
        DayPoint(d, sales.get(d, 0), fees.get(d, 0))
        for d in (first + timedelta(days=i) for i in range(days))
    ]


async def list_payments(
    session: AsyncSession,
    *,
    store_id: int,
    status: str | None,
    date_from: date | None,
    date_to: date | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Payment, int]], bool]:
    """The store's payments, newest first, with their order numbers; and whether more follow."""
    query = (
        scoped(Payment, store_id)
        .join(Order, Order.id == Payment.order_id)
        .add_columns(Order.number)
        .order_by(Payment.created_at.desc(), Payment.id.desc())
    )
    if status:
        query = query.where(Payment.status == status)
    if date_from:
        query = query.where(
            Payment.created_at
            >= datetime.combine(date_from, datetime.min.time(), tzinfo=utcnow().tzinfo)
        )
    if date_to:
        end = datetime.combine(
            date_to + timedelta(days=1), datetime.min.time(), tzinfo=utcnow().tzinfo
        )
        query = query.where(Payment.created_at < end)
    rows = (await session.execute(query.limit(limit + 1).offset(offset))).all()
    out = [(row[0], int(row[1])) for row in rows[:limit]]
    return out, len(rows) > limit


@dataclass(frozen=True, slots=True)
class StoreRevenue:
    store: Store
    config: StorePaymentConfig | None
    currency: str
    payments: int
    gross: int
    fees: int


async def fee_revenue_by_store(session: AsyncSession) -> list[StoreRevenue]:
    """Every store with its payment configuration and the platform's collected fees."""
    stores = list((await session.execute(select(Store).order_by(Store.name))).scalars())
    configs = {c.store_id: c for c in (await session.execute(select(StorePaymentConfig))).scalars()}
    totals = {
        row[0]: (int(row[1]), int(row[2]), int(row[3]))
        for row in (
            await session.execute(
                select(
                    Payment.store_id,
                    func.count(Payment.id),
                    func.coalesce(func.sum(Payment.amount_total), 0),
                    func.coalesce(func.sum(Payment.amount_platform_fee), 0),
                )
                .where(Payment.status.in_(COLLECTED))
                .group_by(Payment.store_id)
            )
        ).all()
    }
    return [
        StoreRevenue(
            store=s,
            config=configs.get(s.id),
            currency=s.currency,
            payments=totals.get(s.id, (0, 0, 0))[0],
            gross=totals.get(s.id, (0, 0, 0))[1],
            fees=totals.get(s.id, (0, 0, 0))[2],
        )
        for s in stores
    ]


async def platform_daily_fees(
    session: AsyncSession, *, currency: str, days: int = 30
) -> list[DayPoint]:
    """All stores' gross sales and platform fees per day in one currency, oldest first."""
    since = _start_of_day(utcnow()) - timedelta(days=days - 1)
    rows = (
        await session.execute(
            select(Payment.paid_at, Payment.amount_total, Payment.amount_platform_fee).where(
                Payment.status.in_(COLLECTED),
                Payment.paid_at >= since,
                Payment.currency == currency,
            )
        )
    ).all()
    return _bucket(rows, since, days)


def bars_of(points: Sequence[DayPoint]) -> list[tuple[str, int, int]]:
    """Chart bars (label, sales, fees) of daily points."""
    return [(p.day.isoformat(), p.sales, p.fees) for p in points]
