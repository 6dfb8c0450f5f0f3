"""Server-side sessions for staff, platform admins and shoppers.

A sign-in is one `auth_sessions` row; the cookie holds a random id and the row only
its SHA-256, so a stolen database cannot be replayed as cookies. A session ends at
logout, when its owner's password changes, when an admin signs the person out
everywhere, after `session_idle_seconds` without a request, and at
`session_max_age_seconds` after sign-in whatever happens. Each kind of person has
its own cookie, so a staff login never replaces a shopper's and the other way
round. Cookies are HttpOnly and SameSite=Lax; `Secure` when the base URL is https.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from storeplex.auth.secrets import token_digest
from storeplex.config import Settings
from storeplex.models import AuthSession, utcnow

# "staff_2fa" and "admin_2fa" are a half sign-in: the password was right and the
# authenticator code is still to come. Nothing but the code page reads those kinds, so
# such a session can do nothing else; it lives a few minutes in this browser only.
SessionKind = Literal["staff", "admin", "customer", "staff_2fa", "admin_2fa"]

COOKIE_NAMES: dict[SessionKind, str] = {
    "staff": "storeplex_staff",
    "admin": "storeplex_admin",
    "customer": "storeplex_shopper",
    "staff_2fa": "storeplex_staff_2fa",
    "admin_2fa": "storeplex_admin_2fa",
}
# The half sign-in of each kind that has one (see SessionKind).
HALF_SIGN_IN: dict[SessionKind, SessionKind] = {"staff": "staff_2fa", "admin": "admin_2fa"}
# last_seen_at is written at most this often, so reading pages does not write each time.
TOUCH_EVERY = timedelta(seconds=60)
MAX_COOKIE_LENGTH = 128


@dataclass(frozen=True, slots=True)
class SessionData:
    session_id: int
    kind: SessionKind
    user_id: int
    store_id: int | None
    csrf: str


class SessionManager:
    """Starts, reads and ends the sessions of one app (one instance per app, no state)."""

    def __init__(self, settings: Settings) -> None:
        self._max_age = settings.session_max_age_seconds
        self._idle = timedelta(seconds=settings.session_idle_seconds)
        self._secure = settings.base_url.startswith("https://")

    async def start(
        self,
        db: AsyncSession,
        request: Request,
        response: Response,
        kind: SessionKind,
        user_id: int,
        store_id: int | None,
        *,
        max_age: int | None = None,
    ) -> SessionData:
        """A new session with a new id (any session of this kind the client had is ended);
        `max_age` shortens its life (a half sign-in waiting for its code)."""
        await self._end_presented(db, request, kind)
        secret = secrets.token_urlsafe(32)
        now = utcnow()
        max_age = min(max_age or self._max_age, self._max_age)
        row = AuthSession(
            id_hash=token_digest(secret),
            kind=kind,
            user_id=user_id,
            store_id=store_id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=max_age),
        )
        db.add(row)
        await db.flush()
        response.set_cookie(
            COOKIE_NAMES[kind],
            secret,
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=self._secure,
            path="/",
        )
        data = SessionData(row.id, kind, user_id, store_id, row.csrf_token)
        _cache(request)[kind] = data
        return data

    async def read(
        self, request: Request, db: AsyncSession, kind: SessionKind
    ) -> SessionData | None:
        """The live session of this kind the request carries, or None."""
        cache = _cache(request)
        if kind in cache:
            return cache[kind]
        cache[kind] = data = await self._load(request, db, kind)
        return data

    async def _load(
        self, request: Request, db: AsyncSession, kind: SessionKind
    ) -> SessionData | None:
        secret = request.cookies.get(COOKIE_NAMES[kind])
        if not secret or len(secret) > MAX_COOKIE_LENGTH:
            return None
        row = (
            await db.execute(
                select(AuthSession).where(
                    AuthSession.id_hash == token_digest(secret),
                    AuthSession.kind == kind,
                    AuthSession.ended_at.is_(None),
                )
            )
        ).scalar_one_or_none()
        now = utcnow()
        if row is None or row.expires_at <= now or row.last_seen_at + self._idle <= now:
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            row.last_seen_at = now
        return SessionData(row.id, kind, row.user_id, row.store_id, row.csrf_token)

    async def end(
        self, request: Request, db: AsyncSession, response: Response, kind: SessionKind
    ) -> None:
        """Logout: the session row is ended (its cookie is dead even if kept) and cleared."""
        await self._end_presented(db, request, kind)
        response.delete_cookie(
            COOKIE_NAMES[kind], path="/", httponly=True, samesite="lax", secure=self._secure
        )

    async def _end_presented(self, db: AsyncSession, request: Request, kind: SessionKind) -> None:
        secret = request.cookies.get(COOKIE_NAMES[kind])
        _cache(request).pop(kind, None)
        if not secret or len(secret) > MAX_COOKIE_LENGTH:
            return
        await db.execute(
            update(AuthSession)
            .where(AuthSession.id_hash == token_digest(secret), AuthSession.ended_at.is_(None))
            .values(ended_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def _cache(request: Request) -> dict[SessionKind, SessionData | None]:
    """Sessions already read during this request (a page may ask several times)."""
    cache: dict[SessionKind, SessionData | None] | None = getattr(
        request.state, "auth_sessions", None
    )
    if cache is None:
        cache = {}
        request.state.auth_sessions = cache
    return cache


async def end_sessions(
    db: AsyncSession, *, kind: SessionKind, user_id: int, keep_session_id: int | None = None
) -> int:
    """End every live session of one person (password change, sign out everywhere, disable),
    half sign-ins still waiting for their two-factor code included; `keep_session_id`
    spares the session that asked for it. Returns how many ended."""
    kinds = [kind, *([HALF_SIGN_IN[kind]] if kind in HALF_SIGN_IN else [])]
    query = update(AuthSession).where(
        AuthSession.kind.in_(kinds), AuthSession.user_id == user_id, AuthSession.ended_at.is_(None)
    )
    if keep_session_id is not None:
        query = query.where(AuthSession.id != keep_session_id)
    result = await db.execute(
        query.values(ended_at=utcnow()).execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
