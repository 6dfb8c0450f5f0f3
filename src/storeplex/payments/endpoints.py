"""Payment endpoints: store setup and config, create-intent, confirmation,
and the platform admin's fee setting.

Who may call what: store staff (session or store token) set up their own store;
create-intent and confirm need the order's access token (header `X-Order-Token`
or `access_token` in the body), which only the shopper who placed the order has.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request

from storeplex.auth.deps import (
    CurrentAdmin,
    CurrentStaff,
    check_csrf,
    read_session,
    require_owner,
)
from storeplex.errors import NotFound
from storeplex.models import Order, Payment, StorePaymentConfig
from storeplex.money import parse_amount
from storeplex.orders import service as orders
from storeplex.payments import queries
from storeplex.payments.deps import PaymentServiceDep
from storeplex.payments.schemas import (
    ConfirmRequest,
    CreateIntentRequest,
    FeeRequest,
    PaymentConfigResponse,
    PaymentStatusResponse,
    SetupRequest,
    SetupResponse,
)
from storeplex.payments.service import PaymentNotConfigured

store_router = APIRouter(prefix="/api/v1/store/payments", tags=["store-payments"])
dashboard_router = APIRouter(prefix="/api/v1/store/dashboard", tags=["store"])
checkout_router = APIRouter(prefix="/api/v1/platform/stores", tags=["checkout-payments"])
admin_router = APIRouter(prefix="/api/v1/platform/stores", tags=["platform"])

OrderToken = Annotated[str | None, Header(alias="X-Order-Token", max_length=200)]


def config_response(config: StorePaymentConfig) -> PaymentConfigResponse:
    return PaymentConfigResponse(
        stripe_account_id=config.stripe_account_id,
        account_status=config.stripe_account_status
        if config.stripe_account_id
        else "not_configured",
        accepts_payments=config.accepts_payments,
        currency=config.currency,
        platform_fee_percentage=float(config.platform_fee_percentage),
        platform_fee_percentage_exact=f"{config.platform_fee_percentage:.2f}",
        platform_fixed_fee_minor=config.platform_fixed_fee_amount,
        needs_onboarding=config.stripe_account_status != "active",
        needs_setup=config.stripe_account_id is None,
        charges_enabled=config.charges_enabled,
        payouts_enabled=config.payouts_enabled,
        details_submitted=config.details_submitted,
        requirements_due=json.loads(config.requirements_due or "[]"),
        disabled_reason=config.disabled_reason,
        payout_schedule=config.payout_schedule,
        minimum_payout_minor=config.minimum_payout_amount,
    )


NOT_CONFIGURED = PaymentConfigResponse(
    stripe_account_id=None,
    account_status="not_configured",
    accepts_payments=False,
    needs_setup=True,
)


@store_router.get("/config", response_model=PaymentConfigResponse)
async def get_payment_config(
    staff: CurrentStaff, service: PaymentServiceDep
) -> PaymentConfigResponse:
    """The store's payment configuration; the "not configured" shape only when there is none."""
    try:
        config = await service.get_store_payment_config(staff.store_id)
    except PaymentNotConfigured:
        return NOT_CONFIGURED
    return config_response(config)


