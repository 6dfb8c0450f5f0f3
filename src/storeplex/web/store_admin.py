"""Store admin pages under /admin: login, dashboard, payments (Connect onboarding round trip,
payments list and detail), orders and products.

Rule: the store is always the one in the staff session, never one from the URL;
every form carries the session's CSRF token (checked by `staff_page`), and the
onboarding refresh/return URLs are exactly the ones PaymentService puts in
AccountLinks.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import ColumnElement, select
from starlette.datastructures import UploadFile
from starlette.responses import Response

from storeplex.auth import service as auth
from storeplex.auth.deps import client_address
from storeplex.auth.two_factor import PersonKind
from storeplex.catalog import images
from storeplex.catalog import service as catalog
from storeplex.deps import SessionDep, get_database
from storeplex.disputes import service as disputes
from storeplex.errors import BadRequest, StoreplexError
from storeplex.models import (
    AccountStatus,
    Dispute,
    Order,
    OrderPaymentStatus,
    OrderStatus,
    Payment,
    PaymentState,
    Product,
    RefundState,
    StaffRole,
    Store,
    StorePaymentConfig,
    utcnow,
)
from storeplex.money import format_amount, to_major
from storeplex.money_format import format_money, parse_money
from storeplex.orders import service as orders
from storeplex.payments.cancel import cancel_order
from storeplex.payments.service import PaymentNotConfigured
from storeplex.payouts import service as payouts
from storeplex.refunds import flow as refund_flow
from storeplex.refunds import service as refunds
from storeplex.reports import exports
from storeplex.reports import service as reports
from storeplex.stripe.gateway import StripeCallError
from storeplex.tenancy import get_scoped
from storeplex.web import store_disputes
from storeplex.web.accounts import add_account_pages
from storeplex.web.charts import sales_chart
from storeplex.web.common import (
    StaffPage,
    add_password_reset_pages,
    attempt,
    form_data,
    page_router,
    payment_service,
    redirect,
    render,
    render_login_form,
    require_owner_page,
    safe_next,
    settings_of,
    staff_page,
    submit_login,
    submit_logout,
)
from storeplex.web.queries import bars_of, daily_sales, dashboard_figures, list_payments
from storeplex.web.staff import add_staff_pages
from storeplex.web.templating import major_units

router = page_router("/admin")

Staff = Annotated[StaffPage, Depends(staff_page)]
RowId = Annotated[int, Path(ge=1, le=2**62)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
PAGE = 25

NOTICES = {
    "fee": "Saved.",
    "refreshed": "Account status re-read from Stripe.",
    "status": "Order updated.",
    "canceled": "Order canceled; its stock is back on sale.",
    "created": "Product created.",
    "saved": "Product saved.",
    "deactivated": "Product hidden from the storefront.",
    "activated": "Product is on sale again.",
    "refunded": "Refund sent to Stripe.",
    "payouts": "Payout settings saved and applied to your Stripe account.",
    "image": "Image saved; it shows on the storefront and in the cart.",
}

STATUS_TEXT = {
    AccountStatus.ACTIVE: "Active — you can take card payments",
    AccountStatus.RESTRICTED: "Restricted — Stripe needs more information",
    AccountStatus.PENDING: "Pending — onboarding not finished",
    AccountStatus.REJECTED: "Rejected by Stripe",
    AccountStatus.INACTIVE: "Disconnected from the platform",
    AccountStatus.NOT_CONFIGURED: "Not set up",
}


def _base(staff: StaffPage, section: str, request: Request, **extra: Any) -> dict[str, Any]:
    done = request.query_params.get("done")
    return {
        "staff": staff,
        "store": staff.store,
        "csrf": staff.csrf,
        "section": section,
        "notice": NOTICES.get(done or ""),
        **extra,
    }


# Login -----------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=500)] = None
) -> HTMLResponse:
    return render_login_form(
        request, "admin/login.html", {"next": safe_next(next, "/admin", "/admin"), "email": ""}
    )


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, session: SessionDep) -> Response:
    async def staff(email: str, password: str) -> tuple[PersonKind, int, int | None]:
        user, store = await auth.authenticate_staff(
            session,
            get_database(request),
            email=email,
            password=password,
            address=client_address(request),
        )
        return "staff", user.id, store.id

    return await submit_login(
        request, session, template="admin/login.html", home="/admin", authenticate=staff
    )


add_password_reset_pages(router, area="admin", kind="staff")
add_account_pages(router, area="admin", kind="staff")
add_staff_pages(router)


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    return await submit_logout(request, session, kind="staff", login_path="/admin/login")


# Dashboard -------------------------------------------------------------------------------


async def _config(session: SessionDep, store_id: int) -> StorePaymentConfig | None:
    return (
        await session.execute(
            select(StorePaymentConfig).where(StorePaymentConfig.store_id == store_id)
        )
    ).scalar_one_or_none()


@router.get("", response_class=HTMLResponse)
async def dashboard(request: Request, staff: Staff, session: SessionDep) -> HTMLResponse:
    store = staff.store
    figures = await dashboard_figures(session, store_id=store.id)
    points = await daily_sales(session, store_id=store.id, days=30)
    config = await _config(session, store.id)
    return render(
        request,
        "admin/dashboard.html",
        _base(
            staff,
            "dashboard",
            request,
            figures=figures,
            points=points,
            chart=sales_chart(bars_of(points), store.currency, "Sales in the last 30 days"),
            config=config,
            status_text=STATUS_TEXT,
            disputes_due=await store_disputes.due_disputes(session, store.id),
        ),
    )


# Payments: setup and the onboarding round trip ----------------------------------------------


def _account_context(config: StorePaymentConfig | None) -> dict[str, Any]:
    status = (
        config.stripe_account_status
        if config is not None and config.stripe_account_id
        else AccountStatus.NOT_CONFIGURED
    )
    due = json.loads(config.requirements_due or "[]") if config is not None else []
    return {
        "config": config,
        "account_status": status,
        "status_text": STATUS_TEXT.get(status, status),
        "requirements_due": [d.replace("_", " ").replace(".", " › ") for d in due],
    }


async def _settings_page(
    request: Request, staff: StaffPage, session: SessionDep, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    """The payment settings page (again, with a refusal, when a form on it was refused)."""
    config = await _config(session, staff.store.id)
    return render(
        request,
        "admin/payment_settings.html",
        _base(staff, "settings", request, **_account_context(config), **extra),
        status_code=status_code,
    )


@router.get("/payments/settings", response_class=HTMLResponse)
async def payment_settings(request: Request, staff: Staff, session: SessionDep) -> HTMLResponse:
    return await _settings_page(request, staff, session)


def _as_typed(text: str, store: Store, field: str) -> str:
    """An amount typed in the store's locale ("10,50" in fr_LU) as the services read it
    ("10.50"); text that is not an amount is passed on for the service to refuse."""
    if not text or not store.locale:
        return text
    try:
        return major_units(
            parse_money(text, store.currency, store.locale, field=field), store.currency
        )
    except BadRequest:
        return text


@router.post("/payments/payout-settings", response_class=HTMLResponse)
async def payout_settings_submit(request: Request, staff: Staff, session: SessionDep) -> Response:
    """The payout schedule and minimum, saved and applied to the Stripe account."""
    require_owner_page(staff)
    form = await form_data(request)
    schedule = form.get("payout_schedule", "")
    minimum = form.get("minimum_payout", "").strip() or "0"
    _, error = await attempt(
        session,
        payouts.update_payout_settings(
            session,
            request.app.state.stripe,
            store_id=staff.store.id,
            schedule=schedule,
            minimum_payout=_as_typed(minimum, staff.store, "minimum_payout"),
        ),
    )
    if error is None:
        return redirect("/admin/payments/settings?done=payouts")
    return await _settings_page(
        request,
        staff,
        session,
        400,
        payout_error=error,
        form={"payout_schedule": schedule, "minimum_payout": form.get("minimum_payout", "")},
    )


@router.post("/payments/setup", response_class=HTMLResponse)
async def payment_setup(request: Request, staff: Staff, session: SessionDep) -> Response:
    require_owner_page(staff)
    form = await form_data(request)
    business_type = form.get("business_type", "company")
    service = payment_service(request, session)
    error = None
    if business_type not in ("individual", "company"):
        error = "Choose whether you sell as an individual or a company."
    else:

        async def setup() -> str:
            await service.create_store_stripe_account(
                staff.store.id, {"business_type": business_type}
            )
            return await service.create_onboarding_link(staff.store.id)

        url, error = await attempt(session, setup())
        if url:
            return redirect(url)
    return await _settings_page(request, staff, session, 400, error=error)


@router.post("/payments/refresh-status")
async def payment_refresh_status(request: Request, staff: Staff, session: SessionDep) -> Response:
    await payment_service(request, session).refresh_store_account(staff.store.id)
    return redirect("/admin/payments/settings?done=refreshed")


@router.get("/payments/onboarding/refresh")
async def onboarding_refresh(request: Request, staff: Staff, session: SessionDep) -> Response:
    """Stripe sends the owner here when a link expired or was used: make a fresh one."""
    require_owner_page(staff)
    try:
        url = await payment_service(request, session).create_onboarding_link(staff.store.id)
    except PaymentNotConfigured:
        return redirect("/admin/payments/settings")
    return redirect(url)


@router.get("/payments/onboarding/return", response_class=HTMLResponse)
async def onboarding_return(request: Request, staff: Staff, session: SessionDep) -> Response:
    """Back from Stripe's onboarding: re-read the account and show its real status."""
    try:
        config = await payment_service(request, session).refresh_store_account(staff.store.id)
    except PaymentNotConfigured:
        return redirect("/admin/payments/settings")
    return render(
        request,
        "admin/onboarding_return.html",
        _base(staff, "settings", request, **_account_context(config)),
    )


