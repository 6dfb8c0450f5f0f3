"""Store staff management pages under /admin: the owner's staff page (the staff, the
invitations waiting, the invitation form) and the page an invitation's link opens.

Rule: the same services as the JSON API (`auth.invitations`, `auth.service`); inviting
answers the same for any address (see auth/invitations.py); a refused change
re-renders the page with the service's message and writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from storeplex.auth import invitations
from storeplex.auth import service as auth
from storeplex.deps import SessionDep
from storeplex.web.common import (
    StaffPage,
    attempt,
    check_login_form,
    form_data,
    redirect,
    render,
    render_login_form,
    require_owner_page,
    settings_of,
    staff_page,
)

RowId = Annotated[int, Path(ge=1, le=2**62)]
NOTICES = {"removed": "Staff member removed; their sign-ins and API tokens have stopped.",
           "withdrawn": "Invitation withdrawn; its link no longer works."}  # fmt: skip


async def _owner(request: Request, session: AsyncSession) -> StaffPage:
    page = await staff_page(request, session)
    require_owner_page(page)
    return page


async def _staff_page(
    request: Request,
    session: AsyncSession,
    page: StaffPage,
    *,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    members, _ = await auth.list_staff_users(session, store_id=page.store.id, limit=100, offset=0)
    pending = await invitations.pending_invitations(session, store_id=page.store.id)
    context = {
        "staff": page,
        "store": page.store,
        "csrf": page.csrf,
        "section": "staff",
        "members": members,
        "invitations": pending,
        "form": {},
        "notice": NOTICES.get(request.query_params.get("done") or ""),
        **extra,
    }
    return render(request, "admin/staff.html", context, status_code)


def add_staff_pages(router: APIRouter) -> None:
    """The staff pages of the store admin (`router` is mounted at /admin)."""

    async def staff_list(request: Request, session: SessionDep) -> Response:
        return await _staff_page(request, session, await _owner(request, session))

    async def invite(request: Request, session: SessionDep) -> Response:
        page = await _owner(request, session)
        form = await form_data(request)
        row, error = await attempt(
            session,
            invitations.invite_staff(
                session,
                settings_of(request),
                store=page.store,
                email=form.get("email", "")[:320],
                role=form.get("role", ""),
                name=form.get("name", "")[:300],
            ),
        )
        if row is None:
            return await _staff_page(request, session, page, status_code=400, error=error,
                                     form=form)  # fmt: skip
        return await _staff_page(
            request, session, page, notice=invitations.invitation_sent(row.email)
        )

    async def remove(request: Request, staff_id: RowId, session: SessionDep) -> Response:
        page = await _owner(request, session)
        await auth.get_staff_user(session, store_id=page.store.id, staff_user_id=staff_id)
        _, error = await attempt(
            session,
            auth.disable_staff_user(session, store_id=page.store.id, staff_user_id=staff_id),
        )
        if error is not None:
            return await _staff_page(request, session, page, status_code=409, error=error)
        return redirect("/admin/staff?done=removed")

    async def withdraw(request: Request, invitation_id: RowId, session: SessionDep) -> Response:
        page = await _owner(request, session)
        await invitations.withdraw_invitation(
            session, store_id=page.store.id, invitation_id=invitation_id
        )
        return redirect("/admin/staff?done=withdrawn")

    async def join_page(
        request: Request, token: Annotated[str, Query(max_length=200)] = ""
    ) -> HTMLResponse:
        """Where an invitation's link lands: choose a password and join."""
        return render_login_form(request, "join_staff.html", {"token": token[:128]})

    async def join_submit(request: Request, session: SessionDep) -> Response:
        form = await form_data(request)
        check_login_form(request, form)
        token = form.get("token", "")
        _, error = await attempt(
            session,
            invitations.accept_invitation(
                session, secret=token, password=form.get("password", ""), name=form.get("name")
            ),
        )
        if error is not None:
            return render_login_form(
                request, "join_staff.html", {"token": token[:128], "error": error}, 400
            )
        return redirect("/admin/login")

    routes: list[tuple[str, str, Any]] = [
        ("GET", "/staff", staff_list),
        ("POST", "/staff/invite", invite),
        ("POST", "/staff/{staff_id}/remove", remove),
        ("POST", "/staff/invitations/{invitation_id}/withdraw", withdraw),
        ("GET", "/join", join_page),
        ("POST", "/join", join_submit),
    ]
    for method, path, endpoint in routes:
        router.add_api_route(path, endpoint, methods=[method], response_class=HTMLResponse)
