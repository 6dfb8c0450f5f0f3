"""Shopper accounts on a storefront: register, log in/out, the account, saved cards.

A shopper session is the server-side session of kind "customer" for this store;
requests that change something carry its CSRF token (header `X-CSRF-Token`).
Registering an email the store already knows answers 202 and mails a link instead
of taking the account over.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StrictStr

from storeplex.auth import reset
from storeplex.auth.deps import check_csrf, client_address, read_session, session_manager
from storeplex.auth.login import release
from storeplex.auth.passwords import MAX_PASSWORD_LENGTH
from storeplex.customers import service
from storeplex.deps import SessionDep, SettingsDep, get_database
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
    password: StrictStr = Field(min_length=8, max_length=MAX_PASSWORD_LENGTH)
    name: StrictStr | None = Field(default=None, max_length=200)


class ClaimIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: StrictStr = Field(min_length=1, max_length=128)


class ResetAskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)


class ResetCompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: StrictStr = Field(min_length=1, max_length=128)
    new_password: StrictStr = Field(min_length=8, max_length=MAX_PASSWORD_LENGTH)


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: StrictStr = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: StrictStr = Field(min_length=8, max_length=MAX_PASSWORD_LENGTH)


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr = Field(max_length=320)
    password: StrictStr = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


CHECK_EMAIL = (
    "We have sent a link to this email address; follow it to finish creating your account."
)


async def current_shopper(request: Request, session: SessionDep, store: StoreDep) -> Customer:
    data = await read_session(request, session, "customer")
    if data is None or data.store_id != store.id:
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


@router.post("/register", status_code=201, responses={202: {"description": "link mailed"}})
async def register(
    body: RegisterIn, store: StoreDep, session: SessionDep, request: Request, response: Response
) -> Any:
    """Create a shopper account and sign in; an email the store already knows gets a link
    mailed to it instead (202), whether it has an account or only guest orders."""
    store_id = store.id
    await release(session)
    result = await service.register(
        session, store_id=store_id, email=str(body.email), password=body.password, name=body.name
    )
    if result.customer is None:
        return JSONResponse({"status": "check_email", "message": CHECK_EMAIL}, 202)
    data = await session_manager(request).start(
        session, request, response, "customer", result.customer.id, store_id
    )
    return _account(result.customer, data.csrf)


@router.post("/claim")
async def claim(
    body: ClaimIn, store: StoreDep, session: SessionDep, request: Request, response: Response
) -> dict[str, Any]:
    """Follow the mailed registration link: the account is yours, and you are signed in."""
    customer = await service.claim(session, store_id=store.id, secret=body.token)
    data = await session_manager(request).start(
        session, request, response, "customer", customer.id, store.id
    )
    return _account(customer, data.csrf)


@router.post("/login")
async def login(
    body: LoginIn, store: StoreDep, session: SessionDep, request: Request, response: Response
) -> dict[str, Any]:
    """Log in; the answer carries the CSRF token for later changes."""
    store_id = store.id
    await release(session)
    customer = await service.authenticate(
        session,
        get_database(request),
        store_id=store_id,
        email=str(body.email),
        password=body.password,
        address=client_address(request),
    )
    data = await session_manager(request).start(
        session, request, response, "customer", customer.id, store_id
    )
    return _account(customer, data.csrf)


@router.post("/logout")
async def logout(
    shopper: CurrentShopper, request: Request, response: Response, session: SessionDep
) -> dict[str, bool]:
    await session_manager(request).end(request, session, response, "customer")
    return {"logged_out": True}


@router.post("/password-reset", status_code=202)
async def ask_for_password_reset(
    body: ResetAskIn, store: StoreDep, session: SessionDep, settings: SettingsDep
) -> dict[str, str]:
    """Mail a single-use link to choose a new password (the same answer for any email)."""
    await reset.ask_for_reset(
        session, settings, kind="customer", email=str(body.email), store=store
    )
    return {"message": reset.RESET_ASKED}


@router.post("/password-reset/complete")
async def complete_password_reset(
    body: ResetCompleteIn, store: StoreDep, session: SessionDep
) -> dict[str, str]:
    """Follow the link: the new password is set, every session of the account ends."""
    await reset.complete_reset(
        session, secret=body.token, new_password=body.new_password, store_id=store.id
    )
    return {"message": "Your password has been changed; log in with it."}


@router.post("/password")
async def change_password(
    body: PasswordChangeIn,
    shopper: CurrentShopper,
    request: Request,
    response: Response,
    session: SessionDep,
) -> dict[str, Any]:
    """Change your password: every session of yours ends; this browser gets a new one."""
    await service.change_password(
        session,
        customer=shopper,
        current_password=body.current_password,
        new_password=body.new_password,
    )
    data = await session_manager(request).start(
        session, request, response, "customer", shopper.id, shopper.store_id
    )
    return _account(shopper, data.csrf)


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
