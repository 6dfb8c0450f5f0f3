"""What every page route shares: HTML error pages, login guards, CSRF, forms and rendering.

Rule a newcomer must know: a page handler never lets a half-done change commit.
Either it raises (the `PageRoute` wrapper rolls the request's session back and
renders an HTML error page, or redirects to a login page), or it runs a service
call through `attempt()` (a savepoint) so a refused action can re-render its
form with the service's message and leave nothing behind.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from storeplex.auth.deps import read_session, session_manager
from storeplex.auth.reset import RESET_ASKED, ask_for_reset, complete_reset
from storeplex.auth.service import suspended_message
from storeplex.auth.sessions import HALF_SIGN_IN, SessionData, SessionKind
from storeplex.auth.two_factor import PersonKind, is_enabled
from storeplex.config import Settings
from storeplex.deps import SessionDep
from storeplex.errors import BadRequest, Forbidden, StoreplexError
from storeplex.models import PlatformAdmin, StaffRole, StaffUser, Store, StoreStatus
from storeplex.payments.service import PaymentService
from storeplex.web.templating import templates
from storeplex.words import humanize_fields

T = TypeVar("T")


class LoginRequired(Exception):
    """Raised by a page guard: the wrapper answers with a redirect to `login_url`."""

    def __init__(self, login_url: str) -> None:
        super().__init__(login_url)
        self.login_url = login_url


def _error_page(request: Request, status: int, message: str) -> HTMLResponse:
    titles = {
        400: "Something is not right",
        401: "Please log in",
        403: "Not allowed",
        404: "Not found",
        409: "That cannot be done now",
        422: "Something is not right",
    }
    title = titles.get(status, "Something went wrong")
    return templates.TemplateResponse(
        request,
        "error.html",
        {"title": title, "message": message, "status": status},
        status_code=status,
    )


async def _roll_back(request: Request) -> None:
    session: AsyncSession | None = getattr(request.state, "db_session", None)
    if session is not None:
        await session.rollback()


class PageRoute(APIRoute):
    """An APIRoute whose errors are HTML pages (or login redirects), never JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired as exc:
                await _roll_back(request)
                return RedirectResponse(exc.login_url, status_code=303)
            except StoreplexError as exc:
                await _roll_back(request)
                return _error_page(request, exc.status_code, humanize_fields(exc.message))
            except RequestValidationError:
                await _roll_back(request)
                return _error_page(request, 404, "This address does not point to a page.")

        return handler


async def _remember_session(request: Request, session: SessionDep) -> None:
    # The same (per-request, cached) session the handler gets, kept so that the
    # error wrapper can roll it back before the dependency's exit commits.
    request.state.db_session = session


def page_router(prefix: str = "") -> APIRouter:
    """A router for pages: HTML errors, hidden from the OpenAPI schema."""
    return APIRouter(
        prefix=prefix,
        include_in_schema=False,
        route_class=PageRoute,
        dependencies=[Depends(_remember_session)],
    )


def render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def attempt(session: AsyncSession, action: Awaitable[T]) -> tuple[T | None, str | None]:
    """Run one service call in a savepoint: (result, None), or (None, the refusal message)."""
    try:
        async with session.begin_nested():
            return await action, None
    except StoreplexError as exc:
        return None, humanize_fields(exc.message)


async def form_data(request: Request) -> dict[str, str]:
    """The posted form as plain strings (files and repeated keys are not used by our pages)."""
    form = await request.form()
    return {k: v.strip() for k, v in form.items() if isinstance(v, str)}


def check_form_csrf(data: SessionData, form: dict[str, str]) -> None:
    sent = form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, data.csrf):
        raise Forbidden("This form has expired. Go back, reload the page and try again.")


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def payment_service(request: Request, session: AsyncSession) -> PaymentService:
    return PaymentService(session, request.app.state.stripe, settings_of(request))


def stripe_js_url(settings: Settings) -> str:
    """Stripe.js from Stripe itself with real keys; the emulator's stand-in otherwise."""
    base = settings.resolved_stripe_api_base
    if base != "https://api.stripe.com":
        return f"{base}/js/v3/"
    return "https://js.stripe.com/v3/"


def _login_url(login_path: str, request: Request) -> str:
    here = request.url.path
    if request.url.query:
        here += "?" + request.url.query
    return f"{login_path}?next={quote(here, safe='')}"


