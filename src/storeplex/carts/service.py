"""Cart rules: lines hold a product and a quantity, never a price.

Rule: prices are read from the catalog every time a cart is shown or checked
out, so a cart can never carry a stale or forged price. A browser's cart token
(cookie) is stored only as its SHA-256; one token serves a cart in each store.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import BigInteger, Integer, String, Table, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.secrets import new_token, token_digest
from storeplex.carts.schemas import CartLineOut, CartOut
from storeplex.db import insert_if_new
from storeplex.errors import BadRequest, NotFound
from storeplex.models import Cart, CartItem, Product, Store
from storeplex.money import format_amount
from storeplex.tenancy import scoped

CART_COOKIE = "storeplex_cart"
CART_TOKEN_PREFIX = "spc"
CART_COOKIE_MAX_AGE = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class CartLine:
    item: CartItem
    product: Product


def valid_cart_token(token: str | None) -> str | None:
    """The cookie's token if it has our shape, else None (a forged cookie is just no cart)."""
    if token and token.startswith(f"{CART_TOKEN_PREFIX}_") and 20 <= len(token) <= 100:
        return token
    return None


def new_cart_token() -> str:
    """A fresh random cart token for a browser that has none."""
    return new_token(CART_TOKEN_PREFIX)


# Statements on every cart and checkout request, built once (building one costs more CPU
# than running it; see benchmarks/). Parameters are named in each.
_BIG = BigInteger()
CARTS = cast(Table, Cart.__table__)
_CART = select(Cart).where(
    Cart.store_id == bindparam("store_id", type_=_BIG),
    Cart.token_hash == bindparam("token_hash", type_=String),
)
_CART_ID = _CART.with_only_columns(Cart.id)
_CART_LINES = (
    select(CartItem, Product)
    .join(Product, Product.id == CartItem.product_id)
    .where(
        CartItem.cart_id == bindparam("cart_id", type_=_BIG),
        Product.store_id == bindparam("store_id", type_=_BIG),
    )
    .order_by(Product.id)
)
_TAKE_LINES = (
    delete(CartItem)
    .where(CartItem.cart_id == _CART_ID.scalar_subquery())
    .returning(CartItem.product_id, CartItem.quantity)
    .execution_options(synchronize_session=False)
)


async def find_cart(session: AsyncSession, *, store_id: int, token: str | None) -> Cart | None:
    """The store's cart for this cookie token, or None."""
    token = valid_cart_token(token)
    if token is None:
        return None
    params = {"store_id": store_id, "token_hash": token_digest(token)}
    return (await session.execute(_CART, params)).scalar_one_or_none()


async def ensure_cart(session: AsyncSession, *, store_id: int, token: str) -> int:
    """The id of the store's cart for this token, created if missing (safe against a
    concurrent create): one round trip for a new cart, two for an existing one."""
    params = {"store_id": store_id, "token_hash": token_digest(token)}
    key = ("store_id", "token_hash")
    new_cart = insert_if_new(session.get_bind().dialect.name, CARTS, key, key)
    values = {"p_store_id": store_id, "p_token_hash": params["token_hash"]}
    created = (await session.execute(new_cart, values)).scalar_one_or_none()
    if created is not None:
        return int(created)
    return int((await session.execute(_CART_ID, params)).scalar_one())


async def sellable_product(session: AsyncSession, *, store_id: int, product_id: int) -> Product:
    """An active product of the store, or 404 (inactive and foreign products do not exist here)."""
    query = scoped(Product, store_id).where(Product.id == product_id, Product.is_active.is_(True))
    product = (await session.execute(query)).scalar_one_or_none()
    if product is None:
        raise NotFound(f"No product with id {product_id}", field="product_id")
    return product


def _check_stock(product: Product, quantity: int) -> None:
    if quantity > product.stock:
        if product.stock == 0:
            message = f"{product.name} is out of stock"
        else:
            message = f"Only {product.stock} of {product.name} available; you asked for {quantity}"
        raise BadRequest(message, field="quantity", code="insufficient_stock")


async def add_item(
    session: AsyncSession, *, store_id: int, token: str, product_id: int, quantity: int
) -> int:
    """Add `quantity` of a product to the cart, on top of any line already there; the cart id.

    One statement on the common path: the line is inserted (or added to) only if the
    product is an active product of this store with stock for the cart's new quantity;
    when it is not, a second query says why (404 or 400). Stock here is advice to the
    shopper; checkout reserves it for real.
    """
    cart_id = await ensure_cart(session, store_id=store_id, token=token)
    params = {"cart_id": cart_id, "product_id": product_id}
    upsert = _add_line_statement(session.get_bind().dialect.name)
    values = {
        "p_cart": cart_id,
        "p_product": product_id,
        "p_store": store_id,
        "p_quantity": quantity,
    }
    if (await session.execute(upsert, values)).scalar_one_or_none() is None:
        product = await sellable_product(session, store_id=store_id, product_id=product_id)
        had = (await session.execute(_IN_CART, params)).scalar_one_or_none() or 0
        _check_stock(product, had + quantity)
    return cart_id


