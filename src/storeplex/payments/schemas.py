"""Request and response bodies of the payment endpoints: major units for display, plus
exact minor units."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from storeplex.money import MONEY_TEXT_SCHEMA


class SetupRequest(BaseModel):
    """POST /api/v1/store/payments/setup. Business details default to the store's."""

    model_config = ConfigDict(extra="forbid")

    business_type: Literal["individual", "company"] = "company"
    business_name: str | None = Field(default=None, max_length=200)
    business_email: str | None = Field(default=None, max_length=320)
    business_phone: str | None = Field(default=None, max_length=40)
    product_description: str | None = Field(default=None, max_length=500)


class SetupResponse(BaseModel):
    stripe_account_id: str
    onboarding_url: str
    message: str


class PaymentConfigResponse(BaseModel):
    """GET /config: plus what is still due and the fee in minor units."""

    stripe_account_id: str | None
    account_status: str
    accepts_payments: bool
    currency: str | None = None
    platform_fee_percentage: float | None = None
    platform_fee_percentage_exact: str | None = None
    platform_fixed_fee_minor: int | None = None
    needs_onboarding: bool | None = None
    needs_setup: bool | None = None
    charges_enabled: bool = False
    payouts_enabled: bool = False
    details_submitted: bool = False
    requirements_due: list[str] = []
    disabled_reason: str | None = None
    payout_schedule: str | None = None
    minimum_payout_minor: int | None = None


class CreateIntentRequest(BaseModel):
    """The order to pay. Anything else a client sends (amount, customer_email) is
    accepted and ignored: the amount always comes from the order."""

    model_config = ConfigDict(extra="ignore")

    order_id: int = Field(gt=0)
    access_token: str | None = Field(default=None, max_length=200)
    save_payment_method: bool = Field(
        default=False, description="Keep the card for next time (needs a shopper account)"
    )
    payment_method_id: int | None = Field(
        default=None, gt=0, description="Pay with one of the shopper's saved cards"
    )


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    order_id: int = Field(gt=0)
    access_token: str | None = Field(default=None, max_length=200)


class PaymentStatusResponse(BaseModel):
    order_id: int
    order_number: int
    order_status: str
    payment_status: str
    payment_intent_id: str | None
    status: str
    failure_reason: str | None
    amount_total_minor: int
    currency: str
    paid_at: str | None


class FeeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform_fee_percentage: str = Field(
        description='0 to 100, at most two decimals, as a string, e.g. "2.50"',
        json_schema_extra=MONEY_TEXT_SCHEMA,
    )
    platform_fixed_fee: str = Field(
        default="0",
        description='In the store\'s currency, e.g. "0.30"',
        json_schema_extra=MONEY_TEXT_SCHEMA,
    )
