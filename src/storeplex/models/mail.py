"""The mail outbox: one row per mail, written in the same transaction as what caused it.

A rolled-back change therefore sends nothing. The row keeps the mail's kind and a
snapshot of what it says (`context`); the worker renders and delivers it, claiming
the row first so that each mail goes out once however many workers run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storeplex.models.base import Base, IdType, TimestampMixin, UTCDateTime, utcnow


class MailStatus:
    PENDING = "pending"  # waiting for the worker (or for its next attempt)
    SENDING = "sending"  # claimed by a worker until claimed_until
    SENT = "sent"
    FAILED = "failed"  # refused too many times; not retried
    KEPT = "kept"  # no SMTP server configured: readable on the mailbox page only
    DROPPED = "dropped"  # no longer true when it was due (e.g. the order was paid meanwhile)
    ALL = (PENDING, SENDING, SENT, FAILED, KEPT, DROPPED)


class OutboxMail(TimestampMixin, Base):
    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_status_next_attempt_at", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    # One mail per cause (e.g. "order_paid:42"): a repeated webhook enqueues nothing new.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(320), nullable=False)
    sender_name: Mapped[str] = mapped_column(String(200), nullable=False)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, default=MailStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
