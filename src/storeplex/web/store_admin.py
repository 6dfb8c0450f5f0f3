"""Store admin pages under /admin: login, dashboard, payments (Connect onboarding round trip,
payments list and detail), orders and products.

Rule: the store is always the one in the staff session, never one from the URL;
every form carries the session's CSRF token (checked by `staff_page`), and the
onboarding refresh/return URLs are exactly the ones PaymentService puts in
AccountLinks.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.responses import Response

from storeplex.auth import service as auth
from storeplex.auth.deps import client_address
from storeplex.auth.sessions import SessionKind
from storeplex.catalog import service as catalog
from storeplex.deps import SessionDep, get_database
from storeplex.disputes import service as disputes
from storeplex.errors import BadRequest, StoreplexError
from storeplex.models import (
    AccountStatus,
    Dispute,
    Order,
    OrderStatus,
    Payment,
    PaymentState,
    PaymentStatus,
    Product,
    RefundState,
    Store,
    StorePaymentConfig,
)
from storeplex.money import format_amount, to_major
from storeplex.money_format import parse_money
from storeplex.orders import service as orders
from storeplex.payments.cancel import cancel_order
from storeplex.payments.service import PaymentNotConfigured
from storeplex.payouts import service as payouts
from storeplex.refunds import service as refunds
from storeplex.reports import service as reports
from storeplex.stripe.gateway import StripeCallError
from storeplex.tenancy import get_scoped
from storeplex.web import store_disputes
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
    staff_page,
    submit_login,
    submit_logout,
)
from storeplex.web.queries import bars_of, daily_sales, dashboard_figures, list_payments
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
    async def staff(email: str, password: str) -> tuple[SessionKind, int, int | None]:
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
            refundable_major=to_major(left, payment.currency),
            refunded_amount=sum(r.amount for r in rows if r.status == RefundState.SUCCEEDED),
            refund_in_progress=sum(r.amount for r in rows if r.status == RefundState.PENDING),
            refund_blocked=REFUND_BLOCKED.get(blocking or ""),
            error=error,
        ),
        status_code=status_code,
    )


@router.get("/payments/{payment_id}", response_class=HTMLResponse)
async def payment_detail(
    request: Request, payment_id: RowId, staff: Staff, session: SessionDep
) -> HTMLResponse:
    return await _payment_page(request, staff, session, payment_id)


@router.post("/payments/{payment_id}/refund", response_class=HTMLResponse)
async def payment_refund(
    request: Request, payment_id: RowId, staff: Staff, session: SessionDep
) -> Response:
    """Refund all or part of the payment through the refunds service (reserve, commit, call)."""
    payment = await get_scoped(session, Payment, staff.store.id, payment_id, what="payment")
    form = await form_data(request)
    try:
        async with session.begin_nested():
            reserved = await refunds.reserve_refund(
                session,
                store_id=staff.store.id,
                order_id=payment.order_id,
                amount=_as_typed(form.get("amount", ""), staff.store, "amount") or None,
                reason=form.get("reason") or None,
                note=form.get("note") or None,
                restock=form.get("restock") == "1",
                staff_user_id=staff.user.id,
                token_id=None,
            )
    except StoreplexError as exc:  # refused before Stripe: a bad amount, a dispute, ...
        return await _payment_page(
            request, staff, session, payment_id, error=exc.message, status_code=exc.status_code
        )
    refund_id = reserved.id
    await session.commit()  # the reservation stands before any money moves (see refunds)
    try:
        await refunds.submit_refund(session, request.app.state.stripe, refund_id=refund_id)
    except StripeCallError as exc:
        await session.commit()  # keep the failed (or still pending) refund on record
        return await _payment_page(
            request, staff, session, payment_id, error=exc.message, status_code=exc.status_code
        )
    return redirect(f"/admin/payments/{payment_id}?done=refunded")


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
    start, end = reports.check_range(_date(date_from), _date(date_to), period)
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
            chart=sales_chart(bars, statement.currency, f"{start} to {end}"),
        ),
    )


# Orders ---------------------------------------------------------------------------------


@router.get("/orders", response_class=HTMLResponse)
async def orders_list(
    request: Request,
    staff: Staff,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=30)] = None,
    payment_status: Annotated[str | None, Query(max_length=30)] = None,
    offset: Offset = 0,
) -> HTMLResponse:
    status = status if status in OrderStatus.ALL else None
    payment_status = payment_status if payment_status in PaymentStatus.ALL else None
    rows, has_more = await orders.list_orders(
        session,
        store_id=staff.store.id,
        status=status,
        payment_status=payment_status,
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
            payment_statuses=PaymentStatus.ALL,
            filters={"status": status or "", "payment_status": payment_status or ""},
        ),
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
            and order.payment_status in (PaymentStatus.PENDING, PaymentStatus.FAILED),
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
        return {"sku": "", "name": "", "description": "", "price": "", "stock": "0"}
    return {
        "sku": product.sku,
        "name": product.name,
        "description": product.description,
        "price": str(to_major(product.price_amount, currency)),
        "stock": str(product.stock),
    }


def _parse_product(
    form: dict[str, str], currency: str, locale: str | None = None
) -> dict[str, Any]:
    price = parse_money(form.get("price", ""), currency, locale, field="price")
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
    }


def _product_form(
    request: Request,
    staff: StaffPage,
    product: Product | None,
    values: dict[str, str],
    *,
    error: str | None = None,
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
