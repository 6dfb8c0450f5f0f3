"""Adding staff by invitation, without telling the inviter whether an email has an account.

Design (issue 14): an owner does not create a staff account, and never sets its password;
they invite an email address. Whatever the address, the answer is the same ("invitation
sent"), a pending invitation appears in the store's list, and one mail goes to the
address: for an address that is free, a single-use link (7 days) where the invitee
chooses a password and joins; for an address that already has a staff account anywhere
on the platform (staff emails are unique), a note saying so and that nothing changed.
Only the owner of the mailbox learns which case it was. Both paths run the same
queries and the same writes and hash nothing (the password is chosen, and hashed, when
the invitation is accepted), so they also take the same time.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.passwords import check_new_password, hash_off_loop
from storeplex.auth.secrets import token_digest
from storeplex.auth.service import normalize_email
from storeplex.config import Settings
from storeplex.errors import BadRequest, Conflict, NotFound
from storeplex.mail.outbox import enqueue_account_mail
from storeplex.models import StaffInvitation, StaffRole, StaffUser, Store, StoreStatus, utcnow

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_DEAD = (
    "This invitation has expired, was already used or was withdrawn; "
    "ask the store owner for a new one"
)
MAX_NAME_LENGTH = 200


def invitation_sent(email: str) -> str:
    return (
        f"An invitation is on its way to {email}. They join the staff when they follow the "
        "link in it and choose their password."
    )


async def invite_staff(
    session: AsyncSession,
    settings: Settings,
    *,
    store: Store,
    email: str,
    role: str,
    name: str | None = None,
) -> StaffInvitation:
    """Record and mail an invitation (see the module's rule: the same for any address).
    An earlier pending invitation of this store to the same address is withdrawn."""
    email = normalize_email(email)
    if role not in StaffRole.ALL:
        raise BadRequest(f"role must be one of {', '.join(StaffRole.ALL)}", field="role")
    name = (name or "").strip() or None
    if name is not None and len(name) > MAX_NAME_LENGTH:
        raise BadRequest(f"name must be at most {MAX_NAME_LENGTH} characters", field="name")
    now = utcnow()
    await session.execute(
        update(StaffInvitation)
        .where(
            StaffInvitation.store_id == store.id,
            StaffInvitation.email == email,
            StaffInvitation.accepted_at.is_(None),
            StaffInvitation.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    secret = secrets.token_urlsafe(32)
    invitation = StaffInvitation(
        store_id=store.id,
        email=email,
        name=name,
        role=role,
        token_hash=token_digest(secret),
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    await session.flush()
    taken = (await session.execute(select(StaffUser.id).where(StaffUser.email == email))).first()
    if taken is None:
        link = f"{settings.base_url}/admin/join?token={quote(secret, safe='')}"
        kind = "staff_invitation"
    else:
        link = f"{settings.base_url}/admin/login"
        kind = "staff_invitation_taken"
    await enqueue_account_mail(session, email, kind, link, store_name=store.name)
    return invitation


async def pending_invitations(
    session: AsyncSession, *, store_id: int, limit: int = 100
) -> list[StaffInvitation]:
    """The store's invitations not yet accepted, withdrawn or expired, newest first."""
    rows = await session.execute(
        select(StaffInvitation)
        .where(
            StaffInvitation.store_id == store_id,
            StaffInvitation.accepted_at.is_(None),
            StaffInvitation.expires_at > utcnow(),
        )
        .order_by(StaffInvitation.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def withdraw_invitation(session: AsyncSession, *, store_id: int, invitation_id: int) -> None:
    """The owner takes a pending invitation back (its link stops working); another store's
    invitation, or one no longer pending, is a 404."""
    result = await session.execute(
        update(StaffInvitation)
        .where(
            StaffInvitation.id == invitation_id,
            StaffInvitation.store_id == store_id,
            StaffInvitation.accepted_at.is_(None),
            StaffInvitation.expires_at > utcnow(),
        )
        .values(expires_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        raise NotFound(f"No pending invitation with id {invitation_id}")


async def open_invitation(session: AsyncSession, secret: str) -> StaffInvitation:
    """The live invitation a link carries (locked), or 400."""
    if not secret or len(secret) > 128:
        raise BadRequest(INVITATION_DEAD, field="token")
    row = (
        await session.execute(
            select(StaffInvitation)
            .where(StaffInvitation.token_hash == token_digest(secret))
            .with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.accepted_at is not None or row.expires_at <= utcnow():
        raise BadRequest(INVITATION_DEAD, field="token")
    return row


async def accept_invitation(
    session: AsyncSession, *, secret: str, password: str, name: str | None = None
) -> StaffUser:
    """Follow an invitation link: the staff account is made with the chosen password, and
    the link is used up. A weak password is a 400 and uses nothing."""
    invitation = await open_invitation(session, secret)
    store = await session.get(Store, invitation.store_id)
    if store is None or store.status != StoreStatus.ACTIVE:
        raise BadRequest(INVITATION_DEAD, field="token")
    check_new_password(password, field="password", email=invitation.email)
    taken = await session.execute(select(StaffUser.id).where(StaffUser.email == invitation.email))
    if taken.first() is not None:
        # Only the mailbox's owner gets here: they may know.
        raise Conflict(
            "This email already has a staff account; one address can be staff of one store only",
            field="token",
        )
    user = StaffUser(
        store_id=invitation.store_id,
        email=invitation.email,
        name=(name or "").strip()[:MAX_NAME_LENGTH] or invitation.name,
        password_hash=await hash_off_loop(password),
        role=invitation.role,
        is_active=True,
    )
    session.add(user)
    invitation.accepted_at = utcnow()
    await session.flush()
    return user
