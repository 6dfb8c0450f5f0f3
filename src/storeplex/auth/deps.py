"""Dependencies that say who the caller is: `CurrentStaff`, `CurrentAdmin`, `CurrentShopper`.

A store-admin caller is a staff session cookie or a store-scoped Bearer token;
the store they act on is the one in that credential. A platform caller is an
admin session or a platform-scoped token. Cookie-authenticated requests that
change something must carry the session's CSRF token (header `X-CSRF-Token`
or form field `csrf_token`); Bearer requests need none.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select, update

from storeplex.auth.secrets import token_digest
from storeplex.auth.sessions import SESSION_COOKIE, SessionCodec, SessionData
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


@dataclass(frozen=True, slots=True)
class AdminPrincipal:
    admin_id: int | None
    token_id: int | None


def session_codec(request: Request) -> SessionCodec:
    codec: SessionCodec = request.app.state.session_codec
    return codec


def read_session(request: Request) -> SessionData | None:
    return session_codec(request).decode(request.cookies.get(SESSION_COOKIE))


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


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    if not value.strip():
        raise Unauthorized("Empty bearer token")
    return value.strip()


async def _token_row(session: SessionDep, token: str) -> ApiToken:
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


async def _active_store(session: SessionDep, store_id: int) -> None:
    status = (
        await session.execute(select(Store.status).where(Store.id == store_id))
    ).scalar_one_or_none()
    if status != StoreStatus.ACTIVE:
        raise Forbidden("This store is suspended; contact the platform operator")


async def current_staff(request: Request, session: SessionDep) -> StaffPrincipal:
    token = bearer_token(request)
    if token is not None:
        row = await _token_row(session, token)
        if row.store_id is None:
            raise Forbidden("This is a platform token; store endpoints need a store token")
        await _active_store(session, row.store_id)
        role = StaffRole.OWNER
        if row.staff_user_id is not None:
            # A token acts with its creator's current rights: disabling or demoting
            # the person takes effect on their tokens too.
            creator = await session.get(StaffUser, row.staff_user_id)
            if creator is None or not creator.is_active or creator.store_id != row.store_id:
                raise Unauthorized("The staff account behind this API token is disabled")
            role = creator.role
        return StaffPrincipal(row.store_id, row.staff_user_id, row.id, role)
    data = read_session(request)
    if data is None or data.kind != "staff" or data.store_id is None:
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
    return StaffPrincipal(user.store_id, user.id, None, user.role)


async def current_admin(request: Request, session: SessionDep) -> AdminPrincipal:
    token = bearer_token(request)
    if token is not None:
        row = await _token_row(session, token)
        if row.store_id is not None:
            raise Forbidden("Platform endpoints need a platform token")
        return AdminPrincipal(row.platform_admin_id, row.id)
    data = read_session(request)
    if data is None or data.kind != "admin":
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
    return AdminPrincipal(admin.id, None)


CurrentStaff = Annotated[StaffPrincipal, Depends(current_staff)]
CurrentAdmin = Annotated[AdminPrincipal, Depends(current_admin)]
