"""Login, logout, who-am-i, API tokens and staff accounts (HTTP only; rules live in service.py).

Rule: only a store's owner manages its tokens and staff; the store is always the
one in the caller's credential, so another store's token id answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from storeplex.auth import service
from storeplex.auth.deps import (
    CurrentAdmin,
    CurrentStaff,
    StaffPrincipal,
    bearer_token,
    check_csrf,
    read_session,
    session_codec,
)
from storeplex.auth.schemas import (
    AdminLoginResponse,
    AdminOut,
    LoginRequest,
    MeResponse,
    StaffCreate,
    StaffList,
    StaffLoginResponse,
    StaffOut,
    StoreRef,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    TokenRef,
)
from storeplex.deps import SessionDep
from storeplex.errors import Forbidden, Unauthorized
from storeplex.models import PlatformAdmin, StaffRole, StaffUser, Store

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
# Mounted under /api/v1/store by stores/endpoints.py.
store_tokens_router = APIRouter(prefix="/tokens", tags=["store-tokens"])
store_staff_router = APIRouter(prefix="/staff", tags=["store-staff"])
# Mounted under /api/v1/platform by stores/endpoints.py.
platform_tokens_router = APIRouter(prefix="/tokens", tags=["platform-tokens"])

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def _require_owner(principal: StaffPrincipal) -> None:
    if principal.role != StaffRole.OWNER:
        raise Forbidden("Only the store owner may do this")


@router.post("/staff/login", response_model=StaffLoginResponse)
async def staff_login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep
) -> StaffLoginResponse:
    user, store = await service.authenticate_staff(
        session, email=body.email, password=body.password
    )
    data = session_codec(request).start(response, "staff", user.id, store.id)
    return StaffLoginResponse(
        csrf_token=data.csrf, staff=StaffOut.of(user), store=StoreRef.of(store)
    )


@router.post("/admin/login", response_model=AdminLoginResponse)
async def admin_login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep
) -> AdminLoginResponse:
    admin = await service.authenticate_admin(session, email=body.email, password=body.password)
    data = session_codec(request).start(response, "admin", admin.id, None)
    return AdminLoginResponse(csrf_token=data.csrf, admin=AdminOut.of(admin))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response) -> None:
    data = read_session(request)
    if data is not None:
        await check_csrf(request, data)
    session_codec(request).end(response)


@router.get("/me", response_model=MeResponse, response_model_exclude_none=True)
async def me(request: Request, session: SessionDep) -> MeResponse:
    token = bearer_token(request)
    if token is not None:
        row = await service.resolve_token(session, token=token)
        if row is None:
            raise Unauthorized("Invalid, expired or revoked API token")
        ref = TokenRef(id=row.id, name=row.name, prefix=row.token_prefix)
        if row.store_id is None:
            return MeResponse(kind="admin", via="token", token=ref)
        store = await session.get(Store, row.store_id)
        assert store is not None
        return MeResponse(
            kind="staff", via="token", token=ref, store=StoreRef.of(store), role=StaffRole.OWNER
        )
    data = read_session(request)
    if data is not None and data.kind == "staff":
        user = await session.get(StaffUser, data.user_id)
        store = await session.get(Store, data.store_id) if data.store_id else None
        if user is not None and user.is_active and store is not None:
            return MeResponse(
                kind="staff",
                via="session",
                staff=StaffOut.of(user),
                store=StoreRef.of(store),
                role=user.role,
            )
    if data is not None and data.kind == "admin":
        admin = await session.get(PlatformAdmin, data.user_id)
        if admin is not None and admin.is_active:
            return MeResponse(kind="admin", via="session", admin=AdminOut.of(admin))
    raise Unauthorized("Not logged in")


# --- store tokens -------------------------------------------------------------------


@store_tokens_router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_store_token(
    body: TokenCreate, principal: CurrentStaff, session: SessionDep
) -> TokenCreated:
    _require_owner(principal)
    row, secret = await service.create_api_token(
        session,
        store_id=principal.store_id,
        name=body.name,
        expires_in_days=body.expires_in_days,
        staff_user_id=principal.staff_user_id,
    )
    return TokenCreated(
        id=row.id, name=row.name, token=secret, prefix=row.token_prefix, expires_at=row.expires_at
    )


@store_tokens_router.get("", response_model=TokenList)
async def list_store_tokens(
    principal: CurrentStaff, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> TokenList:
    _require_owner(principal)
    rows, has_more = await service.list_api_tokens(
        session, store_id=principal.store_id, limit=limit, offset=offset
    )
    return TokenList(data=[TokenOut.of(r) for r in rows], has_more=has_more)


@store_tokens_router.delete("/{token_id}", response_model=TokenOut)
async def revoke_store_token(
    token_id: int, principal: CurrentStaff, session: SessionDep
) -> TokenOut:
    _require_owner(principal)
    row = await service.revoke_api_token(session, store_id=principal.store_id, token_id=token_id)
    return TokenOut.of(row)


# --- store staff --------------------------------------------------------------------


@store_staff_router.get("", response_model=StaffList)
async def list_staff(
    principal: CurrentStaff, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> StaffList:
    _require_owner(principal)
    rows, has_more = await service.list_staff_users(
        session, store_id=principal.store_id, limit=limit, offset=offset
    )
    return StaffList(data=[StaffOut.of(u) for u in rows], has_more=has_more)


@store_staff_router.post("", status_code=status.HTTP_201_CREATED, response_model=StaffOut)
async def create_staff(body: StaffCreate, principal: CurrentStaff, session: SessionDep) -> StaffOut:
    _require_owner(principal)
    user = await service.create_staff_user(
        session,
        store_id=principal.store_id,
        email=body.email,
        password=body.password,
        role=body.role,
        name=body.name,
    )
    return StaffOut.of(user)


# --- platform tokens ----------------------------------------------------------------


@platform_tokens_router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_platform_token(
    body: TokenCreate, principal: CurrentAdmin, session: SessionDep
) -> TokenCreated:
    row, secret = await service.create_api_token(
        session,
        store_id=None,
        name=body.name,
        expires_in_days=body.expires_in_days,
        platform_admin_id=principal.admin_id,
    )
    return TokenCreated(
        id=row.id, name=row.name, token=secret, prefix=row.token_prefix, expires_at=row.expires_at
    )


@platform_tokens_router.get("", response_model=TokenList)
async def list_platform_tokens(
    principal: CurrentAdmin, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> TokenList:
    rows, has_more = await service.list_api_tokens(
        session, store_id=None, limit=limit, offset=offset
    )
    return TokenList(data=[TokenOut.of(r) for r in rows], has_more=has_more)


@platform_tokens_router.delete("/{token_id}", response_model=TokenOut)
async def revoke_platform_token(
    token_id: int, principal: CurrentAdmin, session: SessionDep
) -> TokenOut:
    row = await service.revoke_api_token(session, store_id=None, token_id=token_id)
    return TokenOut.of(row)
