"""All tables. Import models from here so Alembic and the app see the same metadata."""

from storeplex.models.base import Base, utcnow
from storeplex.models.catalog import Cart, CartItem, Customer, Product
from storeplex.models.order import Order, OrderItem, OrderStatus, PaymentStatus
from storeplex.models.store import (
    ApiToken,
    PlatformAdmin,
    StaffRole,
    StaffUser,
    Store,
    StoreStatus,
)

__all__ = [
    "ApiToken",
    "Base",
    "Cart",
    "CartItem",
    "Customer",
    "Order",
    "OrderItem",
    "OrderStatus",
    "PaymentStatus",
    "PlatformAdmin",
    "Product",
    "StaffRole",
    "StaffUser",
    "Store",
    "StoreStatus",
    "utcnow",
]
