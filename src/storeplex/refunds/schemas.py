"""Refund request and response bodies. Amounts in requests are decimal strings in the
store's currency; in responses, integer minor units plus a display string."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from storeplex.models import Refund
from storeplex.money import MONEY_TEXT_SCHEMA, format_amount


class RefundIn(BaseModel):
    """POST /api/v1/store/orders/{order_id}/refunds. Without `amount`, all that is left."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictStr | None = Field(
        default=None,
        description='In the store\'s currency, e.g. "12.50"',
        json_schema_extra=MONEY_TEXT_SCHEMA,
    )
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] = "requested_by_customer"
    note: StrictStr | None = Field(default=None, max_length=1000)
    restock: StrictBool = False


class RefundOut(BaseModel):
    id: int
    order_id: int
    payment_id: int
    stripe_refund_id: str | None
    status: str
    amount: int
    amount_display: str
    currency: str
    reason: str | None
    note: str | None
    failure_reason: str | None
    restock: bool
    transfer_reversal_amount: int
    application_fee_refund_amount: int
    stripe_transfer_reversal_id: str | None
    stripe_fee_refund_id: str | None
    created_by_staff_id: int | None
    created_by_token_id: int | None
    created_at: datetime
    updated_at: datetime


class RefundList(BaseModel):
    data: list[RefundOut]
    has_more: bool


def refund_out(refund: Refund) -> RefundOut:
    return RefundOut(
        id=refund.id,
        order_id=refund.order_id,
        payment_id=refund.payment_id,
        stripe_refund_id=refund.stripe_refund_id,
        status=refund.status,
        amount=refund.amount,
        amount_display=format_amount(refund.amount, refund.currency),
        currency=refund.currency,
        reason=refund.reason,
        note=refund.note,
        failure_reason=refund.failure_reason,
        restock=refund.restock,
        transfer_reversal_amount=refund.transfer_reversal_amount,
        application_fee_refund_amount=refund.application_fee_refund_amount,
        stripe_transfer_reversal_id=refund.stripe_transfer_reversal_id,
        stripe_fee_refund_id=refund.stripe_fee_refund_id,
        created_by_staff_id=refund.created_by_staff_id,
        created_by_token_id=refund.created_by_token_id,
        created_at=refund.created_at,
        updated_at=refund.updated_at,
    )