def safe_next(value: str | None, default: str, prefix: str) -> str:
    """A post-login destination that stays on this site, under the expected prefix."""
    if value and value.startswith(prefix) and not value.startswith("//") and "\\" not in value:
        return value
    return default


@dataclass(frozen=True, slots=True)
class StaffPage:
    """The logged-in staff member of a store-admin page."""

    user: StaffUser
    store: Store
    csrf: str


@dataclass(frozen=True, slots=True)
class AdminPage:
    admin: PlatformAdmin
    csrf: str


def require_owner_page(staff: StaffPage) -> None:
    """Owners alone set up payments, change payout settings, staff and the business email."""
    if staff.user.role != StaffRole.OWNER:
        raise Forbidden("Only the store owner may do this")


async def staff_page(request: Request, session: SessionDep) -> StaffPage:
    """The staff session of this page, or a redirect to /admin/login (then back here)."""
    data = await read_session(request, session, "staff")
    if data is None or data.store_id is None:
        raise LoginRequired(_login_url("/admin/login", request))
    user = (
        await session.execute(
            select(StaffUser).where(StaffUser.id == data.user_id, StaffUser.is_active.is_(True))
        )
    ).scalar_one_or_none()
    store = await session.get(Store, data.store_id)
    if user is None or store is None or user.store_id != store.id:
        raise LoginRequired(_login_url("/admin/login", request))
    if store.status != StoreStatus.ACTIVE:
        raise Forbidden(suspended_message(store))
    if request.method not in ("GET", "HEAD"):
        check_form_csrf(data, await form_data(request))
    return StaffPage(user=user, store=store, csrf=data.csrf)


async def admin_page(request: Request, session: SessionDep) -> AdminPage:
    """The platform admin session of this page, or a redirect to /platform/login; in
    production an admin without two-factor sign-in is sent to /platform/account to set
    it up (the only page open to them until then)."""
    page = await admin_page_enrolling(request, session)
    if settings_of(request).is_production and not await is_enabled(session, "admin", page.admin.id):
        raise LoginRequired(ENROL_PATH)
    return page


ENROL_PATH = "/platform/account"


async def admin_page_enrolling(request: Request, session: SessionDep) -> AdminPage:
    """A platform admin page open before two-factor sign-in is set up (the account page)."""
    data = await read_session(request, session, "admin")
    if data is None:
        raise LoginRequired(_login_url("/platform/login", request))
    admin = (
        await session.execute(
            select(PlatformAdmin).where(
                PlatformAdmin.id == data.user_id, PlatformAdmin.is_active.is_(True)
            )
        )
    ).scalar_one_or_none()
    if admin is None:
        raise LoginRequired(_login_url("/platform/login", request))
    if request.method not in ("GET", "HEAD"):
        check_form_csrf(data, await form_data(request))
    return AdminPage(admin=admin, csrf=data.csrf)


# Login forms have no session yet, so their CSRF token is a double-submit cookie:
# SameSite=Strict, HttpOnly, and the same value in the form. A cross-site page can
# post the form but cannot read or set the cookie, so it cannot log a victim in to
# an account of the attacker's choosing.
LOGIN_CSRF_COOKIE = "storeplex_login_csrf"


