"""A signed-in person's own account pages under `/admin` (store staff) and `/platform`
(platform admins): the sign-in's second step (the authenticator code), and the account
page (two-factor set-up and turning it off, password change, sign out everywhere).

Rule: the same services as the JSON API (`auth.service`, `auth.two_factor`); a refused
change re-renders the page with the service's message and writes nothing. A platform
admin who must still set up two-factor sign-in (production) reaches the account page
and its two-factor forms only (`admin_page_enrolling`); everything else, the password
and sign-out forms included, is behind the strict guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from storeplex.auth import service, two_factor
from storeplex.auth.deps import client_address, read_session, session_manager
from storeplex.auth.login import release
from storeplex.auth.sessions import end_sessions
from storeplex.auth.two_factor import PersonKind
from storeplex.deps import SessionDep, get_database
from storeplex.errors import StoreplexError
from storeplex.models import PlatformAdmin, StaffUser
from storeplex.web.common import (
    PENDING_KIND,
    AdminPage,
    StaffPage,
    admin_page,
    admin_page_enrolling,
    attempt,
    check_form_csrf,
    form_data,
    redirect,
    render,
    safe_next,
    settings_of,
    staff_page,
)

Page = StaffPage | AdminPage
Guard = Callable[[Request, AsyncSession], Awaitable[Page]]

NOTICES = {
    "password": "Your password is changed; every other sign-in of yours has ended.",
    "two-factor-off": "Two-factor sign-in is off.",
}


def _person(page: Page) -> StaffUser | PlatformAdmin:
    return page.user if isinstance(page, StaffPage) else page.admin


def _layout_context(page: Page) -> dict[str, Any]:
    if isinstance(page, StaffPage):
        return {
            "layout": "admin/_layout.html",
            "staff": page,
            "store": page.store,
            "csrf": page.csrf,
        }
    return {"layout": "platform/_layout.html", "admin": page, "csrf": page.csrf}


def add_account_pages(router: APIRouter, *, area: str, kind: PersonKind) -> None:
    """The sign-in code step and the account page of `/<area>` for people of `kind`."""
    home = f"/{area}"
    base = f"{home}/account"
    login = f"{home}/login"
    pending_kind = PENDING_KIND[kind]
    strict: Guard = staff_page if kind == "staff" else admin_page
    enrolling: Guard = staff_page if kind == "staff" else admin_page_enrolling

    async def account_page(
        request: Request,
        session: AsyncSession,
        page: Page,
        *,
        status_code: int = 200,
        **extra: Any,
    ) -> HTMLResponse:
        person = _person(page)
        enabled = await two_factor.is_enabled(session, kind, person.id)
        context = {
            **_layout_context(page),
            "section": "account",
            "base": base,
            "email": person.email,
            "two_factor_on": enabled,
            "codes_left": (
                await two_factor.recovery_codes_left(session, kind, person.id) if enabled else 0
            ),
            "must_enrol": kind == "admin" and settings_of(request).is_production and not enabled,
            "notice": NOTICES.get(request.query_params.get("done") or ""),
            **extra,
        }
        return render(request, "account.html", context, status_code)

    # --- the sign-in's second step ------------------------------------------------------

    def code_form(
        request: Request, csrf: str, target: str, error: str | None, status_code: int = 200
    ) -> HTMLResponse:
        context = {
            "action": f"{login}/code",
            "login": login,
            "next": target,
            "csrf_token": csrf,
            "error": error,
        }
        return render(request, "login_code.html", context, status_code)

    async def code_page(
        request: Request,
        session: SessionDep,
        next: Annotated[str | None, Query(max_length=500)] = None,
    ) -> Response:
        pending = await read_session(request, session, pending_kind)
        if pending is None:
            return redirect(login)
        return code_form(request, pending.csrf, safe_next(next, home, home), None)

    async def code_submit(request: Request, session: SessionDep) -> Response:
        form = await form_data(request)
        target = safe_next(form.get("next"), home, home)
        pending = await read_session(request, session, pending_kind)
        if pending is None:
            return redirect(f"{login}?next={quote(target, safe='')}")
        check_form_csrf(pending, form)
        person: StaffUser | PlatformAdmin | None = (
            await session.get(StaffUser, pending.user_id)
            if kind == "staff"
            else await session.get(PlatformAdmin, pending.user_id)
        )
        if person is None or not person.is_active:
            return redirect(login)
        await release(session)
        try:
            await two_factor.check_second_factor(
                get_database(request),
                settings_of(request),
                kind=kind,
                user_id=person.id,
                email=person.email,
                code=form.get("code", ""),
                address=client_address(request),
            )
        except StoreplexError as exc:
            return code_form(request, pending.csrf, target, exc.message, exc.status_code)
        response = redirect(target)
        manager = session_manager(request)
        await manager.end(request, session, response, pending_kind)
        store_id = person.store_id if isinstance(person, StaffUser) else None
        await manager.start(session, request, response, kind, person.id, store_id)
        return response

    # --- the account page ---------------------------------------------------------------

    async def show(request: Request, session: SessionDep) -> Response:
        return await account_page(request, session, await enrolling(request, session))

    async def setup(request: Request, session: SessionDep) -> Response:
        page = await enrolling(request, session)
        enrolment, error = await attempt(
            session, two_factor.begin_enrolment(session, settings_of(request), _person(page))
        )
        if error is not None:
            return await account_page(request, session, page, status_code=409, error=error)
        return await account_page(request, session, page, enrolment=enrolment)

    async def confirm(request: Request, session: SessionDep) -> Response:
        page = await enrolling(request, session)
        form = await form_data(request)
        codes, error = await attempt(
            session,
            two_factor.confirm_enrolment(
                session, settings_of(request), _person(page), form.get("code", "")
            ),
        )
        if error is not None:
            return await account_page(
                request, session, page, status_code=400, error=error, confirming=True
            )
        return await account_page(request, session, page, recovery_codes=codes)

    async def disable(request: Request, session: SessionDep) -> Response:
        page = await strict(request, session)
        form = await form_data(request)
        _, error = await attempt(
            session,
            two_factor.disable(
                session,
                settings_of(request),
                _person(page),
                password=form.get("password", ""),
                code=form.get("code", ""),
            ),
        )
        if error is not None:
            return await account_page(request, session, page, status_code=400, error=error)
        return redirect(f"{base}?done=two-factor-off")

    async def change_password(request: Request, session: SessionDep) -> Response:
        page = await strict(request, session)
        form = await form_data(request)
        person = _person(page)
        _, error = await attempt(
            session,
            service.change_password(
                session,
                person=person,
                current_password=form.get("current_password", ""),
                new_password=form.get("new_password", ""),
            ),
        )
        if error is not None:
            return await account_page(request, session, page, status_code=400, error=error)
        response = redirect(f"{base}?done=password")
        store_id = person.store_id if isinstance(person, StaffUser) else None
        await session_manager(request).start(session, request, response, kind, person.id, store_id)
        return response

    async def sign_out_everywhere(request: Request, session: SessionDep) -> Response:
        page = await strict(request, session)
        await end_sessions(session, kind=kind, user_id=_person(page).id)
        response = redirect(login)
        await session_manager(request).end(request, session, response, kind)
        return response

    routes: list[tuple[str, str, Callable[..., Awaitable[Response]]]] = [
        ("GET", "/login/code", code_page),
        ("POST", "/login/code", code_submit),
        ("GET", "/account", show),
        ("POST", "/account/two-factor/setup", setup),
        ("POST", "/account/two-factor/confirm", confirm),
        ("POST", "/account/two-factor/disable", disable),
        ("POST", "/account/password", change_password),
        ("POST", "/account/sign-out-everywhere", sign_out_everywhere),
    ]
    for method, path, endpoint in routes:
        router.add_api_route(path, endpoint, methods=[method], response_class=HTMLResponse)
