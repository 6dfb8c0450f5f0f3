"""Payment tables (store_payment_configs, payments, payment_methods) and the
webhook inbox (stripe_events).

All amounts are integer minor units of `currency`. `payments.status` only moves
forward (see storeplex.payments.states); a Payment is the platform's record of
one order's PaymentIntent, and there is at most one per order.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeplex.models.base import Base, IdType, Money, TimestampMixin, UTCDateTime, utcnow


class AccountStatus:
    NOT_CONFIGURED = "not_configured"
    PENDING = "pending"
    RESTRICTED = "restricted"
    ACTIVE = "active"
    REJECTED = "rejected"
    INACTIVE = "inactive"


class PayoutSchedule:
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    ALL = (DAILY, WEEKLY, MONTHLY)


class StorePaymentConfig(TimestampMixin, Base):
    """A store's Stripe Connect account and payment settings."""

    __tablename__ = "store_payment_configs"
    __table_args__ = (
        CheckConstraint(
            "platform_fee_percentage >= 0 AND platform_fee_percentage <= 100",
            name="fee_percentage_range",
        ),
        CheckConstraint("platform_fixed_fee_amount >= 0", name="fixed_fee_not_negative"),
        CheckConstraint("minimum_payout_amount >= 0", name="minimum_payout_not_negative"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, unique=True)
    stripe_account_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_account_status: Mapped[str] = mapped_column(
        String(50), nullable=False, default=AccountStatus.PENDING
    )
    stripe_onboarding_url: Mapped[str | None] = mapped_column(Text)
    stripe_dashboard_url: Mapped[str | None] = mapped_column(Text)
    business_type: Mapped[str | None] = mapped_column(String(20))
    charges_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    payouts_enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    details_submitted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    requirements_due: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    disabled_reason: Mapped[str | None] = mapped_column(String(100))
    account_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    accepts_payments: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR")
    platform_fee_percentage: Mapped[Decimal] = mapped_column(
        Numeric(5, 2), nullable=False, default=Decimal("2.50")
    )
    platform_fixed_fee_amount: Mapped[int] = mapped_column(Money, nullable=False, default=0)

    payout_schedule: Mapped[str] = mapped_column(
        String(20), nullable=False, default=PayoutSchedule.WEEKLY
    )
    # The store's minimum payout, kept in minor units. Stripe has no such setting: above 0,
    # the account is switched to manual payouts and the platform's payout job applies it.
    minimum_payout_amount: Mapped[int] = mapped_column(Money, nullable=False, default=0)

    # Refund and dispute policy.
    reverse_transfer_on_refund: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    refund_application_fee: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    reverse_transfer_on_dispute: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class PaymentState:
    """`payments.status`: our record of the order's PaymentIntent at Stripe, moving only
    forward (`payments/states.py`). What the order shows is `OrderPaymentStatus`."""

    PENDING = "pending"
    FAILED = "failed"
    PROCESSING = "processing"
    CANCELED = "canceled"
    SUCCEEDED = "succeeded"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    ALL = (PENDING, FAILED, PROCESSING, CANCELED, SUCCEEDED, PARTIALLY_REFUNDED, REFUNDED)


class Payment(TimestampMixin, Base):
    """The platform's record of an order's PaymentIntent."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("order_id"),
        CheckConstraint("amount_store + amount_platform_fee = amount_total", name="split_adds_up"),
        CheckConstraint(
            "amount_refunded >= 0 AND amount_refunded <= amount_total", name="refund_range"
        ),
        # Read paths carry the columns they sum (INCLUDE, PostgreSQL only) so that the
        # dashboard, statements and fee report are index-only scans (migration 0004).
        Index(
            "ix_payments_store_id_created_at",
            "store_id",
            "created_at",
            postgresql_include=["status", "id"],
        ),
        Index("ix_payments_store_id_status_created_at", "store_id", "status", "created_at"),
        Index("ix_payments_status_updated_at", "status", "updated_at"),
        Index(
            "ix_payments_store_id_paid_at",
            "store_id",
            "paid_at",
            postgresql_include=["status", "amount_total", "amount_platform_fee", "id"],
        ),
        Index(
            "ix_payments_paid_at",
            "paid_at",
            postgresql_include=["status", "store_id", "currency", "amount_platform_fee", "id"],
        ),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False)

    stripe_payment_intent_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    stripe_charge_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_transfer_id: Mapped[str | None] = mapped_column(String(255))
    stripe_application_fee_id: Mapped[str | None] = mapped_column(String(255))
    stripe_account_id: Mapped[str] = mapped_column(String(255), nullable=False)

    amount_total: Mapped[int] = mapped_column(Money, nullable=False, active_history=True)
    amount_store: Mapped[int] = mapped_column(Money, nullable=False)
    amount_platform_fee: Mapped[int] = mapped_column(Money, nullable=False, active_history=True)
    amount_refunded: Mapped[int] = mapped_column(Money, nullable=False, default=0)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)

    # active_history: the daily totals need the value before a change (storeplex.ledger).
    status: Mapped[str] = mapped_column(
        String(50), nullable=False, default=PaymentState.PENDING, active_history=True
    )
    payment_method: Mapped[str | None] = mapped_column(String(50))
    card_brand: Mapped[str | None] = mapped_column(String(50))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    save_payment_method: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    stripe_metadata: Mapped[str | None] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    refund_reason: Mapped[str | None] = mapped_column(Text)
    disputed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), active_history=True)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PaymentMethod(TimestampMixin, Base):
    """A shopper's saved card."""

    __tablename__ = "payment_methods"
    __table_args__ = (UniqueConstraint("store_id", "stripe_payment_method_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    stripe_payment_method_id: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    payment_method_type: Mapped[str] = mapped_column(String(50), nullable=False)
    card_brand: Mapped[str | None] = mapped_column(String(50))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    card_exp_month: Mapped[int | None] = mapped_column(Integer)
    card_exp_year: Mapped[int | None] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class EventStatus:
    RECEIVED = "received"
    APPLIED = "applied"
    IGNORED = "ignored"
    FAILED = "failed"
    # Not ours to apply (another tenant's object, the wrong endpoint, not an event at all):
    # kept with the reason in last_error, never applied, never retried.
    REJECTED = "rejected"


class StripeEvent(Base):
    """The webhook inbox: every verified event once, with what became of it."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        Index("ix_stripe_events_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_stripe_events_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    stripe_event_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(20), nullable=False)  # platform | connect
    account: Mapped[str | None] = mapped_column(String(255))
    livemode: Mapped[bool] = mapped_column(Boolean, nullable=False)
    api_version: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    event_created: Mapped[int] = mapped_column(Integer, nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=EventStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
