"""Clearing out sign-in state nobody can use any more: ended or expired sessions, login
throttles whose failures are forgotten, used or expired account links and staff
invitations. Run it from a
periodic job; it deletes in one short transaction and returns how many rows went."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.throttle import FORGET_AFTER
from storeplex.models import AccountLink, AuthSession, LoginThrottle, StaffInvitation, utcnow

# Kept a day after they stop working, so "why was I signed out?" can still be answered.
KEEP_DEAD_FOR = timedelta(days=1)


async def prune_sign_in_state(session: AsyncSession) -> dict[str, int]:
    """Delete dead sessions, forgotten throttles and dead links; counts per table."""
    now = utcnow()
    cutoff = now - KEEP_DEAD_FOR
    results = {
        "auth_sessions": await session.execute(
            delete(AuthSession).where(
                or_(AuthSession.ended_at < cutoff, AuthSession.expires_at < cutoff)
            )
        ),
        "login_throttles": await session.execute(
            delete(LoginThrottle).where(
                LoginThrottle.last_failure_at < now - FORGET_AFTER,
                or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
            )
        ),
        "account_links": await session.execute(
            delete(AccountLink).where(
                or_(AccountLink.used_at < cutoff, AccountLink.expires_at < cutoff)
            )
        ),
        "staff_invitations": await session.execute(
            delete(StaffInvitation).where(
                or_(StaffInvitation.accepted_at < cutoff, StaffInvitation.expires_at < cutoff)
            )
        ),
    }
    return {name: int(getattr(r, "rowcount", 0) or 0) for name, r in results.items()}