_IN_CART = select(CartItem.quantity).where(
    CartItem.cart_id == bindparam("cart_id", type_=_BIG),
    CartItem.product_id == bindparam("product_id", type_=_BIG),
)


@functools.cache
def _add_line_statement(dialect: str) -> Any:
    """The line upsert of add_item, built once per dialect (building it cost more CPU than
    running it); parameters p_cart, p_product, p_store, p_quantity."""
    # (Parameters of an INSERT may not be named like its table's columns: p_*.)
    quantity = bindparam("p_quantity", type_=Integer)
    in_cart = select(CartItem.quantity).where(
        CartItem.cart_id == bindparam("p_cart", type_=_BIG),
        CartItem.product_id == bindparam("p_product", type_=_BIG),
    )
    sellable = select(bindparam("p_cart", type_=_BIG), Product.id, quantity).where(
        Product.id == bindparam("p_product", type_=_BIG),
        Product.store_id == bindparam("p_store", type_=_BIG),
        Product.is_active.is_(True),
        Product.stock >= quantity + func.coalesce(in_cart.scalar_subquery(), 0),
    )
    table = cast(Table, CartItem.__table__)
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    insert = insert.from_select(["cart_id", "product_id", "quantity"], sellable)
    # An atomic upsert, so two tabs adding the same product at once both count.
    return insert.on_conflict_do_update(
        index_elements=["cart_id", "product_id"],
        set_={"quantity": table.c.quantity + insert.excluded.quantity},
    ).returning(table.c.quantity)


async def set_item_quantity(
    session: AsyncSession, *, store_id: int, token: str | None, product_id: int, quantity: int
) -> None:
    """Set a line's quantity; 0 removes it. A product not in the cart is a 404."""
    if quantity == 0:
        await remove_item(session, store_id=store_id, token=token, product_id=product_id)
        return
    cart = await find_cart(session, store_id=store_id, token=token)
    item = await _line(session, cart, product_id)
    product = await sellable_product(session, store_id=store_id, product_id=product_id)
    _check_stock(product, quantity)
    item.quantity = quantity
    await session.flush()


async def remove_item(
    session: AsyncSession, *, store_id: int, token: str | None, product_id: int
) -> None:
    """Remove a product's line from the cart; a product not in the cart is a 404."""
    cart = await find_cart(session, store_id=store_id, token=token)
    item = await _line(session, cart, product_id)
    await session.delete(item)
    await session.flush()


async def _line(session: AsyncSession, cart: Cart | None, product_id: int) -> CartItem:
    item = None
    if cart is not None:
        item = (
            await session.execute(
                select(CartItem).where(
                    CartItem.cart_id == cart.id, CartItem.product_id == product_id
                )
            )
        ).scalar_one_or_none()
    if item is None:
        raise NotFound(f"Product {product_id} is not in your cart", field="product_id")
    return item


async def cart_lines(session: AsyncSession, *, store_id: int, cart_id: int) -> list[CartLine]:
    """The cart's lines with their products, in product id order (the stock locking order)."""
    rows = await session.execute(_CART_LINES, {"cart_id": cart_id, "store_id": store_id})
    return [CartLine(item=item, product=product) for item, product in rows.all()]


async def take_lines(
    session: AsyncSession, *, store_id: int, token: str | None
) -> list[tuple[int, int]]:
    """Empty the store's cart for this token in one statement; its (product id, quantity)
    lines in product id order (the stock locking order). Checkout calls this first: if the
    order then fails, the transaction rolls back and the cart is as it was."""
    token = valid_cart_token(token)
    if token is None:
        return []
    params = {"store_id": store_id, "token_hash": token_digest(token)}
    rows = await session.execute(_TAKE_LINES, params)
    return sorted((int(product_id), int(quantity)) for product_id, quantity in rows.all())


async def view_cart(
    session: AsyncSession, *, store: Store, token: str | None, cart_id: int | None = None
) -> CartOut:
    """The cart priced at current catalog prices; lines no longer sold are shown, not counted.
    Give `cart_id` when the request already knows it (one round trip fewer)."""
    if cart_id is None:
        cart = await find_cart(session, store_id=store.id, token=token)
        cart_id = cart.id if cart else None
    lines = await cart_lines(session, store_id=store.id, cart_id=cart_id) if cart_id else []
    currency = store.currency
    out: list[CartLineOut] = []
    subtotal = 0
    count = 0
    for line in lines:
        product, quantity = line.product, line.item.quantity
        line_total = product.price_amount * quantity
        available = product.is_active and product.stock >= quantity
        if product.is_active:
            subtotal += line_total
            count += quantity
        out.append(
            CartLineOut(
                product_id=product.id,
                sku=product.sku,
                name=product.name,
                quantity=quantity,
                unit_price_amount=product.price_amount,
                unit_price=format_amount(product.price_amount, currency),
                line_total_amount=line_total,
                line_total=format_amount(line_total, currency),
                stock=product.stock if product.is_active else 0,
                available=available,
                image_key=product.image_key,
            )
        )
    return CartOut(
        currency=currency,
        items=out,
        item_count=count,
        subtotal_amount=subtotal,
        subtotal=format_amount(subtotal, currency),
    )
