"""Public pages: the platform's landing page and each store's storefront home."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from storeplex.deps import SessionDep
from storeplex.models import Product, Store, StoreStatus
from storeplex.tenancy import scoped, store_by_slug
from storeplex.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def landing(request: Request, session: SessionDep) -> HTMLResponse:
    stores = (
        (
            await session.execute(
                select(Store).where(Store.status == StoreStatus.ACTIVE).order_by(Store.name)
            )
        )
        .scalars()
        .all()
    )
    return templates.TemplateResponse(request, "landing.html", {"stores": stores})


@router.get("/s/{slug}/", response_class=HTMLResponse)
async def storefront_home(request: Request, slug: str, session: SessionDep) -> HTMLResponse:
    store = await store_by_slug(session, slug)
    products = (
        (
            await session.execute(
                scoped(Product, store.id).where(Product.is_active.is_(True)).order_by(Product.name)
            )
        )
        .scalars()
        .all()
    )
    return templates.TemplateResponse(
        request, "storefront/home.html", {"store": store, "products": products}
    )