def render_login_form(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    """Render a login or sign-up form with its CSRF token (cookie and hidden field)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if len(token) < 32 or len(token) > 64:
        token = secrets.token_urlsafe(32)
    response = render(request, template, {**context, "csrf_token": token}, status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=settings_of(request).base_url.startswith("https://"),
        path="/",
    )
    return response


def check_login_form(request: Request, form: dict[str, str]) -> None:
    """Refuse a login or sign-up post whose token does not match its cookie."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = form.get("csrf_token", "")
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise Forbidden("This form has expired. Go back, reload the page and try again.")


# (session kind, user id, store id) of whoever the email and password belong to.
Authenticate = Callable[[str, str], Awaitable[tuple[PersonKind, int, int | None]]]


async def submit_login(
    request: Request,
    session: AsyncSession,
    *,
    template: str,
    home: str,
    authenticate: Authenticate,
) -> Response:
    """The POST of a staff or admin login form: check it, start the session, go on.

    A refusal re-renders the form with the service's message and starts nothing.
    """
    form = await form_data(request)
    target = safe_next(form.get("next"), home, home)
    try:
        check_login_form(request, form)
        if not form.get("email") or not form.get("password"):
            raise BadRequest("Enter your email and password.")
        kind, user_id, store_id = await authenticate(form["email"], form["password"])
    except StoreplexError as exc:
        return render_login_form(
            request,
            template,
            {"next": target, "email": form.get("email", ""), "error": exc.message},
            status_code=exc.status_code,
        )
    if await is_enabled(session, kind, user_id):
        # Half signed in: a short-lived session of its own kind, which only the code page
        # reads, bound to this browser by its cookie.
        response = redirect(f"{home}/login/code?next={quote(target, safe='')}")
        await session_manager(request).start(
            session,
            request,
            response,
            PENDING_KIND[kind],
            user_id,
            store_id,
            max_age=CODE_STEP_SECONDS,
        )
        return response
    response = redirect(target)
    await session_manager(request).start(session, request, response, kind, user_id, store_id)
    return response


# The half sign-in waiting for its authenticator code lasts this long.
CODE_STEP_SECONDS = 300
PENDING_KIND = HALF_SIGN_IN


async def submit_logout(
    request: Request, session: AsyncSession, *, kind: SessionKind, login_path: str
) -> Response:
    """End the session of this kind (the form must carry its CSRF token). With no live
    session there is nothing to end and no cookie is touched, so a post from another site
    (which carries no SameSite=Lax cookie) changes nothing."""
    data = await read_session(request, session, kind)
    response = redirect(login_path)
    if data is not None:
        check_form_csrf(data, await form_data(request))
        await session_manager(request).end(request, session, response, kind)
    return response


def render_reset_form(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    token: str,
    error: str | None = None,
) -> HTMLResponse:
    """The "choose a new password" form a mailed reset link opens."""
    return render_login_form(
        request,
        template,
        {**context, "token": token[:128], "error": error},
        status_code=400 if error else 200,
    )


async def submit_reset(
    request: Request,
    session: AsyncSession,
    *,
    template: str,
    context: dict[str, Any],
    store_id: int | None,
    done: str,
) -> Response:
    """The POST of that form: the password is set once, every session ends, on to login."""
    form = await form_data(request)
    check_login_form(request, form)
    token = form.get("token", "")
    _, error = await attempt(
        session,
        complete_reset(
            session, secret=token, new_password=form.get("new_password", ""), store_id=store_id
        ),
    )
    if error is not None:
        return render_reset_form(request, template, context, token=token, error=error)
    return redirect(done)


async def submit_forgot(
    request: Request,
    session: AsyncSession,
    *,
    kind: SessionKind,
    context: dict[str, Any],
    store: Store | None = None,
) -> Response:
    """The POST of a "forgot your password?" form: the same notice for any email."""
    form = await form_data(request)
    check_login_form(request, form)
    await ask_for_reset(
        session, settings_of(request), kind=kind, email=form.get("email", "")[:320], store=store
    )
    return render(request, "forgot_password.html", {**context, "notice": RESET_ASKED})


def add_password_reset_pages(router: APIRouter, *, area: str, kind: SessionKind) -> None:
    """The four pages of a password reset under `/<area>` (store staff's `/admin`, the
    platform's `/platform`): ask for a link, and the page the mailed link opens."""
    forgot = {"layout": "base.html", "action": f"/{area}/forgot-password"}
    reset = {"action": f"/{area}/reset-password"}

    async def forgot_password_page(request: Request) -> HTMLResponse:
        return render_login_form(request, "forgot_password.html", forgot)

    async def forgot_password_submit(request: Request, session: SessionDep) -> Response:
        return await submit_forgot(request, session, kind=kind, context=forgot)

    async def reset_password_page(
        request: Request, token: Annotated[str, Query(max_length=200)] = ""
    ) -> HTMLResponse:
        """Where a mailed password-reset link lands."""
        return render_reset_form(request, "reset_password.html", reset, token=token)

    async def reset_password_submit(request: Request, session: SessionDep) -> Response:
        return await submit_reset(
            request,
            session,
            template="reset_password.html",
            context=reset,
            store_id=None,
            done=f"/{area}/login",
        )

    router.add_api_route(
        "/forgot-password", forgot_password_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route(
        "/forgot-password", forgot_password_submit, methods=["POST"], response_class=HTMLResponse
    )
    router.add_api_route(
        "/reset-password", reset_password_page, methods=["GET"], response_class=HTMLResponse
    )
    router.add_api_route(
        "/reset-password", reset_password_submit, methods=["POST"], response_class=HTMLResponse
    )
