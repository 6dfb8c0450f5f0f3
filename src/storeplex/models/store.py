"""Stores (the tenants) and the people who run them: staff users, platform admins, API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storeplex.models.base import Base, IdType, TimestampMixin, UTCDateTime


class StoreStatus:
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ALL = (ACTIVE, SUSPENDED)


class Store(TimestampMixin, Base):
    __tablename__ = "stores"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    business_email: Mapped[str] = mapped_column(String(320), nullable=False)
    business_phone: Mapped[str | None] = mapped_column(String(40))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2), nullable=False, default="LU")
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="EUR")
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=StoreStatus.ACTIVE)
    # What the platform operator wrote when suspending the store (shown to its staff).
    suspended_reason: Mapped[str | None] = mapped_column(String(500))
    # A Babel locale such as fr_LU for money in pages and mails; NULL: "12.50 EUR".
    locale: Mapped[str | None] = mapped_column(String(20))
    # Staff mails the store turned off, comma-separated kinds (storeplex.mail.notify).
    staff_mails_off: Mapped[str] = mapped_column(
        String(200), nullable=False, default="", server_default=""
    )
    # Per-store order numbers are handed out by an atomic UPDATE ... RETURNING on this counter.
    last_order_number: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class StaffRole:
    OWNER = "owner"
    STAFF = "staff"
    ALL = (OWNER, STAFF)


class StaffUser(TimestampMixin, Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    # Staff log in with their email alone, so it is unique across the platform.
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[str] = mapped_column(String(20), nullable=False, default=StaffRole.STAFF)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class PlatformAdmin(TimestampMixin, Base):
    __tablename__ = "platform_admins"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ApiToken(TimestampMixin, Base):
    """A bearer token; only its SHA-256 is stored. store_id NULL means platform scope."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    platform_admin_id: Mapped[int | None] = mapped_column(ForeignKey("platform_admins.id"))
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    token_prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
