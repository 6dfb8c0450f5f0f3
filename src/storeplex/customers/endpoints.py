"""Shopper accounts on a storefront: register, log in/out, the account, saved cards.

A shopper session is the signed cookie of kind "customer" for this store; cookie
requests that change something carry its CSRF token (header `X-CSRF-Token`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictStr

from storeplex.auth.deps import check_csrf, read_session, session_codec
from storeplex.customers import service
from storeplex.deps import SessionDep
from storeplex.errors import Unauthorized
from storeplex.models import Customer, Store
from storeplex.payments.deps import GatewayDep
from storeplex.tenancy import require_store_context

router = APIRouter(prefix="/api/v1/storefront/{slug}/account", tags=["storefront-account"])

StoreDep = Annotated[Store, require_store_context()]
PmId = Annotated[int, Path(ge=1, le=2**62)]


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)
    password: StrictStr = Field(min_length=8, max_length=200)
    name: StrictStr | None = Field(default=None, max_length=200)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)
    password: StrictStr = Field(min_length=1, max_length=200)


async def current_shopper(request: Request, session: SessionDep, store: StoreDep) -> Customer:
    data = read_session(request)
    if data is None or data.kind != "customer" or data.store_id != store.id:
        raise Unauthorized("Log in to your account at this store")
    customer = await session.get(Customer, data.user_id)
    if customer is None or customer.store_id != store.id or not customer.password_hash:
        raise Unauthorized("Your session has ended; log in again")
    await check_csrf(request, data)
    return customer


CurrentShopper = Annotated[Customer, Depends(current_shopper)]


def _account(customer: Customer, csrf: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": customer.id, "email": customer.email, "name": customer.name}
    if csrf is not None:
        out["csrf_token"] = csrf
    return out


@router.post("/register", status_code=201)
async def register(
    body: RegisterIn, store: StoreDep, session: SessionDep, request: Request, response: Response
) -> dict[str, Any]:
    """Create a shopper account at this store and log in."""
    customer = await service.register(
        session, store_id=store.id, email=str(body.email), password=body.password, name=body.name
    )
    await session.flush()
    data = session_codec(request).start(response, "customer", customer.id, store.id)
    return _account(customer, data.csrf)


@router.post("/login")
async def login(
    body: LoginIn, store: StoreDep, session: SessionDep, request: Request, response: Response
) -> dict[str, Any]:
    """Log in; the answer carries the CSRF token for later changes."""
    customer = await service.authenticate(
        session, store_id=store.id, email=str(body.email), password=body.password
    )
    data = session_codec(request).start(response, "customer", customer.id, store.id)
    return _account(customer, data.csrf)


@router.post("/logout")
async def logout(shopper: CurrentShopper, request: Request, response: Response) -> dict[str, bool]:
    session_codec(request).end(response)
    return {"logged_out": True}


@router.get("")
async def account(shopper: CurrentShopper) -> dict[str, Any]:
    return _account(shopper)


@router.get("/payment-methods")
async def list_cards(shopper: CurrentShopper, session: SessionDep) -> dict[str, Any]:
    """The shopper's saved cards, default first."""
    rows = await service.list_payment_methods(
        session, store_id=shopper.store_id, customer_id=shopper.id
    )
    return {"data": [service.payment_method_out(r) for r in rows], "has_more": False}


@router.post("/payment-methods/{pm_id}/default")
async def make_default(pm_id: PmId, shopper: CurrentShopper, session: SessionDep) -> dict[str, Any]:
    row = await service.set_default(
        session, store_id=shopper.store_id, customer_id=shopper.id, payment_method_id=pm_id
    )
    return service.payment_method_out(row)


@router.delete("/payment-methods/{pm_id}")
async def remove(
    pm_id: PmId, shopper: CurrentShopper, session: SessionDep, gateway: GatewayDep
) -> dict[str, Any]:
    """Detach the card at Stripe; it is no longer offered."""
    row = await service.remove_payment_method(
        session, gateway, store_id=shopper.store_id, customer_id=shopper.id, payment_method_id=pm_id
    )
    return {**service.payment_method_out(row), "removed": True}
