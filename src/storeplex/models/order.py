"""Orders and their items. Totals are integer minor units computed on the server.

`status` is fulfilment (pending → processing → shipped → completed, or canceled);
`payment_status` is money (pending, paid, failed, partially_refunded, refunded).
Item names and unit prices are copied at order time, so later catalog edits do
not rewrite history.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storeplex.models.base import Base, IdType, Money, TimestampMixin, UTCDateTime


class OrderStatus:
    PENDING = "pending"
    PROCESSING = "processing"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELED = "canceled"
    ALL = (PENDING, PROCESSING, SHIPPED, COMPLETED, CANCELED)


class OrderPaymentStatus:
    """`orders.payment_status`: how far the shopper has paid the order. The Stripe-side
    state of its PaymentIntent is `PaymentState` (`payments.status`)."""

    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    ALL = (PENDING, PAID, FAILED, PARTIALLY_REFUNDED, REFUNDED)


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("store_id", "number"),
        CheckConstraint("total_amount_cents >= 0", name="total_not_negative"),
        Index("ix_orders_store_id_created_at", "store_id", "created_at"),
        Index("ix_orders_store_id_status", "store_id", "status", postgresql_include=["id"]),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=OrderStatus.PENDING)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    subtotal_amount: Mapped[int] = mapped_column(Money, nullable=False)
    shipping_amount: Mapped[int] = mapped_column(Money, nullable=False, default=0)
    # Payment fields.
    payment_status: Mapped[str] = mapped_column(
        String(50), nullable=False, default=OrderPaymentStatus.PENDING
    )
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), index=True)
    total_amount_cents: Mapped[int] = mapped_column(Money, nullable=False)

    email: Mapped[str] = mapped_column(String(320), nullable=False)
    shipping_name: Mapped[str] = mapped_column(String(200), nullable=False)
    shipping_line1: Mapped[str] = mapped_column(String(200), nullable=False)
    shipping_line2: Mapped[str | None] = mapped_column(String(200))
    shipping_city: Mapped[str] = mapped_column(String(100), nullable=False)
    shipping_postal_code: Mapped[str] = mapped_column(String(20), nullable=False)
    shipping_country: Mapped[str] = mapped_column(String(2), nullable=False)
    shipping_phone: Mapped[str | None] = mapped_column(String(40))

    # The shopper proves they own the order with this token (only its hash is kept).
    access_token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    stock_released: Mapped[bool] = mapped_column(nullable=False, default=False)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    canceled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The shipment, as the store entered it when marking the order shipped.
    carrier: Mapped[str | None] = mapped_column(String(100))
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    tracking_url: Mapped[str | None] = mapped_column(String(500))

    @property
    def total_amount(self) -> int:
        return self.total_amount_cents


class OrderItem(Base):
    __tablename__ = "order_items"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit_price_amount: Mapped[int] = mapped_column(Money, nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
    line_total_amount: Mapped[int] = mapped_column(Money, nullable=False)
