"""Read-only queries the admin pages show (dashboard figures, payment lists, fee revenue).

Rule: every store query goes through `tenancy.scoped`; amounts are summed in
minor units per currency and never mixed across currencies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.ledger import Totals, days_over, store_days, stores_over
from storeplex.models import Dispute, Order, OrderStatus, Payment, Store, StorePaymentConfig
from storeplex.models.base import utcnow
from storeplex.models.predicates import awaiting_fulfilment
from storeplex.money import exponent
from storeplex.tenancy import scoped


@dataclass(frozen=True, slots=True)
class SalesFigure:
    count: int
    total: int
    fees: int
    refunded: int  # refunds asked for in the period (succeeded), whichever sale they return


@dataclass(frozen=True, slots=True)
class DayPoint:
    day: date
    sales: int
    fees: int


def _figure(totals: Totals) -> SalesFigure:
    return SalesFigure(totals.payments, totals.gross_sales, totals.platform_fees, totals.refunds)


def _sum(days: dict[date, Totals], since: date) -> Totals:
    out = Totals()
    for day, totals in days.items():
        if day >= since:
            out.merge(totals)
    return out


async def dashboard_figures(session: AsyncSession, *, store_id: int) -> dict[str, object]:
    """Today's and this month's sales (from the daily totals), and the orders waiting."""
    today = utcnow().date()
    month_start = today.replace(day=1)
    days = await store_days(session, store_id=store_id, start=month_start, end=today)
    to_fulfil = (
        await session.execute(
            scoped(Order, store_id)
            .where(awaiting_fulfilment())
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
        "today": _figure(_sum(days, today)),
        "month": _figure(_sum(days, month_start)),
        "to_fulfil": int(to_fulfil),
        "awaiting_payment": int(awaiting_payment),
    }


def _points(days: dict[date, Totals], first: date, count: int) -> list[DayPoint]:
    points = []
    for i in range(count):
        day = first + timedelta(days=i)
        totals = days.get(day, Totals())
        points.append(DayPoint(day, totals.gross_sales, totals.platform_fees))
    return points


async def daily_sales(session: AsyncSession, *, store_id: int, days: int = 30) -> list[DayPoint]:
    """Gross sales and platform fees per day over the last `days` days, oldest first."""
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    totals = await store_days(session, store_id=store_id, start=first, end=today)
    return _points(totals, first, days)


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
    fees: int  # platform fees less the fees given back with refunds
    fees_charged: int = 0
    fee_refunds: int = 0
    disputes: int = 0  # disputes opened in the period
    dispute_fees: int = 0  # what Stripe charged the platform for them

    @property
    def net(self) -> int:
        """What the platform keeps: fees, less fees given back, less dispute fees."""
        return self.fees - self.dispute_fees


def dispute_fee(currency: str) -> int:
    """Stripe's fee for one dispute on a destination charge, charged to the platform's
    account and kept even when the dispute is won: 15.00 in a two-decimal currency (what
    the bundled emulator charges, `stripe_emulator.money.dispute_fee`)."""
    return {0: 15, 2: 1500, 3: 15000}.get(exponent(currency), 1500)


async def _disputes_opened(
    session: AsyncSession, start: date, end: date
) -> dict[tuple[int, str], int]:
    query = select(Dispute.store_id, Dispute.currency, func.count(Dispute.id)).group_by(
        Dispute.store_id, Dispute.currency
    )
    if start > date.min:
        query = query.where(
            Dispute.created_at >= datetime.combine(start, datetime.min.time(), tzinfo=UTC)
        )
    if end < date.max - timedelta(days=1):  # date.max + 1 day does not exist
        after = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        query = query.where(Dispute.created_at < after)
    return {(int(s), str(c)): int(n) for s, c, n in (await session.execute(query)).all()}


async def fee_revenue_by_store(
    session: AsyncSession, *, start: date = date.min, end: date = date.max
) -> list[StoreRevenue]:
    """Every store with its payment configuration and, from `start` to `end` (UTC days,
    inclusive; by default since it opened), its paid payments, sales, the platform's fees
    (less fees given back with refunds) and the disputes opened with Stripe's fee for them."""
    stores = list((await session.execute(select(Store).order_by(Store.name))).scalars())
    configs = {c.store_id: c for c in (await session.execute(select(StorePaymentConfig))).scalars()}
    totals = await stores_over(session, start=start, end=end)
    disputes = await _disputes_opened(session, start, end)
    out = []
    for store in stores:
        mine = totals.get((store.id, store.currency), Totals())
        opened = disputes.get((store.id, store.currency), 0)
        out.append(
            StoreRevenue(
                store=store,
                config=configs.get(store.id),
                currency=store.currency,
                payments=mine.payments,
                gross=mine.gross_sales,
                fees=mine.platform_fees - mine.fee_refunds,
                fees_charged=mine.platform_fees,
                fee_refunds=mine.fee_refunds,
                disputes=opened,
                dispute_fees=opened * dispute_fee(store.currency),
            )
        )
    return out


async def platform_daily_fees(
    session: AsyncSession, *, currency: str, days: int = 30
) -> list[DayPoint]:
    """All stores' gross sales and platform fees per day in one currency, oldest first."""
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    totals = await days_over(session, currency=currency, start=first, end=today)
    return _points(totals, first, days)


def bars_of(points: Sequence[DayPoint]) -> list[tuple[str, int, int]]:
    """Chart bars (label, sales, fees) of daily points."""
    return [(p.day.isoformat(), p.sales, p.fees) for p in points]
