"""Per-store daily totals: the figures dashboards, statements and the fee report sum.

One row per (store, UTC day, currency). The session keeps them in step with
payments, refunds and disputes in the same transaction as the change (see
storeplex.ledger), so reading a month costs at most 31 rows per store
however many payments it has. The row is written as the transaction commits,
so concurrent payments of one store hold its lock only for the commit.

Which day a figure belongs to: a sale by its payment's `paid_at`, a refund by
the refund's `created_at`, a lost dispute by its `closed_at` (all UTC).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storeplex.models.base import Base, Money

# The summed columns, in the order the ledger writes them.
FIGURES = (
    "payments",
    "gross_sales",
    "platform_fees",
    "refund_count",
    "refunds",
    "fee_refunds",
    "dispute_count",
    "disputes",
)


class StoreDailyTotal(Base):
    """Sales, fees, refunds and lost disputes of one store on one UTC day."""

    __tablename__ = "store_daily_totals"
    __table_args__ = (
        # The platform fee report reads every store's days of a range.
        Index("ix_store_daily_totals_day", "day"),
    )

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)

    # Paid payments (succeeded, partially refunded or refunded) by the day they were paid.
    payments: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    gross_sales: Mapped[int] = mapped_column(Money, nullable=False, default=0)
    platform_fees: Mapped[int] = mapped_column(Money, nullable=False, default=0)
    # Succeeded refunds by the day they were asked for, and the platform fee they gave back.
    refund_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    refunds: Mapped[int] = mapped_column(Money, nullable=False, default=0)
    fee_refunds: Mapped[int] = mapped_column(Money, nullable=False, default=0)
    # Lost disputes by the day they closed.
    dispute_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    disputes: Mapped[int] = mapped_column(Money, nullable=False, default=0)
