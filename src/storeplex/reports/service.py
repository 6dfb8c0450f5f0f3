"""Statements for a store and the platform's fee revenue, summed by the database.

A statement row per period (UTC day or month): gross sales (paid payments'
`amount_total`, by `paid_at`), platform fees (their `amount_platform_fee`),
refunds (succeeded refunds' `amount`, by `created_at`), fee refunds (the part
of the platform fee those refunds gave back), disputes (lost disputes'
`amount`, by `closed_at`), and net = gross − fees − refunds + fee refunds −
disputes. Every figure is a plain SUM over rows selected through an index
(see migration 0003), so a statement over millions of payments stays fast.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.errors import BadRequest
from storeplex.models import Dispute, Payment, PaymentState, Refund, RefundState, Store

PAID = (PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED)
MAX_DAYS = {"day": 366, "month": 3700}
FIGURES = ("gross_sales", "platform_fees", "refunds", "fee_refunds", "disputes", "net")


@dataclass
class StatementRow:
    period: str
    gross_sales: int = 0
    platform_fees: int = 0
    refunds: int = 0
    fee_refunds: int = 0
    disputes: int = 0
    payments: int = 0

    @property
    def net(self) -> int:
        return (
            self.gross_sales - self.platform_fees - self.refunds + self.fee_refunds - self.disputes
        )


@dataclass
class Statement:
    store_id: int
    currency: str
    period: str
    start: date
    end: date
    rows: list[StatementRow] = field(default_factory=list)

    @property
    def totals(self) -> StatementRow:
        total = StatementRow(period="total")
        for row in self.rows:
            total.gross_sales += row.gross_sales
            total.platform_fees += row.platform_fees
            total.refunds += row.refunds
            total.fee_refunds += row.fee_refunds
            total.disputes += row.disputes
            total.payments += row.payments
        return total


def check_range(start: date | None, end: date | None, period: str) -> tuple[date, date]:
    """The inclusive date range asked for, defaulting to the last 30 days; 400 if unusable."""
    end = end or datetime.now(UTC).date()
    start = start or end - timedelta(days=29)
    if start > end:
        raise BadRequest("'from' must be on or before 'to'", field="from")
    if (end - start).days + 1 > MAX_DAYS[period]:
        raise BadRequest(
            f"A statement by {period} covers at most {MAX_DAYS[period]} days; narrow the range",
            field="to",
        )
    return start, end


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time.min, tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC),
    )


def period_key(session: AsyncSession, column: Any, period: str) -> ColumnElement[str]:
    """The UTC day ('2026-11-26') or month ('2026-11') of a timestamp column, in SQL."""
    if session.get_bind().dialect.name == "postgresql":
        pattern = "YYYY-MM-DD" if period == "day" else "YYYY-MM"
        return func.to_char(func.timezone("UTC", column), pattern)
    # SQLite keeps UTC timestamps as ISO text: the key is a prefix.
    return func.substr(column, 1, 10 if period == "day" else 7)


def _periods(start: date, end: date, period: str) -> list[str]:
    keys: list[str] = []
    day = start
    while day <= end:
        key = day.isoformat() if period == "day" else day.isoformat()[:7]
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


async def store_statement(
    session: AsyncSession, *, store_id: int, period: str, start: date, end: date
) -> Statement:
    """The store's statement, one row per period in the range (empty periods included)."""
    store = await session.get(Store, store_id)
    assert store is not None
    low, high = _bounds(start, end)
    rows = {key: StatementRow(period=key) for key in _periods(start, end, period)}

    paid_key = period_key(session, Payment.paid_at, period)
    sales = await session.execute(
        select(
            paid_key,
            func.sum(Payment.amount_total),
            func.sum(Payment.amount_platform_fee),
            func.count(Payment.id),
        )
        .where(
            Payment.store_id == store_id,
            Payment.paid_at >= low,
            Payment.paid_at < high,
            Payment.status.in_(PAID),
        )
        .group_by(paid_key)
    )
    for key, gross, fees, count in sales.all():
        row = rows.setdefault(key, StatementRow(period=key))
        row.gross_sales, row.platform_fees, row.payments = int(gross), int(fees), int(count)

    refund_key = period_key(session, Refund.created_at, period)
    refunds = await session.execute(
        select(refund_key, func.sum(Refund.amount), func.sum(Refund.application_fee_refund_amount))
        .where(
            Refund.store_id == store_id,
            Refund.status == RefundState.SUCCEEDED,
            Refund.created_at >= low,
            Refund.created_at < high,
        )
        .group_by(refund_key)
    )
    for key, amount, fee_back in refunds.all():
        row = rows.setdefault(key, StatementRow(period=key))
        row.refunds, row.fee_refunds = int(amount), int(fee_back)

    dispute_key = period_key(session, Dispute.closed_at, period)
    disputes = await session.execute(
        select(dispute_key, func.sum(Dispute.amount))
        .where(
            Dispute.store_id == store_id,
            Dispute.outcome == "lost",
            Dispute.closed_at >= low,
            Dispute.closed_at < high,
        )
        .group_by(dispute_key)
    )
    for key, amount in disputes.all():
        rows.setdefault(key, StatementRow(period=key)).disputes = int(amount)

    return Statement(
        store_id=store_id,
        currency=store.currency,
        period=period,
        start=start,
        end=end,
        rows=[rows[key] for key in sorted(rows)],
    )


@dataclass
class FeeRow:
    store_id: int
    slug: str
    name: str
    currency: str
    payments: int = 0
    platform_fees: int = 0
    fee_refunds: int = 0

    @property
    def net_fees(self) -> int:
        return self.platform_fees - self.fee_refunds


async def platform_fees(session: AsyncSession, *, start: date, end: date) -> list[FeeRow]:
    """The platform's fee revenue per store (and currency) over the range."""
    low, high = _bounds(start, end)
    by_store: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    fees = await session.execute(
        select(
            Payment.store_id,
            Payment.currency,
            func.count(Payment.id),
            func.sum(Payment.amount_platform_fee),
        )
        .where(Payment.paid_at >= low, Payment.paid_at < high, Payment.status.in_(PAID))
        .group_by(Payment.store_id, Payment.currency)
    )
    for store_id, currency, count, amount in fees.all():
        by_store[(store_id, currency)]["payments"] = int(count)
        by_store[(store_id, currency)]["platform_fees"] = int(amount)
    back = await session.execute(
        select(Refund.store_id, Refund.currency, func.sum(Refund.application_fee_refund_amount))
        .where(
            Refund.status == RefundState.SUCCEEDED,
            Refund.created_at >= low,
            Refund.created_at < high,
        )
        .group_by(Refund.store_id, Refund.currency)
    )
    for store_id, currency, amount in back.all():
        by_store[(store_id, currency)]["fee_refunds"] = int(amount)
    if not by_store:
        return []
    stores = {
        s.id: s
        for s in (
            await session.execute(select(Store).where(Store.id.in_({sid for sid, _ in by_store})))
        ).scalars()
    }
    result = []
    for (store_id, currency), sums in sorted(by_store.items()):
        store = stores[store_id]
        result.append(
            FeeRow(
                store_id=store_id,
                slug=store.slug,
                name=store.name,
                currency=currency,
                payments=sums["payments"],
                platform_fees=sums["platform_fees"],
                fee_refunds=sums["fee_refunds"],
            )
        )
    return result
