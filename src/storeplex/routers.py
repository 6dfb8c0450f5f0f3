"""Every router of the platform, in one list: the map of the HTTP surface."""

from __future__ import annotations

from fastapi import FastAPI

from storeplex import health
from storeplex.auth import endpoints as auth_endpoints
from storeplex.catalog import endpoints as catalog_endpoints
from storeplex.customers import endpoints as customer_endpoints
from storeplex.disputes import endpoints as dispute_endpoints
from storeplex.orders import endpoints as order_endpoints
from storeplex.payments import endpoints as payment_endpoints
from storeplex.payouts import endpoints as payout_endpoints
from storeplex.refunds import endpoints as refund_endpoints
from storeplex.reports import endpoints as report_endpoints
from storeplex.storefront import endpoints as storefront_endpoints
from storeplex.stores import endpoints as store_endpoints
from storeplex.web import pages
from storeplex.webhooks import endpoints as webhook_endpoints


def include_routers(app: FastAPI) -> None:
    app.include_router(health.router)
    app.include_router(auth_endpoints.router)
    app.include_router(auth_endpoints.platform_accounts_router)
    app.include_router(store_endpoints.platform_router)
    app.include_router(store_endpoints.store_router)
    app.include_router(catalog_endpoints.router)
    app.include_router(order_endpoints.router)
    app.include_router(storefront_endpoints.router)
    app.include_router(payment_endpoints.store_router)
    app.include_router(payment_endpoints.dashboard_router)
    app.include_router(payment_endpoints.checkout_router)
    app.include_router(payment_endpoints.admin_router)
    app.include_router(webhook_endpoints.router)
    app.include_router(webhook_endpoints.admin_router)
    app.include_router(refund_endpoints.router)
    app.include_router(dispute_endpoints.router)
    app.include_router(dispute_endpoints.platform_router)
    app.include_router(report_endpoints.store_router)
    app.include_router(report_endpoints.platform_router)
    app.include_router(payout_endpoints.router)
    app.include_router(customer_endpoints.router)
    # Pages last: their paths are the broadest.
    app.include_router(pages.router)
