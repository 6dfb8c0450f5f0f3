"""Shoppers: catalog, cart, checkout and order status of one store.

The store comes from the `{slug}` in the path (a suspended or unknown store is
a 404). The cart is found by the `storeplex_cart` cookie; the order status by
the access token returned once at checkout (header `X-Order-Token` or `?token=`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Header, Path, Query, Request, Response

from storeplex.carts import service as carts
from storeplex.carts.schemas import CartItemAdd, CartItemUpdate, CartOut
from storeplex.deps import SessionDep
from storeplex.models import Store
from storeplex.orders import service as orders
from storeplex.orders.checkout import place_order
from storeplex.orders.schemas import CheckoutIn, CheckoutOut, OrderOut, order_fields
from storeplex.storefront import service
from storeplex.storefront.schemas import (
    ProductList,
    ProductOut,
    StorePublicOut,
    product_out,
    store_public_out,
)
from storeplex.stores.service import require_taking_orders, takes_orders
from storeplex.tenancy import require_store_context

router = APIRouter(prefix="/api/v1/storefront/{slug}", tags=["storefront"])

StoreDep = Annotated[Store, require_store_context()]
CartCookie = Annotated[str | None, Cookie(alias=carts.CART_COOKIE)]
ProductId = Annotated[int, Path(ge=1, le=2**62)]


def _remember_cart(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        carts.CART_COOKIE,
        token,
        max_age=carts.CART_COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.base_url.startswith("https://"),
        path="/",
    )


@router.get("", response_model=StorePublicOut)
async def store_info(store: StoreDep, session: SessionDep) -> StorePublicOut:
    """The store's public details, and whether it is taking orders."""
    return store_public_out(store, taking_orders=await takes_orders(session, store_id=store.id))


@router.get("/products", response_model=ProductList)
async def list_products(
    store: StoreDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ProductList:
    rows, has_more = await service.list_products(
        session, store_id=store.id, limit=limit, offset=offset
    )
    return ProductList(data=[product_out(p, store.currency) for p in rows], has_more=has_more)


@router.get("/products/{product_id}", response_model=ProductOut)
async def get_product(store: StoreDep, session: SessionDep, product_id: ProductId) -> ProductOut:
    product = await service.get_product(session, store_id=store.id, product_id=product_id)
    return product_out(product, store.currency)


@router.get("/cart", response_model=CartOut)
async def get_cart(store: StoreDep, session: SessionDep, cart_token: CartCookie = None) -> CartOut:
    """The shopper's cart in this store, priced now; an empty cart if there is none."""
    return await carts.view_cart(session, store=store, token=cart_token)


@router.post("/cart/items", response_model=CartOut)
async def add_cart_item(
    body: CartItemAdd,
    store: StoreDep,
    session: SessionDep,
    request: Request,
    response: Response,
    cart_token: CartCookie = None,
) -> CartOut:
    """Add a product; the quantity adds to any line already in the cart. A store that is not
    taking orders answers 409."""
    await require_taking_orders(session, store=store)
    token = carts.valid_cart_token(cart_token) or carts.new_cart_token()
    cart_id = await carts.add_item(
        session,
        store_id=store.id,
        token=token,
        product_id=body.product_id,
        quantity=body.quantity,
    )
    _remember_cart(request, response, token)
    return await carts.view_cart(session, store=store, token=token, cart_id=cart_id)


@router.patch("/cart/items/{product_id}", response_model=CartOut)
async def update_cart_item(
    product_id: ProductId,
    body: CartItemUpdate,
    store: StoreDep,
    session: SessionDep,
    cart_token: CartCookie = None,
) -> CartOut:
    """Set a line's quantity; 0 removes the line."""
    await carts.set_item_quantity(
        session,
        store_id=store.id,
        token=cart_token,
        product_id=product_id,
        quantity=body.quantity,
    )
    return await carts.view_cart(session, store=store, token=cart_token)


@router.delete("/cart/items/{product_id}", response_model=CartOut)
async def remove_cart_item(
    product_id: ProductId, store: StoreDep, session: SessionDep, cart_token: CartCookie = None
) -> CartOut:
    await carts.remove_item(session, store_id=store.id, token=cart_token, product_id=product_id)
    return await carts.view_cart(session, store=store, token=cart_token)


@router.post("/checkout", response_model=CheckoutOut, status_code=201)
async def checkout(
    body: CheckoutIn, store: StoreDep, session: SessionDep, cart_token: CartCookie = None
) -> CheckoutOut:
    """Create the order from the cart, reserve stock, and return the order's access token once."""
    placed = await place_order(session, store=store, cart_token=cart_token, details=body)
    return CheckoutOut(**order_fields(placed.order, placed.items), access_token=placed.access_token)


@router.get("/orders/{order_id}", response_model=OrderOut)
async def order_status(
    order_id: Annotated[int, Path(ge=1, le=2**62)],
    request: Request,
    store: StoreDep,
    session: SessionDep,
    x_order_token: Annotated[str | None, Header(max_length=200)] = None,
    token: Annotated[str | None, Query(max_length=200)] = None,
) -> OrderOut:
    """The order's status, for whoever holds its access token; anyone else gets a 404."""
    order = await orders.order_for_shopper(
        session,
        store_id=store.id,
        order_id=order_id,
        token=x_order_token or token,
        key_secret=request.app.state.settings.session_secret(),
    )
    items = await orders.get_order_items(session, order_id=order.id)
    return OrderOut(**order_fields(order, items))
