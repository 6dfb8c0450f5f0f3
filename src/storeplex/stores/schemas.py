"""Request and response bodies for stores.

Rule: requests refuse unknown fields (a typo is a 422, not a silent no-op); the
slug and status are never editable through PATCH.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from storeplex.auth.schemas import StaffOut
from storeplex.auth.secrets import MIN_PASSWORD_LENGTH
from storeplex.auth.service import MAX_PASSWORD_LENGTH
from storeplex.models import Store

StaffMail = Literal[
    "staff_new_order", "dispute_opened", "payout_paid", "payout_failed", "account_needs_information"
]


class StoreDetails(BaseModel):
    """Fields a store's staff may edit; all optional in a PATCH."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    business_email: EmailStr | None = Field(default=None, max_length=320)
    business_phone: str | None = Field(default=None, max_length=40)
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    locale: str | None = Field(
        default=None,
        max_length=20,
        description="How money reads in pages and mails, e.g. fr_LU (12,50 €) or en_IE (€12.50)",
    )
    staff_mails_off: list[StaffMail] | None = Field(
        default=None, max_length=5, description="Staff mails the store does not want"
    )


class PlatformStoreUpdate(StoreDetails):
    country: str | None = Field(default=None, min_length=2, max_length=2)
    currency: str | None = Field(default=None, min_length=3, max_length=3)


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(min_length=1, max_length=100)
    name: str = Field(min_length=1, max_length=200)
    business_email: EmailStr = Field(max_length=320)
    business_phone: str | None = Field(default=None, max_length=40)
    address_line1: str | None = Field(default=None, max_length=200)
    address_line2: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=100)
    postal_code: str | None = Field(default=None, max_length=20)
    country: str = Field(default="LU", min_length=1, max_length=10)
    currency: str = Field(default="EUR", min_length=1, max_length=10)
    owner_email: EmailStr = Field(max_length=320)
    # Without it, the owner is mailed a link to choose their password.
    owner_password: str | None = Field(
        default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )
    owner_name: str | None = Field(default=None, max_length=200)


class StoreOut(BaseModel):
    id: int
    slug: str
    name: str
    business_email: str
    business_phone: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    postal_code: str | None
    country: str
    currency: str
    locale: str | None
    staff_mails_off: list[str]
    status: str
    suspended_reason: str | None = None
    created_at: datetime

    @classmethod
    def of(cls, store: Store) -> StoreOut:
        return cls(
            id=store.id,
            slug=store.slug,
            name=store.name,
            business_email=store.business_email,
            business_phone=store.business_phone,
            address_line1=store.address_line1,
            address_line2=store.address_line2,
            city=store.city,
            postal_code=store.postal_code,
            country=store.country,
            currency=store.currency,
            suspended_reason=store.suspended_reason,
            locale=store.locale,
            staff_mails_off=[k for k in (store.staff_mails_off or "").split(",") if k],
            status=store.status,
            created_at=store.created_at,
        )


class StoreCreated(BaseModel):
    store: StoreOut
    owner: StaffOut


class StoreList(BaseModel):
    data: list[StoreOut]
    has_more: bool


class StoreSuspend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Shown to the store's staff while the store is suspended.
    reason: str | None = Field(default=None, max_length=500)
