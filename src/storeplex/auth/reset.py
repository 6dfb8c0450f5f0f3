"""Password reset by a single-use link, for staff, platform admins and shoppers.

Rule: asking for a reset answers the same whether or not the email has an account
(the link, if any, goes only to the mailbox), and following a link sets the password
once and ends every session of the account.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.links import LINK_EXPIRED, create_link, reset_link, use_link
from storeplex.auth.passwords import check_new_password, hash_off_loop
from storeplex.auth.sessions import SessionKind, end_sessions
from storeplex.config import Settings
from storeplex.errors import BadRequest
from storeplex.mail.outbox import enqueue_account_mail
from storeplex.models import AccountLinkPurpose, Customer, PlatformAdmin, StaffUser, Store

RESET_ASKED = (
    "If an account uses this email, we have sent it a link to choose a new password. "
    "The link works once, within an hour."
)

Person = StaffUser | PlatformAdmin | Customer
# How long the link mailed to a new store's owner works.
INVITE_LIFETIME = timedelta(days=3)


async def _person(
    session: AsyncSession, *, kind: SessionKind, email: str, store_id: int | None
) -> Person | None:
    email = email.strip().lower()
    if kind == "staff":
        return (
            await session.execute(
                select(StaffUser).where(StaffUser.email == email, StaffUser.is_active.is_(True))
            )
        ).scalar_one_or_none()
    if kind == "admin":
        return (
            await session.execute(
                select(PlatformAdmin).where(
                    PlatformAdmin.email == email, PlatformAdmin.is_active.is_(True)
                )
            )
        ).scalar_one_or_none()
    return (
        await session.execute(
            select(Customer).where(
                Customer.store_id == store_id,
                Customer.email == email,
                Customer.password_hash.is_not(None),
            )
        )
    ).scalar_one_or_none()


async def ask_for_reset(
    session: AsyncSession,
    settings: Settings,
    *,
    kind: SessionKind,
    email: str,
    store: Store | None = None,
) -> str | None:
    """Make a reset link for this email's account if there is one; returns the address to
    mail (None when there is no account; the caller answers RESET_ASKED either way)."""
    store_id = store.id if store is not None else None
    person = await _person(session, kind=kind, email=email, store_id=store_id)
    if person is None:
        return None
    secret = await create_link(
        session,
        purpose=AccountLinkPurpose.PASSWORD_RESET,
        kind=kind,
        user_id=person.id,
        store_id=store_id,
    )
    link = reset_link(
        settings,
        purpose=AccountLinkPurpose.PASSWORD_RESET,
        secret=secret,
        kind=kind,
        store_slug=store.slug if store is not None else None,
    )
    await enqueue_account_mail(
        session,
        person.email,
        "password_reset",
        link,
        store_name=store.name if store is not None else None,
    )
    return link


async def invite_to_choose_password(
    session: AsyncSession, settings: Settings, *, person: StaffUser, store: Store
) -> str:
    """Mail a new store owner a single-use link to choose their password (the same link a
    reset uses, valid for INVITE_LIFETIME; after that "Forgot your password?" sends another).
    Returns the link."""
    secret = await create_link(
        session,
        purpose=AccountLinkPurpose.PASSWORD_RESET,
        kind="staff",
        user_id=person.id,
        store_id=None,  # staff reset links are followed on /admin, which has no store yet
        lifetime=INVITE_LIFETIME,
    )
    link = reset_link(
        settings,
        purpose=AccountLinkPurpose.PASSWORD_RESET,
        secret=secret,
        kind="staff",
        store_slug=None,
    )
    await enqueue_account_mail(
        session, person.email, "store_invitation", link, store_name=store.name
    )
    return link


async def complete_reset(
    session: AsyncSession, *, secret: str, new_password: str, store_id: int | None = None
) -> Person:
    """Follow a reset link: the new password is set and every session of the account ends."""
    link = await use_link(session, secret=secret, purpose=AccountLinkPurpose.PASSWORD_RESET)
    if link.store_id != store_id:
        raise BadRequest(LINK_EXPIRED, field="token")
    person: Person | None
    if link.kind == "staff":
        person = await session.get(StaffUser, link.user_id)
    elif link.kind == "admin":
        person = await session.get(PlatformAdmin, link.user_id)
    else:
        person = await session.get(Customer, link.user_id)
    if person is None:
        raise BadRequest(LINK_EXPIRED, field="token")
    check_new_password(new_password, field="new_password", email=person.email)
    person.password_hash = await hash_off_loop(new_password)
    if isinstance(person, StaffUser):
        await end_sessions(session, kind="staff", user_id=person.id)
    elif isinstance(person, PlatformAdmin):
        await end_sessions(session, kind="admin", user_id=person.id)
    else:
        await end_sessions(session, kind="customer", user_id=person.id)
    return person
