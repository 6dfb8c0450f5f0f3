"""Products, customers and carts: what a storefront shows and what a shopper collects."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from storeplex.models.base import Base, IdType, Money, TimestampMixin


class Product(TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("store_id", "sku"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price_amount >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    price_amount: Mapped[int] = mapped_column(Money, nullable=False)
    stock: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # A price of 0 only for a product its store marked free (migration 0012).
    is_free: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default=false()
    )
    # "<product id>-<16 hex of the file's SHA-256>.jpg" under <data dir>/product-images/<store id>/
    image_key: Mapped[str | None] = mapped_column(String(64))


class Customer(TimestampMixin, Base):
    """A shopper of one store. A password is optional: guests are customers too."""

    __tablename__ = "customers"
    __table_args__ = (UniqueConstraint("store_id", "email"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The Stripe Customer lives on the platform account (destination charges).
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)


class Cart(TimestampMixin, Base):
    """A cart persisted in the database and keyed by a cookie, so any process can serve it.

    One browser keeps one cart token for every store it visits; each store has its
    own cart row for that token, hence the (store_id, token_hash) key.
    """

    __tablename__ = "carts"
    __table_args__ = (UniqueConstraint("store_id", "token_hash"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))


class CartItem(TimestampMixin, Base):
    __tablename__ = "cart_items"
    __table_args__ = (
        UniqueConstraint("cart_id", "product_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    cart_id: Mapped[int] = mapped_column(
        ForeignKey("carts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), nullable=False)
    quantity: Mapped[int] = mapped_column(Integer, nullable=False)
