"""Sign-in state kept in the database: sessions, login throttles and one-time account links.

Rule: no secret is stored as given. A session row and a one-time link hold only the
SHA-256 of the value in the cookie or the link; the value itself exists only on the
client's side.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storeplex.models.base import Base, IdType, UTCDateTime, utcnow


class SessionKind:
    STAFF = "staff"
    ADMIN = "admin"
    CUSTOMER = "customer"
    ALL = (STAFF, ADMIN, CUSTOMER)


class AuthSession(Base):
    """One sign-in. It ends at logout, a password change, an admin's "sign out everywhere",
    after `idle` without use, or at `expires_at` whatever happens."""

    __tablename__ = "auth_sessions"
    __table_args__ = (
        UniqueConstraint("id_hash"),
        Index("ix_auth_sessions_kind_user_id", "kind", "user_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    user_id: Mapped[int] = mapped_column(IdType, nullable=False)
    # The store of a staff member or shopper; NULL for a platform admin.
    store_id: Mapped[int | None] = mapped_column(IdType)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginThrottle(Base):
    """Failed sign-ins counted per key (an account, or a client address), shared by every
    app process because it lives in the database."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AccountLinkPurpose:
    PASSWORD_RESET = "password_reset"
    CLAIM_GUEST = "claim_guest"
    ALL = (PASSWORD_RESET, CLAIM_GUEST)


class AccountLink(Base):
    """A single-use link sent by mail (password reset, proving an email before an account
    takes over a guest's orders). Used once, or never after `expires_at`."""

    __tablename__ = "account_links"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    user_id: Mapped[int] = mapped_column(IdType, nullable=False)
    store_id: Mapped[int | None] = mapped_column(IdType)
    # A guest claim carries the password chosen at registration, already hashed.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TwoFactor(Base):
    """A person's authenticator-app secret (TOTP), encrypted with a key derived from the
    installation's secret key. `confirmed_at` is NULL while the person has not yet typed a
    first valid code (two-factor sign-in is off until then). `last_step` is the time step
    of the last code accepted, so a code is never accepted twice."""

    __tablename__ = "two_factor"
    __table_args__ = (UniqueConstraint("kind", "user_id"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    user_id: Mapped[int] = mapped_column(IdType, nullable=False)
    secret_encrypted: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(Base):
    """A one-time recovery code (only its SHA-256; the codes are 80-bit random values shown
    once at enrolment). Used once, then `used_at` is set."""

    __tablename__ = "recovery_codes"
    __table_args__ = (
        UniqueConstraint("code_hash"),
        Index("ix_recovery_codes_kind_user_id", "kind", "user_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    user_id: Mapped[int] = mapped_column(IdType, nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffInvitation(Base):
    """An owner's invitation to join the store's staff, sent by mail (only the SHA-256 of
    the link's secret is kept). The invitee chooses their own password when they follow
    the link; the account exists only from then on. Made the same way whether or not the
    email already has a staff account somewhere, so inviting reveals nothing."""

    __tablename__ = "staff_invitations"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    email: Mapped[str] = mapped_column(String(320), nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
