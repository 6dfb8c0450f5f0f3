"""Staff and platform-admin accounts, login checks and API tokens.

Rule: a failed login says the same thing, and takes the same time, whether the
email is unknown or the password is wrong; API tokens are shown once and only
their SHA-256 is stored. Emails are kept lowercase, so lookups compare lowercase.
"""

from __future__ import annotations

from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.deps import TOKEN_PREFIX
from storeplex.auth.secrets import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
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

WRONG_CREDENTIALS = "Wrong email or password"
MAX_PASSWORD_LENGTH = 1024
MAX_TOKEN_DAYS = 3650


def normalize_email(value: str, *, field: str = "email") -> str:
    """A syntactically valid email, lowercased, or BadRequest naming the field."""
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadRequest(f"{field}: {exc}", field=field) from None
    return result.normalized.lower()


def check_new_password(password: str, *, field: str = "password") -> None:
    """Refuse passwords that are too short or absurdly long."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(
            f"{field} must be at least {MIN_PASSWORD_LENGTH} characters long", field=field
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise BadRequest(f"{field} is too long", field=field)


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
    check_new_password(password)
    taken = await session.execute(select(PlatformAdmin.id).where(PlatformAdmin.email == email))
    if taken.first() is not None:
        raise Conflict(f"A platform admin with email {email} already exists", field="email")
    admin = PlatformAdmin(email=email, password_hash=hash_password(password), is_active=True)
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
    check_new_password(password, field=f"{field_prefix}password")
    if role not in StaffRole.ALL:
        raise BadRequest(f"role must be one of {', '.join(StaffRole.ALL)}", field="role")
    message = f"A staff account with email {email} already exists"
    if await _email_taken(session, email):
        raise Conflict(message, field=email_field)
    user = StaffUser(
        store_id=store_id,
        email=email,
        name=name,
        password_hash=hash_password(password),
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


async def authenticate_staff(
    session: AsyncSession, *, email: str, password: str
) -> tuple[StaffUser, Store]:
    """The staff user and store for these credentials, or 401/403."""
    user = (
        await session.execute(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    ).scalar_one_or_none()
    # verify_password checks a dummy hash for unknown users, so timing reveals nothing.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized(WRONG_CREDENTIALS)
    if not user.is_active:
        raise Forbidden("This staff account is disabled; ask the store owner")
    store = await session.get(Store, user.store_id)
    if store is None or store.status != StoreStatus.ACTIVE:
        raise Forbidden("This store is suspended; contact the platform operator")
    return user, store


async def authenticate_admin(session: AsyncSession, *, email: str, password: str) -> PlatformAdmin:
    """The platform admin for these credentials, or 401/403."""
    admin = (
        await session.execute(
            select(PlatformAdmin).where(PlatformAdmin.email == email.strip().lower())
        )
    ).scalar_one_or_none()
    if not verify_password(admin.password_hash if admin else None, password) or admin is None:
        raise Unauthorized(WRONG_CREDENTIALS)
    if not admin.is_active:
        raise Forbidden("This platform admin account is disabled")
    return admin


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
