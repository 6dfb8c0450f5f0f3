"""Store staff manage their products (HTTP only; rules live in service.py).

Rule: the store is the caller's; a product id of another store answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from storeplex.auth.deps import CurrentStaff
from storeplex.catalog import service
from storeplex.catalog.schemas import ProductCreate, ProductList, ProductOut, ProductUpdate
from storeplex.deps import SessionDep
from storeplex.money import parse_amount
from storeplex.stores.service import get_store

router = APIRouter(prefix="/api/v1/store/products", tags=["store-products"])


async def _currency(session: SessionDep, store_id: int) -> str:
    return (await get_store(session, store_id=store_id)).currency


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
async def create_product(
    body: ProductCreate, principal: CurrentStaff, session: SessionDep
) -> ProductOut:
    currency = await _currency(session, principal.store_id)
    product = await service.create_product(
        session,
        store_id=principal.store_id,
        sku=body.sku,
        name=body.name,
        description=body.description,
        price_amount=parse_amount(body.price, currency, field="price"),
        stock=body.stock,
        is_active=body.is_active,
        is_free=body.is_free,
    )
    return ProductOut.of(product, currency)


@router.get("", response_model=ProductList)
async def list_products(
    principal: CurrentStaff,
    session: SessionDep,
    active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ProductList:
    currency = await _currency(session, principal.store_id)
    rows, has_more = await service.list_products(
        session, store_id=principal.store_id, active=active, q=q, limit=limit, offset=offset
    )
    return ProductList(data=[ProductOut.of(p, currency) for p in rows], has_more=has_more)


@router.get("/{product_id}", response_model=ProductOut)
async def get_product(product_id: int, principal: CurrentStaff, session: SessionDep) -> ProductOut:
    product = await service.get_product(session, store_id=principal.store_id, product_id=product_id)
    return ProductOut.of(product, await _currency(session, principal.store_id))


@router.patch("/{product_id}", response_model=ProductOut)
async def update_product(
    product_id: int, body: ProductUpdate, principal: CurrentStaff, session: SessionDep
) -> ProductOut:
    currency = await _currency(session, principal.store_id)
    changes = body.model_dump(exclude_unset=True)
    stock_delta = changes.pop("stock_delta", None)
    if "price" in changes:
        price = changes.pop("price")
        changes["price_amount"] = (
            None if price is None else parse_amount(price, currency, field="price")
        )
    product = await service.update_product(
        session,
        store_id=principal.store_id,
        product_id=product_id,
        changes=changes,
        stock_delta=stock_delta,
    )
    return ProductOut.of(product, currency)


@router.post("/{product_id}/deactivate", response_model=ProductOut)
async def deactivate_product(
    product_id: int, principal: CurrentStaff, session: SessionDep
) -> ProductOut:
    product = await service.deactivate_product(
        session, store_id=principal.store_id, product_id=product_id
    )
    return ProductOut.of(product, await _currency(session, principal.store_id))


@router.post("/{product_id}/activate", response_model=ProductOut)
async def activate_product(
    product_id: int, principal: CurrentStaff, session: SessionDep
) -> ProductOut:
    product = await service.activate_product(
        session, store_id=principal.store_id, product_id=product_id
    )
    return ProductOut.of(product, await _currency(session, principal.store_id))
