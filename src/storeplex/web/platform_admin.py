"""Platform admin pages under /platform: stores with their account status and fee (editable),
fee revenue per store with a chart, and failed webhook events with a replay button (and the
rejected ones, with the reason each was refused).

Rule: these pages call the same services as the platform API
(`PaymentService.set_platform_fee`, `webhooks.inbox.apply_event`); a refused
change re-renders the page with the service's message and writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.responses import Response

from storeplex.auth import service as auth
from storeplex.auth.deps import client_address
from storeplex.auth.two_factor import PersonKind
from storeplex.deps import SessionDep, get_database
from storeplex.errors import NotFound
from storeplex.models import StorePaymentConfig, StripeEvent
from storeplex.money import parse_amount, to_major
from storeplex.stores import service as stores
from storeplex.web.accounts import add_account_pages
from storeplex.web.charts import sales_chart
from storeplex.web.common import (
    AdminPage,
    add_password_reset_pages,
    admin_page,
    attempt,
    form_data,
    page_router,
    payment_service,
    redirect,
    render,
    render_login_form,
    safe_next,
    submit_login,
    submit_logout,
)
from storeplex.web.queries import bars_of, fee_revenue_by_store, platform_daily_fees
from storeplex.web.store_admin import STATUS_TEXT
from storeplex.webhooks.inbox import EVENT_STATUSES, MALFORMED_TYPE, apply_event

router = page_router("/platform")

Admin = Annotated[AdminPage, Depends(admin_page)]
RowId = Annotated[int, Path(ge=1, le=2**62)]

NOTICES = {"fee": "Fee saved.", "replayed": "Event replayed."}


def _base(admin: AdminPage, section: str, request: Request, **extra: Any) -> dict[str, Any]:
    return {
        "admin": admin,
        "csrf": admin.csrf,
        "section": section,
        "notice": NOTICES.get(request.query_params.get("done") or ""),
        **extra,
    }


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return render_login_form(
        request,
        "platform/login.html",
        {"next": safe_next(next, "/platform", "/platform"), "email": ""},
    )


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, session: SessionDep) -> Response:
    async def admin(email: str, password: str) -> tuple[PersonKind, int, int | None]:
        row = await auth.authenticate_admin(
            session,
            get_database(request),
            email=email,
            password=password,
            address=client_address(request),
        )
        return "admin", row.id, None

    return await submit_login(
        request, session, template="platform/login.html", home="/platform", authenticate=admin
    )


add_password_reset_pages(router, area="platform", kind="admin")
add_account_pages(router, area="platform", kind="admin")


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    return await submit_logout(request, session, kind="admin", login_path="/platform/login")


async def _stores_page(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    *,
    error: str | None = None,
    error_store: int | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    rows = await fee_revenue_by_store(session)
    return render(
        request,
        "platform/stores.html",
        _base(
            admin,
            "stores",
            request,
            rows=rows,
            status_text=STATUS_TEXT,
            error=error,
            error_store=error_store,
            to_major=to_major,
        ),
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
async def stores_page(request: Request, admin: Admin, session: SessionDep) -> HTMLResponse:
    return await _stores_page(request, admin, session)


@router.post("/stores/{store_id}/fee", response_class=HTMLResponse)
async def set_fee(request: Request, store_id: RowId, admin: Admin, session: SessionDep) -> Response:
    store = await stores.get_store(session, store_id=store_id)
    form = await form_data(request)
    service = payment_service(request, session)

    async def save() -> StorePaymentConfig:
        fixed = parse_amount(
            form.get("fixed_fee") or "0", store.currency, field="platform_fixed_fee"
        )
        return await service.set_platform_fee(
            store.id, percentage=form.get("percentage", ""), fixed_fee_amount=fixed
        )

    saved, error = await attempt(session, save())
    if saved is None:
        message = f"{store.name}: {error}"
        return await _stores_page(
            request, admin, session, error=message, error_store=store.id, status_code=400
        )
    return redirect(f"/platform?done=fee#store-{store.id}")


@router.get("/revenue", response_class=HTMLResponse)
async def revenue_page(
    request: Request,
    admin: Admin,
    session: SessionDep,
    currency: Annotated[str | None, Query(max_length=3)] = None,
) -> HTMLResponse:
    rows = await fee_revenue_by_store(session)
    currencies = sorted({r.currency for r in rows}) or ["EUR"]
    chosen = currency.upper() if currency and currency.upper() in currencies else currencies[0]
    points = await platform_daily_fees(session, currency=chosen, days=30)
    request.state.csp = "style-attrs"  # the bars' widths are style attributes
    return render(
        request,
        "platform/revenue.html",
        _base(
            admin,
            "revenue",
            request,
            rows=rows,
            currencies=currencies,
            currency=chosen,
            points=points,
            chart=sales_chart(bars_of(points), chosen, f"All stores, {chosen}, last 30 days"),
            max_fee=max((r.fees for r in rows if r.currency == chosen), default=0),
        ),
    )


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(
    request: Request,
    admin: Admin,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    chosen = status if status in EVENT_STATUSES else "failed"
    events = list(
        (
            await session.execute(
                select(StripeEvent)
                .where(StripeEvent.status == chosen)
                .order_by(StripeEvent.id.desc())
                .limit(100)
            )
        ).scalars()
    )
    return render(
        request,
        "platform/webhooks.html",
        _base(
            admin,
            "webhooks",
            request,
            events=events,
            status=chosen,
            statuses=EVENT_STATUSES,
            malformed=MALFORMED_TYPE,
        ),
    )


@router.post("/webhooks/{event_id}/replay")
async def replay(request: Request, event_id: RowId, admin: Admin, session: SessionDep) -> Response:
    row = (
        await session.execute(
            select(StripeEvent).where(StripeEvent.id == event_id).with_for_update()
        )
    ).scalar_one_or_none()
    if row is None or row.type == MALFORMED_TYPE:  # a malformed delivery is kept only to read
        raise NotFound(f"No webhook event with id {event_id}")
    service = payment_service(request, session)
    back = await apply_event(
        session,
        row,
        service,
        expected_livemode=service.stripe.livemode,
        retry_base_seconds=service.settings.webhook_retry_base_seconds,
    )
    return redirect(f"/platform/webhooks?status={back}&done=replayed")
