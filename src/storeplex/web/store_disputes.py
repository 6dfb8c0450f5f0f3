"""The store admin's disputes (/admin/disputes): which need an answer and by when, the
evidence form (save a draft, then submit after a confirmation), and each outcome in plain
words. The forms call `disputes.evidence`, the same service as the API; a refusal
re-renders the form with the service's message and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile
from starlette.responses import Response

from storeplex.deps import SessionDep
from storeplex.disputes import evidence
from storeplex.disputes.evidence import EvidenceFile, needs_response
from storeplex.errors import NotFound, StoreplexError
from storeplex.models import Dispute, Store, utcnow
from storeplex.money_format import format_money
from storeplex.tenancy import get_scoped, scoped
from storeplex.web.common import StaffPage, page_router, redirect, render, settings_of
from storeplex.web.common import staff_page as staff_page_dep

router = page_router("/admin/disputes")

Staff = Annotated[StaffPage, Depends(staff_page_dep)]
DisputeId = Annotated[int, Path(ge=1, le=2**62)]

FIELD_LABELS = {
    "customer_name": "Customer's name",
    "customer_email_address": "Customer's email address",
    "product_description": "What was sold",
    "shipping_carrier": "Shipping carrier",
    "shipping_tracking_number": "Tracking number",
    "shipping_date": "Shipping date",
    "uncategorized_text": "Your explanation",
}
FILE_LABELS = {
    "receipt": "Receipt or invoice",
    "customer_communication": "Messages with the customer",
    "shipping_documentation": "Proof of shipping or delivery",
    "uncategorized_file": "Other document",
}
REASONS = {
    "fraudulent": "the cardholder says they did not make this payment",
    "product_not_received": "the customer says the goods never arrived",
    "product_unacceptable": "the customer says the goods were not as described",
    "duplicate": "the customer says they paid twice",
    "subscription_canceled": "the customer says they had cancelled",
    "credit_not_processed": "the customer says a promised refund never came",
    "general": "the customer's bank gave no specific reason",
}


def when(value: datetime | None) -> str:
    return value.strftime("%d %B %Y, %H:%M UTC") if value else "—"


def outcome_words(row: Dispute, now: datetime) -> str:
    """What the dispute means for the store, in one sentence."""
    amount = format_money(row.amount, row.currency, None)
    if row.outcome == "won":
        return "Won — the money came back to you."
    if row.outcome == "lost":
        if row.reversed_amount:
            taken = format_money(row.reversed_amount, row.currency, None)
            return f"Lost — the {taken} taken back when the dispute opened is not returned."
        return f"Lost — the cardholder's bank kept the {amount}."
    if row.status in ("under_review", "warning_under_review"):
        return "Answered — the cardholder's bank is reviewing your evidence."
    if needs_response(row, now):
        return f"Needs your answer by {when(row.evidence_due_by)}."
    return "The deadline to answer has passed; the bank decides without your evidence."


async def due_disputes(session: AsyncSession, store_id: int) -> list[dict[str, Any]]:
    """Alerts for the dashboard: each dispute that needs an answer, soonest deadline first."""
    rows = (
        (
            await session.execute(
                scoped(Dispute, store_id)
                .where(Dispute.outcome.is_(None), Dispute.status.in_(evidence.NEEDS_RESPONSE))
                .order_by(Dispute.evidence_due_by, Dispute.id)
                .limit(50)
            )
        )
        .scalars()
        .all()
    )
    now = utcnow()
    return [
        {
            "row": r,
            "due": when(r.evidence_due_by),
            "amount": format_money(r.amount, r.currency, None),
        }
        for r in rows
        if needs_response(r, now)
    ]


def _base(staff: StaffPage, **extra: Any) -> dict[str, Any]:
    return {
        "staff": staff,
        "store": staff.store,
        "csrf": staff.csrf,
        "section": "disputes",
        **extra,
    }


@dataclass(frozen=True)
class Viewer:
    """Who looks at a dispute page: a store's staff, or the platform admin (any store)."""

    store_id: int | None  # None: the platform admin
    url: str  # the list's path; a dispute is at url/{id}
    template: str
    base: dict[str, Any]
    allowed: bool  # may answer (the platform setting for staff; always for the admin)


def staff_viewer(request: Request, staff: StaffPage) -> Viewer:
    return Viewer(
        store_id=staff.store.id,
        url="/admin/disputes",
        template="admin/dispute.html",
        base=_base(staff),
        allowed=settings_of(request).stores_answer_disputes,
    )


@router.get("", response_class=HTMLResponse)
async def disputes_page(request: Request, staff: Staff, session: SessionDep) -> HTMLResponse:
    rows = (
        (
            await session.execute(
                scoped(Dispute, staff.store.id)
                .order_by(Dispute.created_at.desc(), Dispute.id.desc())
                .limit(200)
            )
        )
        .scalars()
        .all()
    )
    now = utcnow()
    items = [
        {"row": r, "words": outcome_words(r, now), "open": needs_response(r, now)} for r in rows
    ]
    items.sort(key=lambda i: not i["open"])
    return render(request, "admin/disputes.html", _base(staff, items=items))


