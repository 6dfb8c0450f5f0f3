"""The platform admin's mailbox (/platform/mail): every mail the platform wrote, newest first,
with its delivery state, and each one rendered as it was (or will be) sent.

With no SMTP server configured this is where mails are read; with one, it shows
what was delivered, what waits for a retry and why.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from storeplex.config import Settings
from storeplex.deps import SessionDep
from storeplex.errors import NotFound
from storeplex.mail.render import render_mail
from storeplex.models import MailStatus, OutboxMail, Store, utcnow
from storeplex.web.common import AdminPage, admin_page, page_router, render, settings_of

log = logging.getLogger("storeplex.mail")
router = page_router("/platform/mail")

Admin = Annotated[AdminPage, Depends(admin_page)]
PAGE_SIZE = 50


def _subject(mail: OutboxMail, settings: Settings) -> str:
    try:
        return render_mail(mail, settings).subject
    except Exception:  # one broken template must not hide the others
        log.exception("mail %s (%s) cannot be rendered", mail.id, mail.kind)
        return f"({mail.kind}: cannot be rendered)"


@router.get("", response_class=HTMLResponse)
async def mailbox_page(
    request: Request,
    admin: Admin,
    session: SessionDep,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> HTMLResponse:
    query = (
        select(OutboxMail, Store.name)
        .outerjoin(Store, Store.id == OutboxMail.store_id)
        .order_by(OutboxMail.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if before is not None:
        query = query.where(OutboxMail.id < before)
    rows = list((await session.execute(query)).all())
    settings = settings_of(request)
    mails = [
        {"mail": mail, "store_name": store_name, "subject": _subject(mail, settings)}
        for mail, store_name in rows[:PAGE_SIZE]
    ]
    return render(
        request,
        "platform/mailbox.html",
        {
            "admin": admin,
            "csrf": admin.csrf,
            "section": "mail",
            "notice": None,
            "mails": mails,
            "older": rows[PAGE_SIZE - 1][0].id if len(rows) > PAGE_SIZE else None,
            "smtp_configured": settings.smtp is not None,
            "statuses": MailStatus,
            "now": utcnow(),
        },
    )


@router.get("/{mail_id}", response_class=HTMLResponse)
async def mail_page(
    request: Request,
    mail_id: Annotated[int, Path(ge=1, le=2**62)],
    admin: Admin,
    session: SessionDep,
) -> HTMLResponse:
    mail = await session.get(OutboxMail, mail_id)
    if mail is None:
        raise NotFound(f"No mail with id {mail_id}")
    settings = settings_of(request)
    return render(
        request,
        "platform/mail.html",
        {
            "admin": admin,
            "csrf": admin.csrf,
            "section": "mail",
            "notice": None,
            "mail": mail,
            "rendered": render_mail(mail, settings),
            "mail_from": settings.mail_from or "(STOREPLEX_MAIL_FROM not set)",
        },
    )
