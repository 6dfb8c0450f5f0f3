"""Login, logout, who-am-i, API tokens and staff accounts (HTTP only; rules live in service.py).

Rule: only a store's owner manages its tokens and staff; the store is always the
one in the caller's credential, so another store's token id answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from storeplex.auth import invitations, reset, service, two_factor
from storeplex.auth.deps import (
    CurrentAdmin,
    CurrentAdminEnrolling,
    CurrentStaff,
    admin_of_token,
    bearer_token,
    check_csrf,
    client_address,
    read_session,
    require_owner,
    session_manager,
    staff_of_token,
)
from storeplex.auth.schemas import (
    AdminLoginResponse,
    AdminOut,
    InvitationList,
    InvitationOut,
    LoginRequest,
    MeResponse,
    Notice,
    PasswordChange,
    PasswordChanged,
    ResetAsk,
    ResetComplete,
    StaffCreate,
    StaffInvited,
    StaffJoin,
    StaffList,
    StaffLoginResponse,
    StaffOut,
    StoreRef,
    TokenCreate,
    TokenCreated,
    TokenList,
    TokenOut,
    TokenRef,
    TwoFactorCode,
    TwoFactorOff,
    TwoFactorOn,
    TwoFactorSetup,
)
from storeplex.auth.sessions import SessionKind, end_sessions
from storeplex.deps import SessionDep, SettingsDep, get_database
from storeplex.errors import Conflict, NotFound, Unauthorized
from storeplex.models import PlatformAdmin, StaffUser, Store

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])
# Mounted under /api/v1/store by stores/endpoints.py.
store_tokens_router = APIRouter(prefix="/tokens", tags=["store-tokens"])
store_staff_router = APIRouter(prefix="/staff", tags=["store-staff"])
# Mounted under /api/v1/platform by stores/endpoints.py.
platform_tokens_router = APIRouter(prefix="/tokens", tags=["platform-tokens"])
# Ending other people's sessions, disabling admins: the platform's side.
platform_accounts_router = APIRouter(prefix="/api/v1/platform", tags=["platform-accounts"])

TOKEN_CANNOT = "Sign in with your password to change it; an API token cannot"

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.post("/staff/login", response_model=StaffLoginResponse)
async def staff_login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep
) -> StaffLoginResponse:
    """Sign in as store staff: a new session (cookie) and the CSRF token for later changes."""
    user, store = await service.authenticate_staff(
        session,
        get_database(request),
        email=body.email,
        password=body.password,
        address=client_address(request),
    )
    await service.second_factor(
        session, get_database(request), person=user, code=body.code, address=client_address(request)
    )
    data = await session_manager(request).start(
        session, request, response, "staff", user.id, store.id
    )
    return StaffLoginResponse(
        csrf_token=data.csrf, staff=StaffOut.of(user), store=StoreRef.of(store)
    )


@router.post("/admin/login", response_model=AdminLoginResponse)
async def admin_login(
    body: LoginRequest, request: Request, response: Response, session: SessionDep
) -> AdminLoginResponse:
    """Sign in as a platform admin."""
    admin = await service.authenticate_admin(
        session,
        get_database(request),
        email=body.email,
        password=body.password,
        address=client_address(request),
    )
    await service.second_factor(
        session,
        get_database(request),
        person=admin,
        code=body.code,
        address=client_address(request),
    )
    data = await session_manager(request).start(session, request, response, "admin", admin.id, None)
    return AdminLoginResponse(csrf_token=data.csrf, admin=AdminOut.of(admin))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(request: Request, response: Response, session: SessionDep) -> None:
    """End the staff and admin sessions this browser carries (with their CSRF token)."""
    kinds: list[SessionKind] = ["staff", "admin"]
    live = [d for k in kinds if (d := await read_session(request, session, k)) is not None]
    for data in live:
        await check_csrf(request, data)
    manager = session_manager(request)
    for kind in kinds:
        await manager.end(request, session, response, kind)


async def _change_own_password(
    request: Request,
    response: Response,
    session: SessionDep,
    body: PasswordChange,
    person: StaffUser | PlatformAdmin | None,
) -> PasswordChanged:
    """Change the signed-in person's password (staff or platform admin alike): every
    session of theirs ends and this browser gets a new one."""
    assert person is not None
    await service.change_password(
        session, person=person, current_password=body.current_password,
        new_password=body.new_password,
    )  # fmt: skip
    kind: SessionKind = "staff" if isinstance(person, StaffUser) else "admin"
    store_id = person.store_id if isinstance(person, StaffUser) else None
    data = await session_manager(request).start(
        session, request, response, kind, person.id, store_id
    )
    return PasswordChanged(csrf_token=data.csrf)


async def _sign_out_everywhere(
    request: Request, response: Response, session: SessionDep, kind: SessionKind,
    user_id: int | None,
) -> None:  # fmt: skip
    """End every session of the signed-in person, on every device, this one included."""
    if user_id is None:
        raise Conflict("This API token belongs to no one; revoke it instead")
    await end_sessions(session, kind=kind, user_id=user_id)
    await session_manager(request).end(request, session, response, kind)


@router.post("/staff/password", response_model=PasswordChanged)
async def change_staff_password(
    body: PasswordChange, principal: CurrentStaff, request: Request, response: Response,
    session: SessionDep,
) -> PasswordChanged:  # fmt: skip
    """Change your password: every session of yours ends; this browser gets a new one."""
    if principal.staff_user_id is None or principal.session_id is None:
        raise Conflict(TOKEN_CANNOT)
    user = await session.get(StaffUser, principal.staff_user_id)
    return await _change_own_password(request, response, session, body, user)


@platform_accounts_router.post("/account/password", response_model=PasswordChanged)
async def change_admin_password(
    body: PasswordChange, principal: CurrentAdmin, request: Request, response: Response,
    session: SessionDep,
) -> PasswordChanged:  # fmt: skip
    """Change your password: every session of yours ends; this browser gets a new one."""
    if principal.admin_id is None or principal.session_id is None:
        raise Conflict(TOKEN_CANNOT)
    admin = await session.get(PlatformAdmin, principal.admin_id)
    return await _change_own_password(request, response, session, body, admin)


@router.post("/staff/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT)
async def staff_sign_out_everywhere(
    principal: CurrentStaff, request: Request, response: Response, session: SessionDep
) -> None:
    """End every session of yours, on every device, this one included."""
    await _sign_out_everywhere(request, response, session, "staff", principal.staff_user_id)


@platform_accounts_router.post(
    "/account/sign-out-everywhere", status_code=status.HTTP_204_NO_CONTENT
)
async def admin_sign_out_everywhere(
    principal: CurrentAdmin, request: Request, response: Response, session: SessionDep
) -> None:
    """End every session of yours, on every device, this one included."""
    await _sign_out_everywhere(request, response, session, "admin", principal.admin_id)


# --- two-factor set-up (pages: /admin/account, /platform/account) -------------------------


async def _me(
    session: SessionDep, staff_id: int | None, admin_id: int | None, session_id: int | None
) -> StaffUser | PlatformAdmin:
    """The signed-in person (a session, not an API token: a token cannot change sign-in)."""
    if session_id is None:
        raise Conflict(
            "Sign in with your password to change two-factor sign-in; an API token cannot"
        )
    person = (
        await session.get(StaffUser, staff_id)
        if staff_id is not None
        else await session.get(PlatformAdmin, admin_id)
    )
    assert person is not None
    return person


async def _setup(
    session: SessionDep, settings: SettingsDep, person: StaffUser | PlatformAdmin
) -> TwoFactorSetup:
    enrolment = await two_factor.begin_enrolment(session, settings, person)
    return TwoFactorSetup(secret=enrolment.secret, otpauth_uri=enrolment.uri)


@router.post("/staff/two-factor/setup", response_model=TwoFactorSetup)
async def staff_two_factor_setup(
    principal: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> TwoFactorSetup:
    """A new authenticator secret (not in force until confirmed with a code)."""
    person = await _me(session, principal.staff_user_id, None, principal.session_id)
    return await _setup(session, settings, person)


@router.post("/staff/two-factor/confirm", response_model=TwoFactorOn)
async def staff_two_factor_confirm(
    body: TwoFactorCode, principal: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> TwoFactorOn:
    """Turn two-factor sign-in on with a first code; the recovery codes, shown once."""
    person = await _me(session, principal.staff_user_id, None, principal.session_id)
    codes = await two_factor.confirm_enrolment(session, settings, person, body.code)
    return TwoFactorOn(recovery_codes=codes)


@router.post("/staff/two-factor/disable", status_code=status.HTTP_204_NO_CONTENT)
async def staff_two_factor_disable(
    body: TwoFactorOff, principal: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> None:
    """Turn two-factor sign-in off: the password and a code."""
    person = await _me(session, principal.staff_user_id, None, principal.session_id)
    await two_factor.disable(session, settings, person, password=body.password, code=body.code)


@platform_accounts_router.post("/account/two-factor/setup", response_model=TwoFactorSetup)
async def admin_two_factor_setup(
    principal: CurrentAdminEnrolling, session: SessionDep, settings: SettingsDep
) -> TwoFactorSetup:
    """A new authenticator secret (not in force until confirmed with a code)."""
    person = await _me(session, None, principal.admin_id, principal.session_id)
    return await _setup(session, settings, person)


@platform_accounts_router.post("/account/two-factor/confirm", response_model=TwoFactorOn)
async def admin_two_factor_confirm(
    body: TwoFactorCode, principal: CurrentAdminEnrolling, session: SessionDep,
    settings: SettingsDep,
) -> TwoFactorOn:  # fmt: skip
    """Turn two-factor sign-in on with a first code; the recovery codes, shown once."""
    person = await _me(session, None, principal.admin_id, principal.session_id)
    codes = await two_factor.confirm_enrolment(session, settings, person, body.code)
    return TwoFactorOn(recovery_codes=codes)


@platform_accounts_router.post(
    "/account/two-factor/disable", status_code=status.HTTP_204_NO_CONTENT
)
async def admin_two_factor_disable(
    body: TwoFactorOff, principal: CurrentAdmin, session: SessionDep, settings: SettingsDep
) -> None:
    """Turn two-factor sign-in off: the password and a code."""
    person = await _me(session, None, principal.admin_id, principal.session_id)
    await two_factor.disable(session, settings, person, password=body.password, code=body.code)


@router.post("/password-reset", status_code=status.HTTP_202_ACCEPTED, response_model=Notice)
async def ask_for_password_reset(
    body: ResetAsk, session: SessionDep, settings: SettingsDep
) -> Notice:
    """Mail a single-use link to choose a new password; the answer is the same whether or
    not the email has an account."""
    await reset.ask_for_reset(session, settings, kind=body.kind, email=body.email)
    return Notice(message=reset.RESET_ASKED)


@router.post("/password-reset/complete", response_model=Notice)
async def complete_password_reset(body: ResetComplete, session: SessionDep) -> Notice:
    """Follow the link: the new password is set, every session of the account ends."""
    await reset.complete_reset(session, secret=body.token, new_password=body.new_password)
    return Notice(message="Your password has been changed; sign in with it.")


@router.get("/me", response_model=MeResponse, response_model_exclude_none=True)
async def me(request: Request, session: SessionDep) -> MeResponse:
    """Who this credential is, with the role it acts with now."""
    token = bearer_token(request)
    if token is not None:
        row = await service.resolve_token(session, token=token)
        if row is None:
            raise Unauthorized("Invalid, expired or revoked API token")
        ref = TokenRef(id=row.id, name=row.name, prefix=row.token_prefix)
        if row.store_id is None:
            await admin_of_token(session, row)
            return MeResponse(kind="admin", via="token", token=ref)
        principal = await staff_of_token(session, row)
        store = await session.get(Store, row.store_id)
        assert store is not None
        return MeResponse(
            kind="staff", via="token", token=ref, store=StoreRef.of(store), role=principal.role
        )
    data = await read_session(request, session, "staff")
    if data is not None:
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
    data = await read_session(request, session, "admin")
    if data is not None:
        admin = await session.get(PlatformAdmin, data.user_id)
        if admin is not None and admin.is_active:
            return MeResponse(kind="admin", via="session", admin=AdminOut.of(admin))
    raise Unauthorized("Not logged in")


# --- store tokens -------------------------------------------------------------------


@store_tokens_router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_store_token(
    body: TokenCreate, principal: CurrentStaff, session: SessionDep
) -> TokenCreated:
    require_owner(principal)
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
    require_owner(principal)
    rows, has_more = await service.list_api_tokens(
        session, store_id=principal.store_id, limit=limit, offset=offset
    )
    return TokenList(data=[TokenOut.of(r) for r in rows], has_more=has_more)


@store_tokens_router.delete("/{token_id}", response_model=TokenOut)
async def revoke_store_token(
    token_id: int, principal: CurrentStaff, session: SessionDep
) -> TokenOut:
    require_owner(principal)
    row = await service.revoke_api_token(session, store_id=principal.store_id, token_id=token_id)
    return TokenOut.of(row)


# --- store staff --------------------------------------------------------------------


@store_staff_router.get("", response_model=StaffList)
async def list_staff(
    principal: CurrentStaff, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> StaffList:
    require_owner(principal)
    rows, has_more = await service.list_staff_users(
        session, store_id=principal.store_id, limit=limit, offset=offset
    )
    return StaffList(data=[StaffOut.of(u) for u in rows], has_more=has_more)


@store_staff_router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=StaffInvited)
async def invite_staff(
    body: StaffCreate, principal: CurrentStaff, session: SessionDep, settings: SettingsDep
) -> StaffInvited:
    """Invite someone to the staff by mail; the answer is the same whether or not the email
    already has an account (see auth/invitations.py)."""
    require_owner(principal)
    store = await session.get(Store, principal.store_id)
    assert store is not None
    row = await invitations.invite_staff(
        session, settings, store=store, email=body.email, role=body.role, name=body.name
    )
    return StaffInvited(
        message=invitations.invitation_sent(row.email), invitation=InvitationOut.of(row)
    )


@store_staff_router.get("/invitations", response_model=InvitationList)
async def list_invitations(principal: CurrentStaff, session: SessionDep) -> InvitationList:
    """Invitations not yet accepted (at most 100, newest first)."""
    require_owner(principal)
    rows = await invitations.pending_invitations(session, store_id=principal.store_id)
    return InvitationList(data=[InvitationOut.of(r) for r in rows])


@store_staff_router.delete("/invitations/{invitation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def withdraw_invitation(
    invitation_id: int, principal: CurrentStaff, session: SessionDep
) -> None:
    """Take an invitation back: its link stops working."""
    require_owner(principal)
    await invitations.withdraw_invitation(
        session, store_id=principal.store_id, invitation_id=invitation_id
    )


@router.post("/staff/join", status_code=status.HTTP_201_CREATED, response_model=StaffOut)
async def join_staff(body: StaffJoin, session: SessionDep) -> StaffOut:
    """Follow an invitation: the staff account is made with the password chosen here."""
    user = await invitations.accept_invitation(
        session, secret=body.token, password=body.password, name=body.name
    )
    return StaffOut.of(user)


@store_staff_router.delete("/{staff_id}", response_model=StaffOut)
async def remove_staff(staff_id: int, principal: CurrentStaff, session: SessionDep) -> StaffOut:
    """Disable a staff member: their sessions and API tokens stop working at once."""
    require_owner(principal)
    user = await service.disable_staff_user(
        session, store_id=principal.store_id, staff_user_id=staff_id
    )
    return StaffOut.of(user)


@store_staff_router.post("/{staff_id}/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def sign_out_staff(staff_id: int, principal: CurrentStaff, session: SessionDep) -> None:
    """End every session of one staff member of this store (their tokens are untouched)."""
    require_owner(principal)
    user = await service.get_staff_user(
        session, store_id=principal.store_id, staff_user_id=staff_id
    )
    await end_sessions(session, kind="staff", user_id=user.id)


# --- platform accounts --------------------------------------------------------------


@platform_accounts_router.post("/staff/{staff_id}/sign-out", status_code=status.HTTP_204_NO_CONTENT)
async def platform_sign_out_staff(
    staff_id: int, principal: CurrentAdmin, session: SessionDep
) -> None:
    """End every session of any store's staff member."""
    if await session.get(StaffUser, staff_id) is None:
        raise NotFound(f"No staff member with id {staff_id}")
    await end_sessions(session, kind="staff", user_id=staff_id)


@platform_accounts_router.post(
    "/admins/{admin_id}/sign-out", status_code=status.HTTP_204_NO_CONTENT
)
async def platform_sign_out_admin(
    admin_id: int, principal: CurrentAdmin, session: SessionDep
) -> None:
    """End every session of a platform admin."""
    if await session.get(PlatformAdmin, admin_id) is None:
        raise NotFound(f"No platform admin with id {admin_id}")
    await end_sessions(session, kind="admin", user_id=admin_id)


@platform_accounts_router.post("/admins/{admin_id}/disable", response_model=AdminOut)
async def platform_disable_admin(
    admin_id: int, principal: CurrentAdmin, session: SessionDep
) -> AdminOut:
    """Disable another platform admin: their sessions and tokens stop at once."""
    if admin_id == principal.admin_id:
        raise Conflict("You cannot disable yourself; ask another admin")
    admin = await session.get(PlatformAdmin, admin_id)
    if admin is None:
        raise NotFound(f"No platform admin with id {admin_id}")
    admin.is_active = False
    await end_sessions(session, kind="admin", user_id=admin_id)
    return AdminOut.of(admin)


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