@store_router.get("")
async def list_store_payments(
    staff: CurrentStaff,
    service: PaymentServiceDep,
    status: Annotated[str | None, Query(max_length=30)] = None,
    created_from: Annotated[date | None, Query(alias="from")] = None,
    created_to: Annotated[date | None, Query(alias="to", description="exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """The store's payments, newest first, paged with `next_cursor`."""
    page, next_cursor = await queries.list_payments(
        service.db,
        store_id=staff.store_id,
        status=status,
        created_from=_day(created_from),
        created_to=_day(created_to),
        limit=limit,
        cursor=cursor,
    )
    return {
        "data": [queries.payment_out(p) for p in page],
        "has_more": next_cursor is not None,
        "next_cursor": next_cursor,
    }


@store_router.get("/{payment_id}")
async def get_store_payment(
    payment_id: int, staff: CurrentStaff, service: PaymentServiceDep
) -> dict[str, Any]:
    """One payment of the store."""
    payment = await queries.get_payment(service.db, store_id=staff.store_id, payment_id=payment_id)
    return queries.payment_out(payment)


def _day(value: date | None) -> datetime | None:
    return datetime.combine(value, time.min, tzinfo=UTC) if value else None


@dashboard_router.get("")
async def store_dashboard(staff: CurrentStaff, service: PaymentServiceDep) -> dict[str, Any]:
    """Today's and this month's sales, the last 30 days' figures, orders waiting to ship."""
    return asdict(await queries.dashboard(service.db, store_id=staff.store_id))


@store_router.post("/setup", response_model=SetupResponse)
async def setup_payments(
    body: SetupRequest, staff: CurrentStaff, service: PaymentServiceDep
) -> SetupResponse:
    """Create the store's Stripe Express account (once) and a fresh onboarding link (owner)."""
    require_owner(staff)
    data = body.model_dump(exclude_none=True)
    account_id = await service.create_store_stripe_account(staff.store_id, data)
    url = await service.create_onboarding_link(staff.store_id)
    return SetupResponse(
        stripe_account_id=account_id,
        onboarding_url=url,
        message="Payment setup initiated. Complete onboarding to accept payments.",
    )


@store_router.post("/refresh", response_model=PaymentConfigResponse)
async def refresh_account(staff: CurrentStaff, service: PaymentServiceDep) -> PaymentConfigResponse:
    """Re-read the account from Stripe now (instead of waiting for `account.updated`)."""
    return config_response(await service.refresh_store_account(staff.store_id))


@store_router.post("/dashboard-link")
async def dashboard_link(staff: CurrentStaff, service: PaymentServiceDep) -> dict[str, str]:
    """A single-use link to the store's Stripe Express dashboard (owner only)."""
    require_owner(staff)
    return {"url": await service.create_dashboard_link(staff.store_id)}


async def _shopper_order(
    service: PaymentServiceDep, store_id: int, order_id: int, token: str | None
) -> Order:
    return await orders.order_for_shopper(
        service.db,
        store_id=store_id,
        order_id=order_id,
        token=token,
        key_secret=service.settings.session_secret(),
    )


@checkout_router.post("/{store_id}/payments/create-intent")
async def create_payment_intent(
    store_id: int,
    body: CreateIntentRequest,
    request: Request,
    service: PaymentServiceDep,
    order_token: OrderToken = None,
) -> dict[str, object]:
    """The order's PaymentIntent: amount from the order, fee from the store's configuration."""
    shopper = await read_session(request, service.db, "customer")
    shopper_id = None
    if shopper is not None and shopper.store_id == store_id:
        await check_csrf(request, shopper)
        shopper_id = shopper.user_id
    return await service.create_payment_intent(
        store_id=store_id,
        order_id=body.order_id,
        access_token=order_token or body.access_token,
        shopper_customer_id=shopper_id,
        save_payment_method=body.save_payment_method,
        payment_method_id=body.payment_method_id,
    )


@checkout_router.post("/{store_id}/payments/confirm", response_model=PaymentStatusResponse)
async def confirm_payment(
    store_id: int,
    body: ConfirmRequest,
    service: PaymentServiceDep,
    order_token: OrderToken = None,
) -> PaymentStatusResponse:
    """Re-read the order's payment from Stripe and apply it (the return page calls this)."""
    order = await _shopper_order(service, store_id, body.order_id, order_token or body.access_token)
    if not order.payment_intent_id:
        raise NotFound(f"Order #{order.number} has no payment yet")
    payment = await service.confirm_payment(order.payment_intent_id)
    order = await orders.get_order(service.db, store_id=store_id, order_id=order.id)
    return payment_status_response(order, payment)


def payment_status_response(order: Order, payment: Payment | None) -> PaymentStatusResponse:
    return PaymentStatusResponse(
        order_id=order.id,
        order_number=order.number,
        order_status=order.status,
        payment_status=order.payment_status,
        payment_intent_id=order.payment_intent_id,
        status=payment.status if payment else "none",
        failure_reason=payment.failure_reason if payment else None,
        amount_total_minor=order.total_amount_cents,
        currency=order.currency,
        paid_at=order.paid_at.isoformat() if order.paid_at else None,
    )


@admin_router.get("/{store_id}/payments/config", response_model=PaymentConfigResponse)
async def admin_payment_config(
    store_id: int, admin: CurrentAdmin, service: PaymentServiceDep
) -> PaymentConfigResponse:
    """A store's payment configuration, as the platform sees it."""
    try:
        return config_response(await service.get_store_payment_config(store_id))
    except PaymentNotConfigured:
        await service.store_or_404(store_id)  # 404 for an unknown store
        return NOT_CONFIGURED


@admin_router.put("/{store_id}/payments/fee", response_model=PaymentConfigResponse)
async def set_platform_fee(
    store_id: int, body: FeeRequest, admin: CurrentAdmin, service: PaymentServiceDep
) -> PaymentConfigResponse:
    """Set the store's platform commission: a percentage (0-100, two decimals) and a fixed fee."""
    store = await service.store_or_404(store_id)
    fixed = parse_amount(body.platform_fixed_fee, store.currency, field="platform_fixed_fee")
    config = await service.set_platform_fee(
        store_id, percentage=body.platform_fee_percentage, fixed_fee_amount=fixed
    )
    return config_response(config)
