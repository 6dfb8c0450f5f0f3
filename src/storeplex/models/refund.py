"""Money after the sale: refunds, disputes and payouts.

All amounts are integer minor units of `currency`. A refund row is written
(status pending) before Stripe is called, and its amount is counted in
`payments.amount_refunded` while it is pending or succeeded: that counter,
bounded by a CHECK constraint, is what keeps the refunds of a payment from
ever exceeding what was paid.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeplex.models.base import Base, IdType, Money, TimestampMixin, UTCDateTime


class RefundState:
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    ALL = (PENDING, SUCCEEDED, FAILED, CANCELED)
    # States whose amount is held in payments.amount_refunded.
    COUNTED = (PENDING, SUCCEEDED)


class RefundReason:
    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    REQUESTED_BY_CUSTOMER = "requested_by_customer"
    ALL = (DUPLICATE, FRAUDULENT, REQUESTED_BY_CUSTOMER)


class Refund(TimestampMixin, Base):
    """One refund of a payment, made by store staff (or found at Stripe)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("transfer_reversal_amount >= 0", name="reversal_not_negative"),
        CheckConstraint("application_fee_refund_amount >= 0", name="fee_refund_not_negative"),
        Index("ix_refunds_store_id_created_at", "store_id", "created_at"),
        Index("ix_refunds_store_id_status_created_at", "store_id", "status", "created_at"),
        Index("ix_refunds_status_updated_at", "status", "updated_at"),
        # The platform fee report: refunds of every store by day (INCLUDE on PostgreSQL).
        Index(
            "ix_refunds_status_created_at",
            "status",
            "created_at",
            postgresql_include=["store_id", "currency", "amount", "application_fee_refund_amount"],
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # active_history on what the daily totals sum: they need the value before a change.
    amount: Mapped[int] = mapped_column(Money, nullable=False, active_history=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(20), nullable=False, default=RefundState.PENDING, active_history=True
    )
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    created_by_token_id: Mapped[int | None] = mapped_column(ForeignKey("api_tokens.id"))
    restock: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    transfer_reversal_amount: Mapped[int] = mapped_column(Money, nullable=False, default=0)
    application_fee_refund_amount: Mapped[int] = mapped_column(
        Money, nullable=False, default=0, active_history=True
    )
    stripe_transfer_reversal_id: Mapped[str | None] = mapped_column(String(255))
    stripe_fee_refund_id: Mapped[str | None] = mapped_column(String(255))
    succeeded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DisputeOutcome:
    WON = "won"
    LOST = "lost"
    OPEN_STATES = (
        "needs_response",
        "warning_needs_response",
        "under_review",
        "warning_under_review",
    )


class Dispute(TimestampMixin, Base):
    """A chargeback on one of the store's payments, as Stripe reports it."""

    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("reversed_amount >= 0", name="reversed_not_negative"),
        Index("ix_disputes_store_id_created_at", "store_id", "created_at"),
        Index("ix_disputes_store_id_outcome_closed_at", "store_id", "outcome", "closed_at"),
        Index("ix_disputes_status", "status"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False)
    stripe_dispute_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(255))
    # active_history on what the daily totals sum: they need the value before a change.
    amount: Mapped[int] = mapped_column(Money, nullable=False, active_history=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    reason: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(50), nullable=False)
    evidence_due_by: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The store's transfer reversed when the dispute opened, and the transfer back if won.
    transfer_reversal_id: Mapped[str | None] = mapped_column(String(255))
    reversed_amount: Mapped[int] = mapped_column(Money, nullable=False, default=0)
    return_transfer_id: Mapped[str | None] = mapped_column(String(255))
    # won | lost, once closed
    outcome: Mapped[str | None] = mapped_column(String(20), active_history=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)


class PayoutState:
    PENDING = "pending"
    IN_TRANSIT = "in_transit"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"


class Payout(TimestampMixin, Base):
    """A payout from a store's connected account to its bank (automatic or ours)."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_payouts_store_id_created_at", "store_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False)
    stripe_payout_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    stripe_account_id: Mapped[str] = mapped_column(String(255), nullable=False)
    amount: Mapped[int] = mapped_column(Money, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    arrival_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_message: Mapped[str | None] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The schedule period our payout job paid for (e.g. "2026-W48"); None for Stripe's own.
    period: Mapped[str | None] = mapped_column(String(20))
    stripe_created: Mapped[datetime | None] = mapped_column(UTCDateTime())
