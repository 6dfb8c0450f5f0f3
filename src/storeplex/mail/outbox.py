"""Writing mails into the outbox. The row is the whole promise: it is inserted with the
caller's session, so it commits or rolls back with whatever caused it.

A mail with a `dedupe_key` is written at most once (INSERT ... ON CONFLICT DO NOTHING):
a webhook delivered twice, or two workers applying it, enqueue a single mail.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.db import dialect_insert
from storeplex.errors import BadRequest
from storeplex.models import MailStatus, OutboxMail, utcnow

PLATFORM_SENDER = "Storeplex"
ACCOUNT_KINDS = (
    "email_verification",
    "password_reset",
    "staff_invitation",
    "staff_invitation_taken",
    "store_invitation",
)


async def enqueue(
    session: AsyncSession,
    *,
    kind: str,
    to: str,
    sender_name: str,
    context: dict[str, Any],
    store_id: int | None = None,
    dedupe_key: str | None = None,
    delay_seconds: float = 0,
) -> bool:
    """Add one mail to the outbox in the caller's transaction (once per `dedupe_key`),
    to be sent once `delay_seconds` have passed. False if the key was already taken."""
    now = utcnow()
    insert = dialect_insert(session, OutboxMail).values(
        store_id=store_id,
        kind=kind,
        dedupe_key=dedupe_key,
        to_address=to,
        sender_name=sender_name[:200],
        context=context,
        status=MailStatus.PENDING,
        attempts=0,
        next_attempt_at=now + timedelta(seconds=delay_seconds),
        created_at=now,
        updated_at=now,
    )
    if dedupe_key is not None:
        insert = insert.on_conflict_do_nothing(index_elements=["dedupe_key"])
    written = await session.execute(insert.returning(OutboxMail.id))
    return written.scalar_one_or_none() is not None


async def enqueue_account_mail(
    session: AsyncSession, to: str, kind: str, link: str, *, store_name: str | None = None
) -> None:
    """An email-verification or password-reset mail carrying `link` (absolute http(s) URL,
    or a path that is joined to the platform's base URL when the mail is sent)."""
    if kind not in ACCOUNT_KINDS:
        raise BadRequest(f"Unknown account mail {kind!r}; use one of {', '.join(ACCOUNT_KINDS)}")
    parts = urlsplit(link)
    if not (link.startswith("/") and not link.startswith("//")) and (
        parts.scheme not in ("http", "https") or not parts.netloc
    ):
        raise BadRequest("The link must be an http(s) URL or a path starting with /")
    await enqueue(
        session,
        kind=kind,
        to=to,
        sender_name=store_name or PLATFORM_SENDER,
        context={"link": link, "store_name": store_name},
    )
