"""Cart rules: lines hold a product and a quantity, never a price.

Rule: prices are read from the catalog every time a cart is shown or checked
out, so a cart can never carry a stale or forged price. A browser's cart token
(cookie) is stored only as its SHA-256; one token serves a cart in each store.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.secrets import new_token, token_digest
from storeplex.carts.schemas import CartLineOut, CartOut
from storeplex.db import dialect_insert
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


async def find_cart(session: AsyncSession, *, store_id: int, token: str | None) -> Cart | None:
    """The store's cart for this cookie token, or None."""
    token = valid_cart_token(token)
    if token is None:
        return None
    query = scoped(Cart, store_id).where(Cart.token_hash == token_digest(token))
    return (await session.execute(query)).scalar_one_or_none()


async def ensure_cart(session: AsyncSession, *, store_id: int, token: str) -> int:
    """The id of the store's cart for this token, created if missing (safe against a
    concurrent create): one round trip for a new cart, two for an existing one."""
    digest = token_digest(token)
    created = (
        await session.execute(
            dialect_insert(session, Cart)
            .values(store_id=store_id, token_hash=digest)
            .on_conflict_do_nothing(index_elements=["store_id", "token_hash"])
            .returning(Cart.id)
        )
    ).scalar_one_or_none()
    if created is not None:
        return int(created)
    query = scoped(Cart, store_id).where(Cart.token_hash == digest).with_only_columns(Cart.id)
    return int((await session.execute(query)).scalar_one())


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
    in_cart = (
        select(CartItem.quantity)
        .where(CartItem.cart_id == cart_id, CartItem.product_id == product_id)
        .scalar_subquery()
    )
    sellable = select(literal(cart_id), Product.id, literal(quantity)).where(
        Product.id == product_id,
        Product.store_id == store_id,
        Product.is_active.is_(True),
        Product.stock >= quantity + func.coalesce(in_cart, 0),
    )
    insert = dialect_insert(session, CartItem).from_select(
        ["cart_id", "product_id", "quantity"], sellable
    )
    # An atomic upsert, so two tabs adding the same product at once both count.
    upsert = insert.on_conflict_do_update(
        index_elements=["cart_id", "product_id"],
        set_={"quantity": CartItem.quantity + insert.excluded.quantity},
    ).returning(CartItem.quantity)
    if (await session.execute(upsert)).scalar_one_or_none() is None:
        product = await sellable_product(session, store_id=store_id, product_id=product_id)
        had = (await session.execute(select(in_cart))).scalar_one_or_none() or 0
        _check_stock(product, had + quantity)
    return cart_id


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
    rows = await session.execute(
        select(CartItem, Product)
        .join(Product, Product.id == CartItem.product_id)
        .where(CartItem.cart_id == cart_id, Product.store_id == store_id)
        .order_by(Product.id)
    )
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
    cart_id = (
        scoped(Cart, store_id)
        .where(Cart.token_hash == token_digest(token))
        .with_only_columns(Cart.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        delete(CartItem)
        .where(CartItem.cart_id == cart_id)
        .returning(CartItem.product_id, CartItem.quantity)
        .execution_options(synchronize_session=False)
    )
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
            )
        )
    return CartOut(
        currency=currency,
        items=out,
        item_count=count,
        subtotal_amount=subtotal,
        subtotal=format_amount(subtotal, currency),
    )
