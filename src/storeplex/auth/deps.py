"""Dependencies that say who the caller is: `CurrentStaff`, `CurrentAdmin`, `CurrentShopper`.

A store-admin caller is a staff session cookie or a store-scoped Bearer token;
the store they act on is the one in that credential. A platform caller is an
admin session or a platform-scoped token. Cookie-authenticated requests that
change something must carry the session's CSRF token (header `X-CSRF-Token`
or form field `csrf_token`); Bearer requests need none. A token acts with its
creator's rights as they are now: a disabled admin or staff member, or one moved
to another role, changes what their tokens may do at once.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.secrets import token_digest
from storeplex.auth.sessions import SessionData, SessionKind, SessionManager
from storeplex.auth.two_factor import is_enabled
from storeplex.config import Settings
from storeplex.deps import SessionDep
from storeplex.errors import Forbidden, Unauthorized
from storeplex.models import (
    ApiToken,
    PlatformAdmin,
    StaffRole,
    StaffUser,
    Store,
    StoreStatus,
    utcnow,
)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PREFIX = "spx"


@dataclass(frozen=True, slots=True)
class StaffPrincipal:
    """A caller acting for one store."""

    store_id: int
    staff_user_id: int | None
    token_id: int | None
    role: str
    session_id: int | None = None


@dataclass(frozen=True, slots=True)
class AdminPrincipal:
    admin_id: int | None
    token_id: int | None
    session_id: int | None = None


def session_manager(request: Request) -> SessionManager:
    manager: SessionManager = request.app.state.sessions
    return manager


async def read_session(
    request: Request, session: AsyncSession, kind: SessionKind
) -> SessionData | None:
    """The live session of this kind (staff, admin, customer) the request carries, or None."""
    return await session_manager(request).read(request, session, kind)


async def check_csrf(request: Request, data: SessionData) -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, data.csrf):
        raise Forbidden("Missing or wrong CSRF token; reload the page and try again", code="csrf")


def client_address(request: Request) -> str | None:
    """The caller's address (uvicorn resolves X-Forwarded-For from trusted proxies only)."""
    return request.client.host if request.client else None


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    if not value.strip():
        raise Unauthorized("Empty bearer token")
    return value.strip()


async def _token_row(session: AsyncSession, token: str) -> ApiToken:
    row = (
        await session.execute(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    ).scalar_one_or_none()
    now = utcnow()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("Invalid API token")
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthorized("This API token has expired")
    await session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return row


async def _active_store(session: AsyncSession, store_id: int) -> None:
    status = (
        await session.execute(select(Store.status).where(Store.id == store_id))
    ).scalar_one_or_none()
    if status != StoreStatus.ACTIVE:
        raise Forbidden("This store is suspended; contact the platform operator")


async def staff_of_token(session: AsyncSession, row: ApiToken) -> StaffPrincipal:
    """The rights a store token has now: its creator's current role (owner if made by the
    platform); 401 if its creator is disabled or gone."""
    if row.store_id is None:
        raise Forbidden("This is a platform token; store endpoints need a store token")
    role = StaffRole.OWNER
    if row.staff_user_id is not None:
        creator = await session.get(StaffUser, row.staff_user_id)
        if creator is None or not creator.is_active or creator.store_id != row.store_id:
            raise Unauthorized("The staff account behind this API token is disabled")
        role = creator.role
    return StaffPrincipal(row.store_id, row.staff_user_id, row.id, role)


async def admin_of_token(session: AsyncSession, row: ApiToken) -> AdminPrincipal:
    """A platform token's caller; 401 if the admin who made it is disabled or gone."""
    if row.store_id is not None:
        raise Forbidden("Platform endpoints need a platform token")
    if row.platform_admin_id is not None:
        creator = await session.get(PlatformAdmin, row.platform_admin_id)
        if creator is None or not creator.is_active:
            raise Unauthorized("The platform admin behind this API token is disabled")
    return AdminPrincipal(row.platform_admin_id, row.id)


async def current_staff(request: Request, session: SessionDep) -> StaffPrincipal:
    token = bearer_token(request)
    if token is not None:
        principal = await staff_of_token(session, await _token_row(session, token))
        await _active_store(session, principal.store_id)
        return principal
    data = await read_session(request, session, "staff")
    if data is None or data.store_id is None:
        raise Unauthorized("Log in as store staff, or send a store API token")
    user = (
        await session.execute(
            select(StaffUser).where(StaffUser.id == data.user_id, StaffUser.is_active.is_(True))
        )
    ).scalar_one_or_none()
    if user is None or user.store_id != data.store_id:
        raise Unauthorized("Your session has ended; log in again")
    await _active_store(session, user.store_id)
    await check_csrf(request, data)
    return StaffPrincipal(user.store_id, user.id, None, user.role, data.session_id)


TWO_FACTOR_FIRST = (
    "Platform admins must sign in with two-factor authentication here: turn it on at "
    "/platform/account first"
)


async def require_admin_two_factor(request: Request, session: AsyncSession, admin_id: int) -> None:
    """In production every platform admin signs in with a second factor: one who has not
    turned it on yet may do nothing but turn it on (403 `two_factor_required`)."""
    settings: Settings = request.app.state.settings
    if settings.is_production and not await is_enabled(session, "admin", admin_id):
        raise Forbidden(TWO_FACTOR_FIRST, code="two_factor_required")


async def current_admin(request: Request, session: SessionDep) -> AdminPrincipal:
    principal = await current_admin_enrolling(request, session)
    if principal.admin_id is not None:
        await require_admin_two_factor(request, session, principal.admin_id)
    return principal


async def current_admin_enrolling(request: Request, session: SessionDep) -> AdminPrincipal:
    """A platform admin caller who may not have set up two-factor sign-in yet (only the
    set-up itself uses this; everything else needs `current_admin`)."""
    token = bearer_token(request)
    if token is not None:
        return await admin_of_token(session, await _token_row(session, token))
    data = await read_session(request, session, "admin")
    if data is None:
        raise Unauthorized("Log in as a platform admin, or send a platform API token")
    admin = (
        await session.execute(
            select(PlatformAdmin).where(
                PlatformAdmin.id == data.user_id, PlatformAdmin.is_active.is_(True)
            )
        )
    ).scalar_one_or_none()
    if admin is None:
        raise Unauthorized("Your session has ended; log in again")
    await check_csrf(request, data)
    return AdminPrincipal(admin.id, None, data.session_id)


def require_owner(principal: StaffPrincipal) -> None:
    """Owners alone manage staff, tokens, payouts, the business email and the Stripe dashboard."""
    if principal.role != StaffRole.OWNER:
        raise Forbidden("Only the store owner may do this")


CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]
CurrentAdmin = Annotated[AdminPrincipal, Depends(current_admin)]
CurrentAdminEnrolling = Annotated[AdminPrincipal, Depends(current_admin_enrolling)]
