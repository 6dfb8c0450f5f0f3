"""Store staff see their payouts and choose the payout schedule and minimum."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from storeplex.auth.deps import CurrentStaff, require_owner
from storeplex.deps import SessionDep
from storeplex.models import Payout
from storeplex.money import MONEY_TEXT_SCHEMA, format_amount
from storeplex.payments.deps import GatewayDep
from storeplex.payouts import service

router = APIRouter(prefix="/api/v1/store", tags=["store-payouts"])


class PayoutSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payout_schedule: StrictStr = Field(max_length=20, description="daily, weekly or monthly")
    minimum_payout: StrictStr = Field(
        default="0",
        description='In the store\'s currency, e.g. "50.00"',
        json_schema_extra=MONEY_TEXT_SCHEMA,
    )


class PayoutSettingsOut(BaseModel):
    payout_schedule: str
    minimum_payout_minor: int
    minimum_payout_display: str
    stripe_schedule: dict[str, object]


class PayoutOut(BaseModel):
    id: int
    stripe_payout_id: str
    amount: int
    amount_display: str
    currency: str
    status: str
    automatic: bool
    period: str | None
    arrival_date: datetime | None
    failure_code: str | None
    failure_message: str | None
    created_at: datetime


class PayoutList(BaseModel):
    data: list[PayoutOut]
    has_more: bool


def payout_out(row: Payout) -> PayoutOut:
    return PayoutOut(
        id=row.id,
        stripe_payout_id=row.stripe_payout_id,
        amount=row.amount,
        amount_display=format_amount(row.amount, row.currency),
        currency=row.currency,
        status=row.status,
        automatic=row.automatic,
        period=row.period,
        arrival_date=row.arrival_date,
        failure_code=row.failure_code,
        failure_message=row.failure_message,
        created_at=row.created_at,
    )


@router.put("/payments/payout-settings", response_model=PayoutSettingsOut)
async def put_payout_settings(
    body: PayoutSettingsIn, staff: CurrentStaff, session: SessionDep, gateway: GatewayDep
) -> PayoutSettingsOut:
    """Save the schedule and minimum and apply them to the Stripe account (owner only)."""
    require_owner(staff)
    config = await service.update_payout_settings(
        session,
        gateway,
        store_id=staff.store_id,
        schedule=body.payout_schedule,
        minimum_payout=body.minimum_payout,
    )
    return PayoutSettingsOut(
        payout_schedule=config.payout_schedule,
        minimum_payout_minor=config.minimum_payout_amount,
        minimum_payout_display=format_amount(config.minimum_payout_amount, config.currency),
        stripe_schedule=service.stripe_schedule(
            config.payout_schedule, config.minimum_payout_amount
        ),
    )


@router.get("/payouts", response_model=PayoutList)
async def list_payouts(
    staff: CurrentStaff,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> PayoutList:
    """The store's payouts, newest first."""
    rows, has_more = await service.list_payouts(
        session, store_id=staff.store_id, limit=limit, offset=offset
    )
    return PayoutList(data=[payout_out(r) for r in rows], has_more=has_more)
