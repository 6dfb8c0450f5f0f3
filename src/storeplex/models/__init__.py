"""All tables. Import models from here so Alembic and the app see the same metadata."""

from storeplex.models.account import (
    AccountLink,
    AccountLinkPurpose,
    AuthSession,
    LoginThrottle,
    RecoveryCode,
    SessionKind,
    StaffInvitation,
    TwoFactor,
)
from storeplex.models.base import Base, utcnow
from storeplex.models.catalog import Cart, CartItem, Customer, Product
from storeplex.models.mail import MailStatus, OutboxMail
from storeplex.models.order import Order, OrderItem, OrderPaymentStatus, OrderStatus
from storeplex.models.payment import (
    AccountStatus,
    EventStatus,
    Payment,
    PaymentMethod,
    PaymentState,
    PayoutSchedule,
    StorePaymentConfig,
    StripeEvent,
)
from storeplex.models.refund import (
    Dispute,
    DisputeOutcome,
    Payout,
    PayoutState,
    Refund,
    RefundReason,
    RefundState,
)
from storeplex.models.store import (
    ApiToken,
    PlatformAdmin,
    StaffRole,
    StaffUser,
    Store,
    StoreStatus,
)
from storeplex.models.totals import StoreDailyTotal

__all__ = [
    "AccountLink",
    "AccountLinkPurpose",
    "AccountStatus",
    "ApiToken",
    "AuthSession",
    "Base",
    "Cart",
    "CartItem",
    "Customer",
    "Dispute",
    "DisputeOutcome",
    "EventStatus",
    "LoginThrottle",
    "MailStatus",
    "Order",
    "OrderItem",
    "OrderPaymentStatus",
    "OrderStatus",
    "OutboxMail",
    "Payment",
    "PaymentMethod",
    "PaymentState",
    "Payout",
    "PayoutSchedule",
    "PayoutState",
    "PlatformAdmin",
    "Product",
    "RecoveryCode",
    "Refund",
    "RefundReason",
    "RefundState",
    "SessionKind",
    "StaffInvitation",
    "StaffRole",
    "StaffUser",
    "Store",
    "StoreDailyTotal",
    "StorePaymentConfig",
    "StoreStatus",
    "StripeEvent",
    "TwoFactor",
    "utcnow",
]
