"""Statements for a store and the platform's fee revenue, summed by the database.

A statement row per period (UTC day or month): gross sales (paid payments'
`amount_total`, by `paid_at`), platform fees (their `amount_platform_fee`),
refunds (succeeded refunds' `amount`, by `created_at`), fee refunds (the part
of the platform fee those refunds gave back), disputes (lost disputes'
`amount`, by `closed_at`), and net = gross − fees − refunds + fee refunds −
disputes. The figures come from `store_daily_totals` (storeplex.ledger), kept in
the same transaction as each payment, refund and dispute: a month costs at most
31 × 4 rows however many payments the store has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.errors import BadRequest
from storeplex.ledger import Totals, store_days, stores_over
from storeplex.models import PaymentState, Store

PAID = (PaymentState.SUCCEEDED, PaymentState.PARTIALLY_REFUNDED, PaymentState.REFUNDED)
MAX_DAYS = {"day": 366, "month": 3700}
FIGURES = ("gross_sales", "platform_fees", "refunds", "fee_refunds", "disputes", "net")


@dataclass
class StatementRow(Totals):
    """One period's figures (the day's or month's daily totals summed)."""

    period: str = ""


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
            total.merge(row)
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


def _periods(start: date, end: date, period: str) -> list[str]:
    keys: list[str] = []
    day = start
    while day <= end:
        key = day.isoformat() if period == "day" else day.isoformat()[:7]
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


def period_of(day: date, period: str) -> str:
    return day.isoformat() if period == "day" else day.isoformat()[:7]


async def store_statement(
    session: AsyncSession, *, store_id: int, period: str, start: date, end: date
) -> Statement:
    """The store's statement, one row per period in the range (empty periods included)."""
    store = await session.get(Store, store_id)
    assert store is not None
    rows = {key: StatementRow(period=key) for key in _periods(start, end, period)}
    days = await store_days(session, store_id=store_id, start=start, end=end)
    for day, totals in days.items():
        rows[period_of(day, period)].merge(totals)
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
    by_store = {
        key: totals
        for key, totals in (await stores_over(session, start=start, end=end)).items()
        if totals.payments or totals.platform_fees or totals.fee_refunds
    }
    if not by_store:
        return []
    stores = {
        s.id: s
        for s in (
            await session.execute(select(Store).where(Store.id.in_({sid for sid, _ in by_store})))
        ).scalars()
    }
    return [
        FeeRow(
            store_id=store_id,
            slug=stores[store_id].slug,
            name=stores[store_id].name,
            currency=currency,
            payments=totals.payments,
            platform_fees=totals.platform_fees,
            fee_refunds=totals.fee_refunds,
        )
        for (store_id, currency), totals in sorted(by_store.items())
    ]
