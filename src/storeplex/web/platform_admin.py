"""Platform admin pages under /platform: stores (create, suspend with a reason, reactivate,
one page per store with its onboarding, fee, volume, disputes and failed events), fee
revenue per store with a chart, and webhook events (failed ones with their store, payload
and a replay that reports what really happened; the rejected ones with their reason).

Rule: these pages call the same services as the platform API (`stores.service.open_store`,
`stores.suspension.suspend`, `PaymentService.set_platform_fee`, `webhooks.replay.replay`);
a refused change re-renders its form with the service's message (4xx) and writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from starlette.responses import Response

from storeplex.auth import service as auth
from storeplex.auth.deps import client_address
from storeplex.auth.two_factor import PersonKind
from storeplex.deps import SessionDep, get_database
from storeplex.errors import BadRequest, NotFound, StoreplexError
from storeplex.ledger import Totals, store_days
from storeplex.models import (
    AccountStatus,
    Dispute,
    DisputeOutcome,
    EventStatus,
    Store,
    StorePaymentConfig,
    StripeEvent,
)
from storeplex.models.base import utcnow
from storeplex.money import parse_amount, to_major
from storeplex.reports.exports import safe_text
from storeplex.stores import service as stores
from storeplex.stores import suspension
from storeplex.tenancy import scoped
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
    settings_of,
    submit_login,
    submit_logout,
)
from storeplex.web.queries import (
    StoreRevenue,
    bars_of,
    dispute_fee,
    fee_revenue_by_store,
    platform_daily_fees,
)
from storeplex.web.templating import major_units
from storeplex.webhooks.inbox import EVENT_STATUSES, MALFORMED_TYPE
from storeplex.webhooks.replay import Replayed, failed_events, replay, replay_store, stores_of
from storeplex.words import ACCOUNT_STATUS_FOR_OPERATOR, FIELD_NAMES, humanize_fields

router = page_router("/platform")

Admin = Annotated[AdminPage, Depends(admin_page)]
RowId = Annotated[int, Path(ge=1, le=2**62)]

NOTICES = {
    "fee": "Fee saved.",
    "created": "Store created. Its owner has been mailed a link to choose a password.",
    "suspended": "Store suspended. Its staff see the reason; its storefront takes no orders.",
    "activated": "Store reactivated.",
}


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
            status_text=ACCOUNT_STATUS_FOR_OPERATOR,
            error=error,
            error_store=error_store,
            to_major=to_major,
        ),
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
async def stores_page(request: Request, admin: Admin, session: SessionDep) -> HTMLResponse:
    return await _stores_page(request, admin, session)


# Creating a store ----------------------------------------------------------------------------

NEW_STORE_FIELDS = ("name", "slug", "owner_email", "business_email", "country", "currency")
FIELD_LIMITS = {
    "name": 200,
    "slug": 63,
    "owner_email": 320,
    "business_email": 320,
    "country": 2,
    "currency": 3,
}


def _new_store_form(
    request: Request,
    admin: AdminPage,
    *,
    values: dict[str, str] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "platform/store_new.html",
        _base(
            admin,
            "stores",
            request,
            values=values or {"country": "LU", "currency": "EUR"},
            error=error,
            error_field=error_field,
        ),
        status_code=status_code,
    )


@router.get("/stores/new", response_class=HTMLResponse)
async def new_store_page(request: Request, admin: Admin) -> HTMLResponse:
    return _new_store_form(request, admin)


@router.post("/stores", response_class=HTMLResponse)
async def create_store(request: Request, admin: Admin, session: SessionDep) -> Response:
    """A store and its owner, who is mailed a link to choose a password (never typed here)."""
    form = await form_data(request)
    values = {name: form.get(name, "") for name in NEW_STORE_FIELDS}
    for name, limit in FIELD_LIMITS.items():
        if len(values[name]) > limit:
            return _new_store_form(
                request,
                admin,
                values={k: v[: FIELD_LIMITS[k]] for k, v in values.items()},
                error=f"The {FIELD_NAMES.get(name, name)} is longer than {limit} characters.",
                error_field=name,
                status_code=400,
            )
    try:
        async with session.begin_nested():
            store, _owner = await stores.open_store(
                session,
                settings_of(request),
                slug=values["slug"].lower(),
                name=values["name"],
                business_email=values["business_email"] or values["owner_email"],
                owner_email=values["owner_email"],
                country=values["country"] or "LU",
                currency=values["currency"] or "EUR",
            )
    except StoreplexError as exc:
        return _new_store_form(
            request,
            admin,
            values=values,
            error=humanize_fields(exc.message),
            error_field=exc.field,
            status_code=exc.status_code,
        )
    return redirect(f"/platform/stores/{store.id}?done=created")


# One store -----------------------------------------------------------------------------------


async def _store_page(
    request: Request,
    admin: AdminPage,
    session: SessionDep,
    store_id: int,
    *,
    error: str | None = None,
    error_form: str | None = None,
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    store = await stores.get_store(session, store_id=store_id)
    config = (
        await session.execute(
            select(StorePaymentConfig).where(StorePaymentConfig.store_id == store.id)
        )
    ).scalar_one_or_none()
    status = (
        config.stripe_account_status
        if config is not None and config.stripe_account_id
        else AccountStatus.NOT_CONFIGURED
    )
    today = utcnow().date()
    days = await store_days(session, store_id=store.id, start=date.min, end=today)
    last_30, month, all_time = Totals(), Totals(), Totals()
    for day, totals in days.items():
        all_time.merge(totals)
        if day >= today - timedelta(days=29):
            last_30.merge(totals)
        if day >= today.replace(day=1):
            month.merge(totals)
    disputes = list(
        (
            await session.execute(
                scoped(Dispute, store.id)
                .where(Dispute.status.in_(DisputeOutcome.OPEN_STATES))
                .order_by(Dispute.evidence_due_by)
            )
        ).scalars()
    )
    failed = await failed_events(session, store_id=store.id)
    return render(
        request,
        "platform/store.html",
        _base(
            admin,
            "stores",
            request,
            store=store,
            config=config,
            account_status=status,
            status_text=ACCOUNT_STATUS_FOR_OPERATOR.get(status, status),
            takes_orders=await stores.takes_orders(session, store_id=store.id),
            volume=[
                ("Today", days.get(today, Totals())),
                ("This month", month),
                ("Last 30 days", last_30),
                ("Since the store opened", all_time),
            ],
            disputes=disputes,
            failed=failed,
            form_error=error,
            error_form=error_form,
            reason=reason,
            to_major=to_major,
            currency=store.currency,
        ),
        status_code=status_code,
    )


@router.get("/stores/{store_id}", response_class=HTMLResponse)
async def store_page(
    request: Request, store_id: RowId, admin: Admin, session: SessionDep
) -> HTMLResponse:
    return await _store_page(request, admin, session, store_id)


@router.post("/stores/{store_id}/suspend", response_class=HTMLResponse)
async def suspend_store(
    request: Request, store_id: RowId, admin: Admin, session: SessionDep
) -> Response:
    """Suspend with a reason (required here: the store's staff read it), and cancel the
    payments a shopper could still make, as the API does."""
    await stores.get_store(session, store_id=store_id)  # 404 before anything else
    form = await form_data(request)
    reason = form.get("reason", "")

    async def suspend() -> object:
        stores.check_suspend_reason(reason, required=True)
        return await suspension.suspend(
            payment_service(request, session), store_id=store_id, reason=reason
        )

    done, error = await attempt(session, suspend())
    if done is None:
        return await _store_page(
            request, admin, session, store_id, error=error, error_form="suspend",
            reason=reason[: stores.SUSPEND_REASON_MAX], status_code=400,
        )  # fmt: skip
    return redirect(f"/platform/stores/{store_id}?done=suspended")


@router.post("/stores/{store_id}/activate", response_class=HTMLResponse)
async def activate_store(
    request: Request, store_id: RowId, admin: Admin, session: SessionDep
) -> Response:
    await stores.activate_store(session, store_id=store_id)
    return redirect(f"/platform/stores/{store_id}?done=activated")


@router.post("/stores/{store_id}/fee", response_class=HTMLResponse)
async def set_fee(request: Request, store_id: RowId, admin: Admin, session: SessionDep) -> Response:
    store = await stores.get_store(session, store_id=store_id)
    form = await form_data(request)
    service = payment_service(request, session)
    from_store_page = form.get("back") == "store"

    async def save() -> StorePaymentConfig:
        fixed = parse_amount(
            form.get("fixed_fee") or "0", store.currency, field="platform_fixed_fee"
        )
        return await service.set_platform_fee(
            store.id, percentage=form.get("percentage", ""), fixed_fee_amount=fixed
        )

    saved, error = await attempt(session, save())
    if saved is None:
        message = humanize_fields(error or "")
        if from_store_page:
            return await _store_page(
                request, admin, session, store.id, error=message, error_form="fee",
                status_code=400,
            )  # fmt: skip
        return await _stores_page(
            request,
            admin,
            session,
            error=f"{store.name}: {message}",
            error_store=store.id,
            status_code=400,
        )
    if from_store_page:
        return redirect(f"/platform/stores/{store.id}?done=fee")
    return redirect(f"/platform?done=fee#store-{store.id}")


# Fee revenue ---------------------------------------------------------------------------------


REVENUE_DAYS = 30  # the range shown when none is asked for
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True, slots=True)
class RevenueQuery:
    start: date
    end: date
    currency: str
    rows: list[StoreRevenue]
    currencies: list[str]
    error: str | None = None


def _day(text: str | None, what: str) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"The {what} date must look like 2026-12-31, not {text[:10]!r}") from None
    if not EARLIEST <= day <= utcnow().date() + timedelta(days=366):
        raise BadRequest(f"The {what} date is out of range") from None
    return day


async def _revenue(
    session: SessionDep, date_from: str | None, date_to: str | None, currency: str | None
) -> RevenueQuery:
    """The fee revenue over the asked range; a bad or reversed range is an error message
    with the default range's figures (nothing else happens)."""
    today = utcnow().date()
    start, end = today - timedelta(days=REVENUE_DAYS - 1), today
    error = None
    try:
        start = _day(date_from, "start") or start
        end = _day(date_to, "end") or end
        if start > end:
            raise BadRequest(
                f"The start date ({start.isoformat()}) is after the end date "
                f"({end.isoformat()}); choose a start on or before the end."
            )
    except BadRequest as exc:
        error = exc.message
        start, end = today - timedelta(days=REVENUE_DAYS - 1), today
    rows = await fee_revenue_by_store(session, start=start, end=end)
    currencies = sorted({r.currency for r in rows}) or ["EUR"]
    chosen = currency.upper() if currency and currency.upper() in currencies else currencies[0]
    return RevenueQuery(start, end, chosen, [r for r in rows if r.currency == chosen],
                        currencies, error)  # fmt: skip


def _revenue_totals(rows: list[StoreRevenue]) -> dict[str, int]:
    names = ("payments", "gross", "fees_charged", "fee_refunds", "fees", "disputes")
    totals = {name: sum(getattr(r, name) for r in rows) for name in names}
    totals["dispute_fees"] = sum(r.dispute_fees for r in rows)
    totals["net"] = sum(r.net for r in rows)
    return totals


@router.get("/revenue", response_class=HTMLResponse)
async def revenue_page(
    request: Request,
    admin: Admin,
    session: SessionDep,
    currency: Annotated[str | None, Query(max_length=3)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> HTMLResponse:
    q = await _revenue(session, date_from, date_to, currency)
    days = (q.end - q.start).days + 1
    points = await platform_daily_fees(session, currency=q.currency, days=REVENUE_DAYS)
    request.state.csp = "style-attrs"  # the bars' widths are style attributes
    return render(
        request,
        "platform/revenue.html",
        _base(
            admin,
            "revenue",
            request,
            rows=q.rows,
            totals=_revenue_totals(q.rows),
            currencies=q.currencies,
            currency=q.currency,
            start=q.start,
            end=q.end,
            days=days,
            typed_from=(date_from or "")[:10] if q.error else q.start.isoformat(),
            typed_to=(date_to or "")[:10] if q.error else q.end.isoformat(),
            range_error=q.error,
            dispute_fee=dispute_fee(q.currency),
            points=points,
            chart=sales_chart(
                bars_of(points), q.currency, f"All stores, {q.currency}, last 30 days"
            ),
            max_fee=max((r.fees for r in q.rows), default=0),
        ),
        status_code=400 if q.error else 200,
    )


@router.get("/revenue.csv", response_class=HTMLResponse)
async def revenue_csv(
    request: Request,
    admin: Admin,
    session: SessionDep,
    currency: Annotated[str | None, Query(max_length=3)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    """The same figures as the page, amounts in major units with a point (12.50)."""
    q = await _revenue(session, date_from, date_to, currency)
    if q.error:
        return await revenue_page(request, admin, session, currency, date_from, date_to)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([
        "store", "slug", "currency", "from", "to", "payments", "sales", "platform_fees",
        "fees_refunded", "platform_fees_net", "disputes_opened", "dispute_fees", "net_revenue",
    ])  # fmt: skip

    def money(amount: int) -> str:
        return major_units(amount, q.currency)

    def line(name: str, slug: str, r: dict[str, int]) -> list[object]:
        return [
            safe_text(name), safe_text(slug), q.currency, q.start.isoformat(), q.end.isoformat(),
            r["payments"], money(r["gross"]), money(r["fees_charged"]), money(r["fee_refunds"]),
            money(r["fees"]), r["disputes"], money(r["dispute_fees"]), money(r["net"]),
        ]  # fmt: skip

    for r in q.rows:
        writer.writerow(line(r.store.name, r.store.slug, _revenue_totals([r])))
    writer.writerow(line("Total", "", _revenue_totals(q.rows)))
    name = f"fee-revenue-{q.currency}-{q.start.isoformat()}-{q.end.isoformat()}.csv"
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# Webhook events ------------------------------------------------------------------------------

MAX_REPORTED = 50  # events named in one replay's result (the URL carries their ids)
STORE_SCAN = 1000  # newest events of a status looked at when one store's are asked for


def _replayed_ids(value: str | None) -> list[int]:
    ids = []
    for part in (value or "").split(",")[:MAX_REPORTED]:
        if part.isdigit() and len(part) < 19:
            ids.append(int(part))
    return ids


@router.get("/webhooks", response_class=HTMLResponse)
async def webhooks_page(
    request: Request,
    admin: Admin,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=20)] = None,
    store: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    replayed: Annotated[str | None, Query(max_length=1000)] = None,
    waiting: Annotated[str | None, Query(max_length=1000)] = None,
) -> HTMLResponse:
    chosen = status if status in EVENT_STATUSES else "failed"
    if chosen == EventStatus.FAILED and store is not None:
        events = list(reversed(await failed_events(session, store_id=store)))[:100]
    else:
        events = list(
            (
                await session.execute(
                    select(StripeEvent)
                    .where(StripeEvent.status == chosen)
                    .order_by(StripeEvent.id.desc())
                    .limit(100 if store is None else STORE_SCAN)
                )
            ).scalars()
        )
        if store is not None:  # the newest events of that status about this store
            of = await stores_of(session, events)
            events = [e for e in events if of.get(e.id) == store][:100]
    ids = _replayed_ids(replayed)
    report = []
    if ids:
        found = {
            row.id: row
            for row in (
                await session.execute(select(StripeEvent).where(StripeEvent.id.in_(ids)))
            ).scalars()
        }
        report = [found[i] for i in ids if i in found]
    store_ids = await stores_of(session, [*events, *report])
    names = {
        row.id: row
        for row in (
            await session.execute(
                select(Store).where(Store.id.in_({i for i in store_ids.values() if i}))
            )
        ).scalars()
    }
    chosen_store = await session.get(Store, store) if store is not None else None
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
            store_of={e: names.get(s) if s else None for e, s in store_ids.items()},
            chosen_store=chosen_store,
            report=report,
            waiting=set(_replayed_ids(waiting)),
        ),
    )


@router.get("/webhooks/{event_id}", response_class=HTMLResponse)
async def event_page(
    request: Request, event_id: RowId, admin: Admin, session: SessionDep
) -> HTMLResponse:
    """One stored event: what became of it, and its payload as received (pretty, escaped)."""
    row = await session.get(StripeEvent, event_id)
    if row is None:
        raise NotFound(f"No webhook event with id {event_id}")
    try:
        pretty = json.dumps(json.loads(row.payload), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        pretty = row.payload  # a malformed delivery: shown as it came
    store_id = (await stores_of(session, [row])).get(row.id)
    return render(
        request,
        "platform/webhook_event.html",
        _base(
            admin,
            "webhooks",
            request,
            event=row,
            payload=pretty,
            store=await session.get(Store, store_id) if store_id else None,
            malformed=MALFORMED_TYPE,
        ),
    )


def _report_url(results: list[Replayed], *, store: int | None = None) -> str:
    shown = results[:MAX_REPORTED]
    ids = ",".join(str(r.id) for r in shown)
    waiting = ",".join(str(r.id) for r in shown if not r.tried)
    where = f"&store={store}" if store is not None else ""
    return f"/platform/webhooks?status=failed{where}&replayed={ids}&waiting={waiting}"


@router.post("/webhooks/{event_id}/replay")
async def replay_one(
    request: Request, event_id: RowId, admin: Admin, session: SessionDep
) -> Response:
    row = await session.get(StripeEvent, event_id)
    if row is None or row.type == MALFORMED_TYPE:  # a malformed delivery is kept only to read
        raise NotFound(f"No webhook event with id {event_id}")
    results = await replay(session, payment_service(request, session), event_id)
    return redirect(_report_url(results))


@router.post("/stores/{store_id}/replay-failed")
async def replay_store_failed(
    request: Request, store_id: RowId, admin: Admin, session: SessionDep
) -> Response:
    """Replay every failed event about the store, oldest first."""
    await stores.get_store(session, store_id=store_id)
    results = await replay_store(session, payment_service(request, session), store_id)
    return redirect(_report_url(results, store=store_id))
