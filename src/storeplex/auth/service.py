"""Staff and platform-admin accounts, login checks and API tokens.

Rule: a failed login says the same thing, and takes the same time, whether the
email is unknown or the password is wrong (auth.login); API tokens are shown once
and only their SHA-256 is stored. Emails are kept lowercase, so lookups compare
lowercase. Disabling a person or changing their password ends their sessions.
"""

from __future__ import annotations

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth import two_factor
from storeplex.auth.deps import TOKEN_PREFIX
from storeplex.auth.login import Credential, check_password, release
from storeplex.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    check_new_password,
    hash_off_loop,
    verify_off_loop,
)
from storeplex.auth.secrets import new_token, token_digest
from storeplex.auth.sessions import end_sessions
from storeplex.auth.two_factor import is_enabled
from storeplex.db import Database
from storeplex.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from storeplex.models import (
    ApiToken,
    PlatformAdmin,
    StaffRole,
    StaffUser,
    Store,
    StoreStatus,
    utcnow,
)

__all__ = ["MAX_PASSWORD_LENGTH", "check_new_password"]

MAX_TOKEN_DAYS = 3650


def normalize_email(value: str, *, field: str = "email") -> str:
    """A syntactically valid email, lowercased, or BadRequest naming the field."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadRequest(f"{field}: {exc}", field=field) from None
    return result.normalized.lower()


async def _flush_unique(session: AsyncSession, message: str, field: str) -> None:
    """Flush inside a savepoint; a unique-constraint race becomes a 409, not a 500."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(message, field=field) from None


async def _email_taken(session: AsyncSession, email: str) -> bool:
    staff = await session.execute(select(StaffUser.id).where(StaffUser.email == email))
    return staff.first() is not None


async def create_platform_admin(
    session: AsyncSession, *, email: str, password: str
) -> PlatformAdmin:
    """Create a platform admin; a duplicate email answers 409."""
    email = normalize_email(email)
    check_new_password(password, email=email)
    password_hash = await hash_off_loop(password)
    taken = await session.execute(select(PlatformAdmin.id).where(PlatformAdmin.email == email))
    if taken.first() is not None:
        raise Conflict(f"A platform admin with email {email} already exists", field="email")
    admin = PlatformAdmin(email=email, password_hash=password_hash, is_active=True)
    session.add(admin)
    await _flush_unique(session, f"A platform admin with email {email} already exists", "email")
    return admin


async def create_staff_user(
    session: AsyncSession,
    *,
    store_id: int,
    email: str,
    password: str,
    role: str,
    name: str | None = None,
    field_prefix: str = "",
) -> StaffUser:
    """Create a staff member of one store; emails are unique across the platform (409)."""
    email_field = f"{field_prefix}email"
    email = normalize_email(email, field=email_field)
    check_new_password(password, field=f"{field_prefix}password", email=email)
    if role not in StaffRole.ALL:
        raise BadRequest(f"role must be one of {', '.join(StaffRole.ALL)}", field="role")
    # Hashed before the email is looked at, so a taken email answers as slowly as a new one.
    password_hash = await hash_off_loop(password)
    message = f"The email {email} cannot be used for a new staff account"
    if await _email_taken(session, email):
        raise Conflict(message, field=email_field)
    user = StaffUser(
        store_id=store_id,
        email=email,
        name=name,
        password_hash=password_hash,
        role=role,
        is_active=True,
    )
    session.add(user)
    await _flush_unique(session, message, email_field)
    return user


async def list_staff_users(
    session: AsyncSession, *, store_id: int, limit: int, offset: int
) -> tuple[list[StaffUser], bool]:
    """The store's staff, oldest first, and whether more follow."""
    query = (
        select(StaffUser)
        .where(StaffUser.store_id == store_id)
        .order_by(StaffUser.id)
        .limit(limit + 1)
        .offset(offset)
    )
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], len(rows) > limit


async def _staff_credential(session: AsyncSession, email: str) -> Credential | None:
    row = (
        await session.execute(
            select(StaffUser.id, StaffUser.password_hash).where(StaffUser.email == email)
        )
    ).first()
    if row is None:
        return None
    return Credential(row.id, row.password_hash, await is_enabled(session, "staff", row.id))


async def _admin_credential(session: AsyncSession, email: str) -> Credential | None:
    row = (
        await session.execute(
            select(PlatformAdmin.id, PlatformAdmin.password_hash).where(
                PlatformAdmin.email == email
            )
        )
    ).first()
    if row is None:
        return None
    return Credential(row.id, row.password_hash, await is_enabled(session, "admin", row.id))


async def authenticate_staff(
    session: AsyncSession, database: Database, *, email: str, password: str, address: str | None
) -> tuple[StaffUser, Store]:
    """The staff user and store for these credentials, or 401/403/429 (see auth.login)."""
    found = await check_password(
        database,
        scope="staff",
        email=email,
        password=password,
        address=address,
        find=_staff_credential,
    )
    user = await session.get(StaffUser, found.user_id)
    if user is None or not user.is_active:
        raise Forbidden("This staff account is disabled; ask the store owner")
    store = await session.get(Store, user.store_id)
    if store is None:
        raise Forbidden("This store is suspended; contact the platform operator")
    if store.status != StoreStatus.ACTIVE:  # the password was right: they may read why
        raise Forbidden(suspended_message(store))
    return user, store


