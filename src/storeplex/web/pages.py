"""Every server-rendered page, in one router: the platform landing page, storefronts
(/s/{slug}/...), the store admin (/admin/...) and the platform admin (/platform/...).

routers.py includes `router` last. Pages call the same services as the JSON API
and hold no business rules of their own.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from storeplex.deps import SessionDep
from storeplex.models import Store
from storeplex.stores.service import taking_orders_filter
from storeplex.web import (
    mailbox,
    platform_admin,
    platform_disputes,
    shopper,
    store_admin,
    store_disputes,
    store_settings,
    storefront,
)
from storeplex.web.common import page_router, render

router = page_router()


@router.get("/", response_class=HTMLResponse)
async def landing(request: Request, session: SessionDep) -> HTMLResponse:
    """The stores a shopper can buy from: active, with payments active at Stripe."""
    stores = (
        (
            await session.execute(
                select(Store).where(taking_orders_filter()).order_by(Store.name, Store.id)
            )
        )
        .scalars()
        .all()
    )
    return render(request, "landing.html", {"stores": stores})


router.include_router(shopper.router)
router.include_router(storefront.router)
router.include_router(store_settings.router)
router.include_router(store_disputes.router)
router.include_router(store_admin.router)
router.include_router(platform_disputes.router)
router.include_router(platform_admin.router)
router.include_router(mailbox.router)