# Payments: list and detail ----------------------------------------------------------------


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{value!r} is not a date; use the date picker (YYYY-MM-DD)") from None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def _csv_response(chunks: AsyncIterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        (chunk.encode() async for chunk in chunks),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/payments/export.csv")
async def payments_export(
    request: Request,
    staff: Staff,
    status: Annotated[str | None, Query(max_length=30)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    """Every payment matching the page's filters, streamed (see reports/exports.py)."""
    conditions: list[ColumnElement[bool]] = []
    if status in PaymentState.ALL:
        conditions.append(Payment.status == status)
    start, end = _date(date_from), _date(date_to)
    if start:
        conditions.append(Payment.created_at >= _day_start(start))
    if end:
        conditions.append(Payment.created_at < _day_start(end + timedelta(days=1)))
    chunks = exports.payments_csv(
        get_database(request), store_id=staff.store.id, conditions=conditions
    )
    return _csv_response(chunks, f"payments-{staff.store.slug}-{utcnow().date()}.csv")


@router.get("/payments", response_class=HTMLResponse)
async def payments_list(
    request: Request,
    staff: Staff,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=30)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    status = status if status in PaymentState.ALL else None
    start, end = _date(date_from), _date(date_to)
    rows, has_more = await list_payments(
        session,
        store_id=staff.store.id,
        status=status,
        date_from=start,
        date_to=end,
        limit=PAGE,
        offset=offset,
    )
    return render(
        request,
        "admin/payments.html",
        _base(
            staff,
            "payments",
            request,
            rows=rows,
            has_more=has_more,
            offset=offset,
            page=PAGE,
            statuses=PaymentState.ALL,
            filters={"status": status or "", "from": date_from or "", "to": date_to or ""},
        ),
    )


REFUND_BLOCKED = {
    "open": "This payment cannot be refunded while its dispute is open: the shopper's bank "
    "holds the money. Answer the dispute; if you win it, you can refund afterwards.",
    "lost": "This payment cannot be refunded: its dispute was lost, so the shopper's bank has "
    "already given the money back to the shopper.",
}


async def _payment_page(
    request: Request,
    staff: StaffPage,
    session: SessionDep,
    payment_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
    typed: dict[str, str] | None = None,
) -> HTMLResponse:
    payment = await get_scoped(session, Payment, staff.store.id, payment_id, what="payment")
    # Re-read: a refused refund changed the row with statements the identity map missed.
    await session.refresh(payment)
    order = await orders.get_order(session, store_id=staff.store.id, order_id=payment.order_id)
    rows, _ = await refunds.list_refunds(
        session, store_id=staff.store.id, order_id=order.id, limit=100
    )
    blocking = await refunds.dispute_blocking_refund(session, payment=payment)
    chargebacks: list[Dispute] = []
    if payment.disputed:
        chargebacks, _ = await disputes.list_disputes(
            session, store_id=staff.store.id, order_id=order.id, limit=100
        )
    left = payment.amount_total - payment.amount_refunded
    done = [r for r in rows if r.status == RefundState.SUCCEEDED]
    share_now = refund_flow.store_share_now(payment, rows)
    return render(
        request,
        "admin/payment.html",
        _base(
            staff,
            "payments",
            request,
            payment=payment,
            order=order,
            refunds=rows,
            disputes=chargebacks,
            refundable=left,
            refunded_amount=sum(r.amount for r in done),
            refund_in_progress=sum(r.amount for r in rows if r.status == RefundState.PENDING),
            share_taken_back=payment.amount_store - share_now,
            share_now=share_now,
            refund_blocked=REFUND_BLOCKED.get(blocking or ""),
            typed=typed or {},
            error=error,
        ),
        status_code=status_code,
    )


@router.get("/payments/{payment_id}", response_class=HTMLResponse)
async def payment_detail(
    request: Request, payment_id: RowId, staff: Staff, session: SessionDep
) -> HTMLResponse:
    return await _payment_page(request, staff, session, payment_id)


REFUND_FIELDS = ("amount", "reason", "note", "restock")


@router.post("/payments/{payment_id}/refund", response_class=HTMLResponse)
async def payment_refund(
    request: Request, payment_id: RowId, staff: Staff, session: SessionDep
) -> Response:
    """Refund part or all of the payment in two steps: the amount typed is confirmed on a
    page that says what the shopper gets back and what the store's share loses; then the
    same sequence as the API (`refunds.flow.refund_order`)."""
    payment = await get_scoped(session, Payment, staff.store.id, payment_id, what="payment")
    form = await form_data(request)
    typed = {k: form.get(k, "") for k in REFUND_FIELDS}
    store = staff.store
    blocking = await refunds.dispute_blocking_refund(session, payment=payment)
    if blocking is not None:  # said before any amount is asked for or confirmed
        return await _payment_page(
            request, staff, session, payment_id, error=REFUND_BLOCKED[blocking], status_code=409
        )
    try:
        minor = form.get("amount_minor", "")
        if form.get("confirmed") == "1" and minor.isdigit() and len(minor) <= 15:
            amount = int(minor)  # the amount confirmed, as the confirmation step wrote it
        elif not typed["amount"]:
            raise BadRequest("Type the amount to refund", field="amount")
        else:
            amount = parse_money(typed["amount"], payment.currency, store.locale, field="amount")
        left = payment.amount_total - payment.amount_refunded
        if amount <= 0:
            raise BadRequest("The amount to refund must be more than 0", field="amount")
        if amount > left:
            raise BadRequest(
                f"You can refund at most {format_money(left, payment.currency, store.locale)}",
                field="amount",
            )
    except BadRequest as exc:
        return await _payment_page(
            request, staff, session, payment_id, error=exc.message, status_code=400, typed=typed
        )
    if form.get("confirmed") != "1":
        order = await orders.get_order(session, store_id=store.id, order_id=payment.order_id)
        config = await _config(session, store.id)
        earlier, _ = await refunds.list_refunds(
            session, store_id=store.id, order_id=order.id, limit=100
        )
        return render(
            request,
            "admin/refund_confirm.html",
            _base(
                staff,
                "payments",
                request,
                payment=payment,
                order=order,
                amount=amount,
                share_taken=refund_flow.store_share_taken(amount, payment, config, earlier=earlier),
                typed=typed,
            ),
        )
    # The confirmation names the refunds it was made after: a second click on "Yes", or a
    # refund made meanwhile elsewhere, changes that figure, and nothing more is sent. The
    # row lock makes a concurrent twin wait here and then see the first one's reservation.
    await session.refresh(payment, with_for_update=True)
    if form.get("refunded_before") != str(payment.amount_refunded):
        return await _payment_page(
            request, staff, session, payment_id, status_code=409,
            error="This payment was refunded meanwhile, so nothing more was sent. Check the "
            "refunds below; refund again only if the shopper is still owed money.",
        )  # fmt: skip
    try:
        await refund_flow.refund_order(
            session,
            request.app.state.stripe,
            store_id=store.id,
            order_id=payment.order_id,
            amount=major_units(amount, payment.currency),
            reason=typed["reason"] or None,
            note=typed["note"] or None,
            restock=typed["restock"] == "1",
            staff_user_id=staff.user.id,
            token_id=None,
        )
    except StripeCallError as exc:
        return await _payment_page(
            request, staff, session, payment_id, error=exc.message, status_code=exc.status_code
        )
    except StoreplexError as exc:  # refused before Stripe: a dispute, a refund meanwhile, ...
        return await _payment_page(
            request, staff, session, payment_id, error=exc.message,
            status_code=exc.status_code, typed=typed,
        )  # fmt: skip
    return redirect(f"/admin/payments/{payment_id}?done=refunded")


# Payouts --------------------------------------------------------------------------------


@router.get("/payouts", response_class=HTMLResponse)
async def payouts_page(
    request: Request, staff: Staff, session: SessionDep, offset: Offset = 0
) -> HTMLResponse:
    """The balance at Stripe, when the next payout comes, and every payout with its outcome."""
    store = staff.store
    config = await _config(session, store.id)
    balance: payouts.StoreBalance | None = None
    balance_error = None
    next_day: date | None = None
    if config is not None and config.stripe_account_id:
        try:
            balance = await payouts.store_balance(
                request.app.state.stripe,
                store_id=store.id,
                account=config.stripe_account_id,
                currency=config.currency,
            )
        except StripeCallError as exc:
            balance_error = f"Stripe could not be asked for your balance just now ({exc.message})."
        now = utcnow()
        manual = config.minimum_payout_amount > 0
        paid = manual and await payouts.paid_in_period(
            session, store_id=store.id, period=payouts.period_of(config.payout_schedule, now)
        )
        next_day = payouts.next_payout_day(
            config.payout_schedule, now.date(), paid_this_period=paid or not manual
        )
    rows, has_more = await payouts.list_payouts(
        session, store_id=store.id, limit=PAGE, offset=offset
    )
    return render(
        request,
        "admin/payouts.html",
        _base(
            staff,
            "payouts",
            request,
            config=config,
            balance=balance,
            balance_error=balance_error,
            next_day=next_day,
            rows=rows,
            has_more=has_more,
            offset=offset,
            page=PAGE,
            status_text=payouts.STATUS_TEXT,
            failure_text=payouts.failure_text,
            is_owner=staff.user.role == StaffRole.OWNER,
        ),
    )


@router.post("/payouts/stripe-dashboard")
async def stripe_dashboard(request: Request, staff: Staff, session: SessionDep) -> Response:
    """Owners only: a fresh single-use link into the store's Stripe Express dashboard."""
    require_owner_page(staff)
    url = await payment_service(request, session).create_dashboard_link(staff.store.id)
    return redirect(url)


# Statements -----------------------------------------------------------------------------


@router.get("/statements", response_class=HTMLResponse)
async def statements_page(
    request: Request,
    staff: Staff,
    session: SessionDep,
    period: Annotated[str, Query(max_length=5)] = "day",
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> HTMLResponse:
    period = period if period in ("day", "month") else "day"
    try:
        start, end = reports.check_range(_date(date_from), _date(date_to), period)
    except BadRequest as exc:  # a reversed or too long range: said in the form
        return render(
            request,
            "admin/statements.html",
            _base(
                staff,
                "statements",
                request,
                range_error=exc.message,
                period=period,
                typed={"from": date_from or "", "to": date_to or ""},
            ),
            status_code=400,
        )
    statement = await reports.store_statement(
        session, store_id=staff.store.id, period=period, start=start, end=end
    )
    bars = [(row.period, row.gross_sales, row.platform_fees) for row in statement.rows]
    return render(
        request,
        "admin/statements.html",
        _base(
            staff,
            "statements",
            request,
            statement=statement,
            totals=statement.totals,
            period=period,
            start=start,
            end=end,
            typed={"from": start.isoformat(), "to": end.isoformat()},
            chart=sales_chart(bars, statement.currency, f"{start} to {end}"),
        ),
    )


# Orders ---------------------------------------------------------------------------------


@router.get("/orders/export.csv")
async def orders_export(
    request: Request,
    staff: Staff,
    status: Annotated[str | None, Query(max_length=30)] = None,
    payment_status: Annotated[str | None, Query(max_length=30)] = None,
    q: Annotated[str | None, Query(max_length=orders.SEARCH_MAX_LENGTH)] = None,
) -> Response:
    """Every order matching the page's filters and search, streamed."""
    conditions: list[ColumnElement[bool]] = []
    if status in OrderStatus.ALL:
        conditions.append(Order.status == status)
    if payment_status in OrderPaymentStatus.ALL:
        conditions.append(Order.payment_status == payment_status)
    search = orders.check_search(q)
    if search:
        conditions.append(orders.search_condition(staff.store.id, search))
    chunks = exports.orders_csv(
        get_database(request), store_id=staff.store.id, conditions=conditions
    )
    return _csv_response(chunks, f"orders-{staff.store.slug}-{utcnow().date()}.csv")


@router.get("/orders", response_class=HTMLResponse)
async def orders_list(
    request: Request,
    staff: Staff,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=30)] = None,
    payment_status: Annotated[str | None, Query(max_length=30)] = None,
    q: Annotated[str | None, Query(max_length=2000)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    status = status if status in OrderStatus.ALL else None
    payment_status = payment_status if payment_status in OrderPaymentStatus.ALL else None
    search_error = None
    try:
        search = orders.check_search(q)
    except BadRequest as exc:
        search, search_error = None, exc.message
    rows: list[Order] = []
    has_more = False
    if search_error is None:
        rows, has_more = await orders.list_orders(
            session,
            store_id=staff.store.id,
            status=status,
            payment_status=payment_status,
            q=search,
            limit=PAGE,
            offset=offset,
        )
    closed = await orders.closed_reasons(session, rows)
    return render(
        request,
        "admin/orders.html",
        _base(
            staff,
            "orders",
            request,
            closed={k: orders.ClosedReason.TEXT[v] for k, v in closed.items()},
            rows=rows,
            has_more=has_more,
            offset=offset,
            page=PAGE,
            statuses=OrderStatus.ALL,
            payment_statuses=OrderPaymentStatus.ALL,
            filters={
                "status": status or "",
                "payment_status": payment_status or "",
                "q": (q or "")[: orders.SEARCH_MAX_LENGTH * 2],
            },
            search_error=search_error,
        ),
        status_code=400 if search_error else 200,
    )


NEXT_STEP = {
    OrderStatus.PROCESSING: (OrderStatus.SHIPPED, "Mark as shipped"),
    OrderStatus.SHIPPED: (OrderStatus.COMPLETED, "Mark as completed"),
}


async def _order_page(
    request: Request,
    staff: StaffPage,
    session: SessionDep,
    order: Order,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    items = await orders.get_order_items(session, order_id=order.id)
    payment = (
        await session.execute(select(Payment).where(Payment.order_id == order.id))
    ).scalar_one_or_none()
    closed = (await orders.closed_reasons(session, [order])).get(order.id)
    return render(
        request,
        "admin/order.html",
        _base(
            staff,
            "orders",
            request,
            order=order,
            items=items,
            payment=payment,
            next_step=None if closed else NEXT_STEP.get(order.status),
            closed=orders.ClosedReason.TEXT[closed] if closed else None,
            can_cancel=order.status == OrderStatus.PENDING
            and order.payment_status in (OrderPaymentStatus.PENDING, OrderPaymentStatus.FAILED),
            error=error,
        ),
        status_code=status_code,
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_detail(
    request: Request, order_id: RowId, staff: Staff, session: SessionDep
) -> HTMLResponse:
    order = await orders.get_order(session, store_id=staff.store.id, order_id=order_id)
    return await _order_page(request, staff, session, order)


@router.post("/orders/{order_id}/status", response_class=HTMLResponse)
async def order_status(
    request: Request, order_id: RowId, staff: Staff, session: SessionDep
) -> Response:
    form = await form_data(request)
    _, error = await attempt(
        session,
        orders.set_fulfilment_status(
            session,
            store_id=staff.store.id,
            order_id=order_id,
            status=form.get("status", ""),
            carrier=form.get("carrier"),
            tracking_number=form.get("tracking_number"),
            tracking_url=form.get("tracking_url"),
        ),
    )
    if error:
        order = await orders.get_order(session, store_id=staff.store.id, order_id=order_id)
        return await _order_page(request, staff, session, order, error=error, status_code=409)
    return redirect(f"/admin/orders/{order_id}?done=status")


@router.post("/orders/{order_id}/cancel", response_class=HTMLResponse)
async def order_cancel(
    request: Request, order_id: RowId, staff: Staff, session: SessionDep
) -> Response:
    result, error = await attempt(
        session,
        cancel_order(payment_service(request, session), store_id=staff.store.id, order_id=order_id),
    )
    if result is not None and result.paid_meanwhile:
        await session.commit()  # keep the payment that arrived
        error = result.paid_message()
    if error:
        order = await orders.get_order(session, store_id=staff.store.id, order_id=order_id)
        return await _order_page(request, staff, session, order, error=error, status_code=409)
    return redirect(f"/admin/orders/{order_id}?done=canceled")


# Products -------------------------------------------------------------------------------


@router.get("/products", response_class=HTMLResponse)
async def products_list(
    request: Request,
    staff: Staff,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    rows, has_more = await catalog.list_products(
        session, store_id=staff.store.id, q=q or None, limit=PAGE, offset=offset
    )
    return render(
        request,
        "admin/products.html",
        _base(
            staff, "products", request, rows=rows, has_more=has_more, offset=offset, page=PAGE, q=q
        ),
    )


def _product_values(product: Product | None, currency: str) -> dict[str, str]:
    if product is None:
        return {"sku": "", "name": "", "description": "", "price": "", "stock": "0", "free": ""}
    return {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price": str(to_major(product.price_amount, currency)),
        "stock": str(product.stock),
        "free": "1" if product.is_free else "",
    }


def _parse_product(
    form: dict[str, str], currency: str, locale: str | None = None
) -> dict[str, Any]:
    free = form.get("free") == "1"
    typed_price = form.get("price", "").strip()
    if free and not typed_price:
        typed_price = "0"  # a free product needs no price typed
    if not typed_price:
        raise BadRequest(
            "Type the price, or mark the product as free if you give it away", field="price"
        )
    price = parse_money(typed_price, currency, locale, field="price")
    try:
        stock = int(form.get("stock", ""))
    except ValueError:
        raise BadRequest("Stock must be a whole number, 0 or more", field="stock") from None
    return {
        "sku": form.get("sku", ""),
        "name": form.get("name", ""),
        "description": form.get("description", ""),
        "price_amount": price,
        "stock": stock,
        "is_free": free,
    }


def _product_form(
    request: Request,
    staff: StaffPage,
    product: Product | None,
    values: dict[str, str],
    *,
    error: str | None = None,
    image_error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin/product_form.html",
        _base(
            staff,
            "products",
            request,
            product=product,
            values=values,
            error=error,
            image_error=image_error,
            max_image_mb=images.MAX_UPLOAD_BYTES // (1024 * 1024),
            example=format_amount(1250, staff.store.currency),
        ),
        status_code=status_code,
    )


@router.get("/products/new", response_class=HTMLResponse)
async def product_new(request: Request, staff: Staff) -> HTMLResponse:
    return _product_form(request, staff, None, _product_values(None, staff.store.currency))


@router.post("/products/new", response_class=HTMLResponse)
async def product_create(request: Request, staff: Staff, session: SessionDep) -> Response:
    form = await form_data(request)

    async def create() -> Product:
        fields = _parse_product(form, staff.store.currency, staff.store.locale)
        return await catalog.create_product(session, store_id=staff.store.id, **fields)

    product, error = await attempt(session, create())
    if product is None:
        return _product_form(request, staff, None, form, error=error, status_code=400)
    return redirect(f"/admin/products/{product.id}?done=created")


@router.get("/products/{product_id}", response_class=HTMLResponse)
async def product_edit(
    request: Request, product_id: RowId, staff: Staff, session: SessionDep
) -> HTMLResponse:
    product = await catalog.get_product(session, store_id=staff.store.id, product_id=product_id)
    return _product_form(request, staff, product, _product_values(product, staff.store.currency))


@router.post("/products/{product_id}", response_class=HTMLResponse)
async def product_save(
    request: Request, product_id: RowId, staff: Staff, session: SessionDep
) -> Response:
    product = await catalog.get_product(session, store_id=staff.store.id, product_id=product_id)
    form = await form_data(request)

    async def save() -> Product:
        changes = _parse_product(form, staff.store.currency, staff.store.locale)
        return await catalog.update_product(
            session, store_id=staff.store.id, product_id=product_id, changes=changes
        )

    saved, error = await attempt(session, save())
    if saved is None:
        product = await catalog.get_product(session, store_id=staff.store.id, product_id=product_id)
        return _product_form(request, staff, product, form, error=error, status_code=400)
    return redirect(f"/admin/products/{product_id}?done=saved")


@router.post("/products/{product_id}/image", response_class=HTMLResponse)
async def product_image_upload(
    request: Request, product_id: RowId, staff: Staff, session: SessionDep
) -> Response:
    """The product's picture: checked, resized to 1200 px and stripped of metadata."""
    product = await catalog.get_product(session, store_id=staff.store.id, product_id=product_id)
    previous = product.image_key
    form = await request.form()  # already read (and its CSRF token checked) by staff_page
    upload = form.get("image")
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read(images.MAX_UPLOAD_BYTES + 1)  # one byte over is enough
    saved, error = await attempt(
        session,
        catalog.set_product_image(
            session,
            store_id=staff.store.id,
            product_id=product_id,
            data=data,
            data_dir=settings_of(request).data_dir,
        ),
    )
    if saved is None:
        values = _product_values(product, staff.store.currency)
        return _product_form(request, staff, product, values, image_error=error, status_code=400)
    await session.commit()  # the new picture is the product's before the old file goes
    if previous and previous != saved.image_key:
        old = images.image_path(settings_of(request).data_dir, staff.store.id, previous)
        if old is not None:
            old.unlink(missing_ok=True)
    return redirect(f"/admin/products/{product_id}?done=image")


@router.post("/products/{product_id}/active")
async def product_active(
    request: Request, product_id: RowId, staff: Staff, session: SessionDep
) -> Response:
    form = await form_data(request)
    active = form.get("active") == "1"
    await catalog.set_product_active(
        session, store_id=staff.store.id, product_id=product_id, active=active
    )
    done = "activated" if active else "deactivated"
    return redirect(f"/admin/products/{product_id}?done={done}")