def suspended_message(store: Store) -> str:
    """What the store's staff read when they log in (or open a page) while their store is
    suspended, with the reason the platform operator gave."""
    message = (
        f"{store.name} is suspended by the platform operator: the store admin is closed and "
        "the storefront is not taking orders."
    )
    if store.suspended_reason:
        message += f" The reason given: {store.suspended_reason}"
    return message + " Contact the platform operator to have it reactivated."


async def authenticate_admin(
    session: AsyncSession, database: Database, *, email: str, password: str, address: str | None
) -> PlatformAdmin:
    """The platform admin for these credentials, or 401/403/429 (see auth.login)."""
    found = await check_password(
        database,
        scope="admin",
        email=email,
        password=password,
        address=address,
        find=_admin_credential,
    )
    admin = await session.get(PlatformAdmin, found.user_id)
    if admin is None or not admin.is_active:
        raise Forbidden("This platform admin account is disabled")
    return admin


async def second_factor(
    session: AsyncSession,
    database: Database,
    *,
    person: StaffUser | PlatformAdmin,
    code: str | None,
    address: str | None,
) -> None:
    """The one-step API sign-in's second factor: nothing to do without two-factor sign-in;
    else 401 `two_factor_required` when no code was sent (not counted as a failure: the
    password was right) and the throttled check of `auth.two_factor` for one that was."""
    kind = two_factor.kind_of(person)
    if not await is_enabled(session, kind, person.id):
        return
    if not code or not code.strip():
        raise Unauthorized(two_factor.NO_CODE, field="code", code="two_factor_required")
    await release(session)
    await two_factor.check_second_factor(
        database,
        database.settings,
        kind=kind,
        user_id=person.id,
        email=person.email,
        code=code,
        address=address,
    )


async def change_password(
    session: AsyncSession,
    *,
    person: StaffUser | PlatformAdmin,
    current_password: str,
    new_password: str,
) -> None:
    """Set a new password after checking the current one; every session of the person ends
    (the caller starts a fresh one for the browser that asked)."""
    if not await verify_off_loop(person.password_hash, current_password):
        raise BadRequest("current_password is not your current password", field="current_password")
    check_new_password(new_password, field="new_password", email=person.email)
    if current_password == new_password:
        raise BadRequest("new_password must differ from the current one", field="new_password")
    person.password_hash = await hash_off_loop(new_password)
    if isinstance(person, StaffUser):
        await end_sessions(session, kind="staff", user_id=person.id)
    else:
        await end_sessions(session, kind="admin", user_id=person.id)


async def disable_staff_user(
    session: AsyncSession, *, store_id: int, staff_user_id: int
) -> StaffUser:
    """Remove a staff member: they cannot sign in, and their sessions and tokens stop now."""
    user = await get_staff_user(session, store_id=store_id, staff_user_id=staff_user_id)
    if user.role == StaffRole.OWNER:
        raise Conflict("An owner cannot be removed; make them staff first", field="staff_id")
    user.is_active = False
    await end_sessions(session, kind="staff", user_id=user.id)
    return user


async def get_staff_user(session: AsyncSession, *, store_id: int, staff_user_id: int) -> StaffUser:
    """One staff member of this store; another store's is a 404."""
    user = (
        await session.execute(
            select(StaffUser).where(StaffUser.id == staff_user_id, StaffUser.store_id == store_id)
        )
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"No staff member with id {staff_user_id}")
    return user


async def create_api_token(
    session: AsyncSession,
    *,
    store_id: int | None,
    name: str,
    expires_in_days: int | None = None,
    staff_user_id: int | None = None,
    platform_admin_id: int | None = None,
) -> tuple[ApiToken, str]:
    """A new token (store-scoped, or platform-scoped when store_id is None) and its secret."""
    name = name.strip()
    if not name:
        raise BadRequest("name must not be empty", field="name")
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_TOKEN_DAYS:
        raise BadRequest(
            f"expires_in_days must be between 1 and {MAX_TOKEN_DAYS}", field="expires_in_days"
        )
    secret = new_token(TOKEN_PREFIX)
    row = ApiToken(
        store_id=store_id,
        staff_user_id=staff_user_id,
        platform_admin_id=platform_admin_id,
        name=name,
        token_prefix=secret[:12],
        token_hash=token_digest(secret),
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(row)
    await session.flush()
    return row, secret


def _tokens_of(store_id: int | None) -> Select[ApiToken]:
    if store_id is None:
        return select(ApiToken).where(ApiToken.store_id.is_(None))
    return select(ApiToken).where(ApiToken.store_id == store_id)


async def list_api_tokens(
    session: AsyncSession, *, store_id: int | None, limit: int, offset: int
) -> tuple[list[ApiToken], bool]:
    """Tokens of one store (or the platform's when store_id is None), newest first."""
    query = _tokens_of(store_id).order_by(ApiToken.id.desc()).limit(limit + 1).offset(offset)
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], len(rows) > limit


async def revoke_api_token(
    session: AsyncSession, *, store_id: int | None, token_id: int
) -> ApiToken:
    """Revoke one token of this scope; another scope's token is a 404. Revoking twice is fine."""
    row = (
        await session.execute(_tokens_of(store_id).where(ApiToken.id == token_id))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row


async def resolve_token(session: AsyncSession, *, token: str) -> ApiToken | None:
    """The live token row for a bearer secret, or None (unknown, revoked or expired)."""
    row = (
        await session.execute(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return row
