"""Order requests (checkout, fulfilment) and responses. Money out is integer minor units
beside a display string; nothing in a request carries a price."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from storeplex.models import Order, OrderItem
from storeplex.money import format_amount


class ShippingAddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postal_code: str = Field(min_length=1, max_length=20)
    country: str = Field(
        min_length=2,
        max_length=2,
        pattern=r"^[A-Za-z]{2}$",
        description="ISO 3166-1 alpha-2 code, for example LU",
    )

    @field_validator("country")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper()

    @field_validator("line2")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None


class CheckoutIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr = Field(max_length=320)
    name: str = Field(min_length=1, max_length=200)
    shipping: ShippingAddressIn
    phone: str | None = Field(default=None, max_length=40)


FulfilmentStatus = Literal["processing", "shipped", "completed"]


class FulfilmentStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: FulfilmentStatus
    carrier: str | None = Field(default=None, max_length=100)
    tracking_number: str | None = Field(default=None, max_length=100)
    tracking_url: str | None = Field(
        default=None, max_length=500, description="http(s) link where the shopper follows it"
    )


class OrderItemOut(BaseModel):
    product_id: int | None
    sku: str
    name: str
    quantity: int
    unit_price_amount: int
    unit_price: str
    line_total_amount: int
    line_total: str


class ShippingAddressOut(BaseModel):
    name: str
    line1: str
    line2: str | None
    city: str
    postal_code: str
    country: str
    phone: str | None


class OrderOut(BaseModel):
    id: int
    number: int
    status: str
    payment_status: str
    currency: str
    items: list[OrderItemOut]
    subtotal_amount: int
    subtotal: str
    shipping_amount: int
    shipping: str
    total_amount: int
    total: str
    created_at: datetime
    paid_at: datetime | None
    canceled_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None


class CheckoutOut(OrderOut):
    access_token: str = Field(
        description="Shown once: send it as X-Order-Token to read this order's status"
    )


class StaffOrderOut(OrderOut):
    customer_id: int
    customer_email: str
    shipping_address: ShippingAddressOut
    payment_intent_id: str | None
    stock_released: bool
    closed_reason: Literal["refunded", "lost_to_dispute"] | None = Field(
        default=None,
        description="Set when a paid order left fulfilment because its money went back "
        "(refunded in full, or a dispute lost): there is nothing to ship",
    )


class StaffOrderSummary(BaseModel):
    id: int
    number: int
    status: str
    payment_status: str
    currency: str
    total_amount: int
    total: str
    customer_email: str
    created_at: datetime
    closed_reason: Literal["refunded", "lost_to_dispute"] | None = None


class OrderList(BaseModel):
    data: list[StaffOrderSummary]
    has_more: bool


def order_fields(order: Order, items: list[OrderItem]) -> dict[str, Any]:
    """The fields every order view shares, money as minor units plus display strings."""
    currency = order.currency
    return {
        "id": order.id,
        "number": order.number,
        "status": order.status,
        "payment_status": order.payment_status,
        "currency": currency,
        "items": [
            OrderItemOut(
                product_id=item.product_id,
                sku=item.sku,
                name=item.name,
                quantity=item.quantity,
                unit_price_amount=item.unit_price_amount,
                unit_price=format_amount(item.unit_price_amount, currency),
                line_total_amount=item.line_total_amount,
                line_total=format_amount(item.line_total_amount, currency),
            )
            for item in items
        ],
        "subtotal_amount": order.subtotal_amount,
        "subtotal": format_amount(order.subtotal_amount, currency),
        "shipping_amount": order.shipping_amount,
        "shipping": format_amount(order.shipping_amount, currency),
        "total_amount": order.total_amount_cents,
        "total": format_amount(order.total_amount_cents, currency),
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "canceled_at": order.canceled_at,
        "shipped_at": order.shipped_at,
        "completed_at": order.completed_at,
        "carrier": order.carrier,
        "tracking_number": order.tracking_number,
        "tracking_url": order.tracking_url,
    }


def staff_order_out(
    order: Order, items: list[OrderItem], closed_reason: str | None = None
) -> StaffOrderOut:
    return StaffOrderOut(
        **order_fields(order, items),
        customer_id=order.customer_id,
        customer_email=order.email,
        shipping_address=ShippingAddressOut(
            name=order.shipping_name,
            line1=order.shipping_line1,
            line2=order.shipping_line2,
            city=order.shipping_city,
            postal_code=order.shipping_postal_code,
            country=order.shipping_country,
            phone=order.shipping_phone,
        ),
        payment_intent_id=order.payment_intent_id,
        closed_reason=closed_reason,
        stock_released=order.stock_released,
    )


def staff_order_summary(order: Order, closed_reason: str | None = None) -> StaffOrderSummary:
    return StaffOrderSummary(
        id=order.id,
        number=order.number,
        status=order.status,
        payment_status=order.payment_status,
        currency=order.currency,
        total_amount=order.total_amount_cents,
        total=format_amount(order.total_amount_cents, order.currency),
        customer_email=order.email,
        created_at=order.created_at,
        closed_reason=closed_reason,
    )
