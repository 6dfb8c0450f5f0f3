"""Single-use links sent by mail: password reset, and proving an email before a new
shopper account takes over the orders a guest placed with it.

The link carries a random secret; the `account_links` row keeps only its SHA-256, what
it is for and whose it is. A link works once, and not after it expires.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.secrets import token_digest
from storeplex.config import Settings
from storeplex.errors import BadRequest
from storeplex.models import AccountLink, AccountLinkPurpose, utcnow

LIFETIME = {
    AccountLinkPurpose.PASSWORD_RESET: timedelta(hours=1),
    AccountLinkPurpose.CLAIM_GUEST: timedelta(hours=24),
}
LINK_EXPIRED = "This link has expired or has already been used; ask for a new one"


async def create_link(
    session: AsyncSession,
    *,
    purpose: str,
    kind: str,
    user_id: int,
    store_id: int | None,
    password_hash: str | None = None,
    name: str | None = None,
    lifetime: timedelta | None = None,
) -> str:
    """A new link's secret (put it in the mail via `reset_link`; it is not stored)."""
    secret = secrets.token_urlsafe(32)
    session.add(
        AccountLink(
            token_hash=token_digest(secret),
            purpose=purpose,
            kind=kind,
            user_id=user_id,
            store_id=store_id,
            password_hash=password_hash,
            name=name,
            created_at=utcnow(),
            expires_at=utcnow() + (lifetime or LIFETIME[purpose]),
        )
    )
    await session.flush()
    return secret


def reset_link(
    settings: Settings, *, purpose: str, secret: str, kind: str, store_slug: str | None
) -> str:
    """The address to mail, built from the configured base URL (never from the request)."""
    token = quote(secret, safe="")
    if kind == "customer":
        page = "claim" if purpose == AccountLinkPurpose.CLAIM_GUEST else "reset-password"
        return f"{settings.base_url}/s/{store_slug}/account/{page}?token={token}"
    area = "admin" if kind == "staff" else "platform"
    return f"{settings.base_url}/{area}/reset-password?token={token}"


async def use_link(session: AsyncSession, *, secret: str, purpose: str) -> AccountLink:
    """Consume a link (locked, so two clicks cannot both use it), or 400 if it is dead."""
    if not secret or len(secret) > 128:
        raise BadRequest(LINK_EXPIRED, field="token")
    row = (
        await session.execute(
            select(AccountLink)
            .where(AccountLink.token_hash == token_digest(secret), AccountLink.purpose == purpose)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise BadRequest(LINK_EXPIRED, field="token")
    row.used_at = utcnow()
    return row