async def _row(session: AsyncSession, viewer: Viewer, dispute_id: int) -> Dispute:
    if viewer.store_id is not None:
        return await get_scoped(session, Dispute, viewer.store_id, dispute_id, what="dispute")
    row = await session.get(Dispute, dispute_id)
    if row is None:
        raise NotFound("No such dispute")
    return row


async def detail(
    request: Request,
    viewer: Viewer,
    session: AsyncSession,
    dispute_id: int,
    *,
    error: str | None = None,
    error_field: str | None = None,
    confirm: bool = False,
    notice: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A dispute's page: what it is, where it stands, and the evidence form while it is open."""
    row = await _row(session, viewer, dispute_id)
    store = await session.get(Store, row.store_id)
    now = utcnow()
    can_answer = needs_response(row, now)
    saved: dict[str, str] = {}
    if can_answer and viewer.allowed and values is None:
        try:
            saved = await evidence.saved_evidence(request.app.state.stripe, row)
        except StoreplexError:
            notice = "Your saved draft could not be read from Stripe just now."
    return render(
        request,
        viewer.template,
        {
            **viewer.base,
            "url": f"{viewer.url}/{row.id}",
            "store_link": viewer.store_id is not None,
            "dispute_store": store,
            "dispute": row,
            "words": outcome_words(row, now),
            "reason": REASONS.get(
                row.reason or "", "the customer's bank gave a reason we do not know"
            ),
            "due": when(row.evidence_due_by),
            "can_answer": can_answer,
            "allowed": viewer.allowed,
            "field_labels": FIELD_LABELS,
            "file_labels": FILE_LABELS,
            "limits": evidence.TEXT_FIELDS,
            "values": values if values is not None else saved,
            "saved_file": {k: FILE_LABELS[k] for k in FILE_LABELS if saved.get(k)},
            "error": error,
            "error_field": error_field,
            "confirm": confirm,
            "notice": notice,
        },
        status_code=status_code,
    )


NOTICES = {
    "saved": "Draft saved. Nothing has been sent to the bank yet.",
    "submitted": "Your evidence was sent to the cardholder's bank.",
}


@router.get("/{dispute_id}", response_class=HTMLResponse)
async def dispute_page(
    request: Request, dispute_id: DisputeId, staff: Staff, session: SessionDep
) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return await detail(request, staff_viewer(request, staff), session, dispute_id, notice=notice)


@router.post("/{dispute_id}", response_class=HTMLResponse)
async def dispute_submit(
    request: Request, dispute_id: DisputeId, staff: Staff, session: SessionDep
) -> Response:
    return await submit(request, staff_viewer(request, staff), session, dispute_id)


async def submit(
    request: Request, viewer: Viewer, session: AsyncSession, dispute_id: int
) -> Response:
    """The evidence form: save a draft, review (save, then ask), or confirm (send)."""
    form = await request.form(max_files=1, max_fields=len(FIELD_LABELS) + 6)
    action = str(form.get("action", "save"))
    text = {k: str(form.get(k, "")) for k in FIELD_LABELS}
    if not viewer.allowed:
        return await detail(
            request, viewer, session, dispute_id, status_code=403,
            error="The platform answers disputes for its stores; contact the operator.",
        )  # fmt: skip
    row = await _row(session, viewer, dispute_id)
    file = None
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(evidence.MAX_FILE_BYTES + 1)
        file = EvidenceFile(upload.filename, data, str(form.get("file_field", "")))
    gateway = request.app.state.stripe
    try:
        async with session.begin_nested():
            if action == "confirm":
                row = await evidence.answer_dispute(
                    session, gateway, store_id=row.store_id, dispute_id=dispute_id,
                    evidence={}, submit=True,
                )  # fmt: skip
            else:
                row = await evidence.answer_dispute(
                    session, gateway, store_id=row.store_id, dispute_id=dispute_id,
                    evidence=text, file=file, submit=False,
                )  # fmt: skip
    except StoreplexError as exc:
        if exc.status_code == 404:
            raise
        return await detail(
            request, viewer, session, dispute_id, error=exc.message, error_field=exc.field,
            values=text if action != "confirm" else None, status_code=exc.status_code,
        )  # fmt: skip
    if action == "confirm":
        if row.outcome is None and row.status in evidence.NEEDS_RESPONSE:
            return await detail(
                request, viewer, session, dispute_id, status_code=400,
                error="There is no evidence to send yet: fill in the form and save it first.",
            )  # fmt: skip
        return redirect(f"{viewer.url}/{dispute_id}?done=submitted")
    if action == "review":
        return await detail(request, viewer, session, dispute_id, confirm=True)
    return redirect(f"{viewer.url}/{dispute_id}?done=saved")
