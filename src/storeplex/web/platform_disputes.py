"""The platform admin's disputes (/platform/disputes): every store's disputes, and the same
evidence form as the store's page. The platform admin may always answer, whatever
`STOREPLEX_STORES_ANSWER_DISPUTES` says.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.responses import Response

from storeplex.deps import SessionDep
from storeplex.disputes.evidence import needs_response
from storeplex.models import Dispute, Store, utcnow
from storeplex.web.common import AdminPage, admin_page, page_router, render, settings_of
from storeplex.web.store_disputes import NOTICES, Viewer, detail, outcome_words, submit

router = page_router("/platform/disputes")

Admin = Annotated[AdminPage, Depends(admin_page)]
DisputeId = Annotated[int, Path(ge=1, le=2**62)]


def _viewer(admin: AdminPage) -> Viewer:
    base: dict[str, Any] = {"admin": admin, "csrf": admin.csrf, "section": "disputes"}
    return Viewer(
        store_id=None,
        url="/platform/disputes",
        template="platform/dispute.html",
        base=base,
        allowed=True,
    )


@router.get("", response_class=HTMLResponse)
async def platform_disputes(request: Request, admin: Admin, session: SessionDep) -> HTMLResponse:
    rows = (
        await session.execute(
            select(Dispute, Store.name)
            .join(Store, Store.id == Dispute.store_id)
            .order_by(Dispute.created_at.desc(), Dispute.id.desc())
            .limit(200)
        )
    ).all()
    now = utcnow()
    items = [
        {
            "row": row,
            "store_name": name,
            "words": outcome_words(row, now),
            "open": needs_response(row, now),
        }
        for row, name in rows
    ]
    items.sort(key=lambda i: not i["open"])
    return render(
        request,
        "platform/disputes.html",
        {
            **_viewer(admin).base,
            "items": items,
            "stores_answer": settings_of(request).stores_answer_disputes,
        },
    )


@router.get("/{dispute_id}", response_class=HTMLResponse)
async def platform_dispute(
    request: Request, dispute_id: DisputeId, admin: Admin, session: SessionDep
) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return await detail(request, _viewer(admin), session, dispute_id, notice=notice)


@router.post("/{dispute_id}", response_class=HTMLResponse)
async def platform_dispute_submit(
    request: Request, dispute_id: DisputeId, admin: Admin, session: SessionDep
) -> Response:
    return await submit(request, _viewer(admin), session, dispute_id)
