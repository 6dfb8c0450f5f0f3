"""Delivering the outbox over SMTP: claim, send, record; retried with backoff.

A worker first claims a batch in one short transaction: rows are picked with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite ignores it and serialises writers
instead) and taken with a conditional UPDATE (pending, or a claim whose lease ran
out), so two workers never hold the same mail. It then sends outside any
transaction and records the outcome per mail. A refused mail waits
base × 2^(attempts − 1) seconds and is tried again, up to `mail_max_attempts`.
Each mail has a fixed Message-ID, so in the rare case of a worker dying between
the server's "250 OK" and our record, the resent copy is recognisable.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import aiosmtplib
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.config import Settings, SmtpTarget
from storeplex.db import Database
from storeplex.mail.notify import awaits_payment
from storeplex.mail.render import render_mail
from storeplex.models import MailStatus, Order, OutboxMail, utcnow

log = logging.getLogger("storeplex.mail")

BATCH_SIZE = 50
# Kinds that are only worth sending while their order still awaits payment.
WHILE_UNPAID = ("payment_needs_action",)


async def drop_stale(database: Database) -> int:
    """Mark dropped the due mails that are no longer true: a "payment needs action" mail
    whose order was paid or canceled before it went out. Returns how many."""
    now = utcnow()
    async with database.session_scope() as session:
        due = list(
            (
                await session.execute(
                    select(OutboxMail).where(
                        OutboxMail.kind.in_(WHILE_UNPAID),
                        OutboxMail.status == MailStatus.PENDING,
                        OutboxMail.next_attempt_at <= now,
                    )
                )
            ).scalars()
        )
        stale = []
        for mail in due:
            order = await session.get(Order, int(mail.context["order_id"]))
            if order is None or not awaits_payment(order):
                stale.append(mail.id)
        if stale:
            await session.execute(
                update(OutboxMail)
                .where(OutboxMail.id.in_(stale), OutboxMail.status == MailStatus.PENDING)
                .values(status=MailStatus.DROPPED, updated_at=now)
                .execution_options(synchronize_session=False)
            )
    return len(stale)


def build_message(mail: OutboxMail, settings: Settings) -> EmailMessage:
    """The MIME message of an outbox row: plain text and HTML alternatives."""
    assert settings.mail_from is not None
    rendered = render_mail(mail, settings)
    domain = settings.mail_from.rpartition("@")[2]
    message = EmailMessage()
    message["From"] = formataddr((mail.sender_name, settings.mail_from))
    message["To"] = mail.to_address
    reply_to = mail.context.get("store_email")
    if reply_to and mail.to_address != reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(mail.created_at)
    message["Message-ID"] = f"<storeplex-mail-{mail.id}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


async def _claim(database: Database, settings: Settings, after_id: int) -> list[OutboxMail]:
    now = utcnow()
    due = or_(
        and_(OutboxMail.status == MailStatus.PENDING, OutboxMail.next_attempt_at <= now),
        and_(OutboxMail.status == MailStatus.SENDING, OutboxMail.claimed_until < now),
    )
    lease = timedelta(seconds=settings.smtp_timeout_seconds * 2 + 60)
    async with database.session_scope() as session:
        ids = list(
            (
                await session.execute(
                    select(OutboxMail.id)
                    .where(due, OutboxMail.id > after_id)
                    .order_by(OutboxMail.id)
                    .limit(BATCH_SIZE)
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        if not ids:
            return []
        claimed = list(
            (
                await session.execute(
                    update(OutboxMail)
                    .where(OutboxMail.id.in_(ids), due)
                    .values(
                        status=MailStatus.SENDING,
                        claimed_until=now + lease,
                        attempts=OutboxMail.attempts + 1,
                        updated_at=now,
                    )
                    .returning(OutboxMail)
                    .execution_options(synchronize_session=False)
                )
            ).scalars()
        )
    return sorted(claimed, key=lambda mail: mail.id)


async def _record(
    records: AsyncSession, settings: Settings, mail: OutboxMail, error: str | None
) -> None:
    """Write one mail's outcome and commit it at once, before the next mail is sent."""
    now = utcnow()
    if error is None:
        values: dict[str, object] = {"status": MailStatus.SENT, "sent_at": now, "last_error": None}
    elif mail.attempts >= settings.mail_max_attempts:
        values = {"status": MailStatus.FAILED, "last_error": error}
        log.error("mail %s to %s failed for good: %s", mail.id, mail.kind, error)
    else:
        wait = settings.mail_retry_base_seconds * 2 ** (mail.attempts - 1)
        values = {
            "status": MailStatus.PENDING,
            "next_attempt_at": now + timedelta(seconds=wait),
            "last_error": error,
        }
        log.warning("mail %s (%s) refused, retry in %.0f s: %s", mail.id, mail.kind, wait, error)
    await records.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail.id, OutboxMail.status == MailStatus.SENDING)
        .values(claimed_until=None, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    await records.commit()


def _client(target: SmtpTarget, settings: Settings) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=target.host,
        port=target.port,
        use_tls=target.implicit_tls,
        # With credentials, smtp:// must upgrade to TLS; without, it does when offered.
        start_tls=True if target.username and not target.implicit_tls else None,
        username=target.username,
        password=target.password,
        timeout=settings.smtp_timeout_seconds,
    )


def _reason(exc: Exception) -> str:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return "; ".join(f"{r.code} {r.message}" for r in exc.recipients)[:1000]
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{exc.code} {exc.message}"[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]


async def _send_one(
    records: AsyncSession, settings: Settings, smtp: aiosmtplib.SMTP, mail: OutboxMail
) -> int:
    """Send one claimed mail on an open connection and record the outcome; 1 if accepted."""
    try:
        message = build_message(mail, settings)
    except Exception as exc:  # a broken template must not block the queue
        log.exception("mail %s (%s) cannot be rendered", mail.id, mail.kind)
        await _record(records, settings, mail, f"cannot be rendered: {type(exc).__name__}")
        return 0
    try:
        await smtp.send_message(message)
    except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
        await _record(records, settings, mail, _reason(exc))
        if not smtp.is_connected:
            raise
        await smtp.rset()
        return 0
    await _record(records, settings, mail, None)
    return 1


async def deliver_due(db: Database, settings: Settings) -> int:
    """Send every mail that is due; returns how many the server accepted.

    With no SMTP server configured the mails are marked kept: they stay readable
    on the platform's mailbox page and are never sent later by surprise.
    """
    target = settings.smtp
    await drop_stale(db)
    if target is None:
        async with db.session_scope() as session:
            await session.execute(
                update(OutboxMail)
                .where(
                    OutboxMail.status == MailStatus.PENDING,
                    OutboxMail.next_attempt_at <= utcnow(),
                )
                .values(status=MailStatus.KEPT, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
        return 0
    sent = last_id = 0
    # One session records every outcome (a short transaction each), so a mail costs one
    # UPDATE and COMMIT rather than a session of its own.
    async with db.sessionmaker() as records:
        # Each call looks at a mail once (ids only grow), so a refusal waits for a later call.
        while mails := await _claim(db, settings, last_id):
            last_id = mails[-1].id
            try:
                async with _client(target, settings) as smtp:
                    for mail in mails:
                        sent += await _send_one(records, settings, smtp, mail)
            except (aiosmtplib.SMTPException, OSError) as exc:
                # The connection failed: every mail of the batch not yet recorded waits.
                for mail in mails:
                    await _record(records, settings, mail, _reason(exc))
                log.warning("SMTP server %s:%s: %s", target.host, target.port, _reason(exc))
                break
    if sent:
        log.info("mail: %d sent", sent)
    return sent
