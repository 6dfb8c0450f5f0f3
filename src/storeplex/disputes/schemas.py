"""Dispute responses: integer minor units plus a display string."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from storeplex.models import Dispute
from storeplex.money import format_amount


class DisputeOut(BaseModel):
    id: int
    order_id: int
    payment_id: int
    stripe_dispute_id: str
    status: str
    outcome: str | None
    reason: str | None
    amount: int
    amount_display: str
    currency: str
    evidence_due_by: datetime | None
    transfer_reversal_id: str | None
    reversed_amount: int
    return_transfer_id: str | None
    created_at: datetime
    closed_at: datetime | None


class DisputeList(BaseModel):
    data: list[DisputeOut]
    has_more: bool


def dispute_out(row: Dispute) -> DisputeOut:
    return DisputeOut(
        id=row.id,
        order_id=row.order_id,
        payment_id=row.payment_id,
        stripe_dispute_id=row.stripe_dispute_id,
        status=row.status,
        outcome=row.outcome,
        reason=row.reason,
        amount=row.amount,
        amount_display=format_amount(row.amount, row.currency),
        currency=row.currency,
        evidence_due_by=row.evidence_due_by,
        transfer_reversal_id=row.transfer_reversal_id,
        reversed_amount=row.reversed_amount,
        return_transfer_id=row.return_transfer_id,
        created_at=row.created_at,
        closed_at=row.closed_at,
    )
