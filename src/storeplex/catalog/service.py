"""Products of one store: create, list, edit, stock, activate/deactivate.

Rule: every query goes through `tenancy.scoped`/`get_scoped` with the caller's
store, and stock changes by a delta are a single conditional UPDATE, so two
requests can never drive stock below zero or lose each other's change.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.catalog import images
from storeplex.errors import BadRequest, Conflict
from storeplex.models import Product
from storeplex.money import MAX_AMOUNT
from storeplex.tenancy import get_scoped, scoped

MAX_STOCK = 2_147_483_647  # the column is a 32-bit integer
TEXT_LIMITS = {"sku": 64, "name": 200, "description": 20_000}
EDITABLE = frozenset(
    {"sku", "name", "description", "price_amount", "stock", "is_active", "is_free"}
)


def _text(field: str, value: Any, *, required: bool) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string", field=field)
    value = value.strip()
    if required and not value:
        raise BadRequest(f"{field} must not be empty", field=field)
    if len(value) > TEXT_LIMITS[field]:
        raise BadRequest(f"{field} is longer than {TEXT_LIMITS[field]} characters", field=field)
    return value


def _price(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("price_amount must be an integer in minor units", field="price")
    if not 0 <= value <= MAX_AMOUNT:
        raise BadRequest("price must be between 0 and the maximum amount", field="price")
    return value


def check_free(price_amount: int, is_free: bool) -> None:
    """A price of 0 only for a product marked free, and a free product costs 0: a price
    left empty or typed as 0 by mistake never puts a product on sale for nothing."""
    if price_amount == 0 and not is_free:
        raise BadRequest(
            "A price of 0 is refused: type the price, or mark the product as free if you "
            "give it away",
            field="price",
        )
    if is_free and price_amount != 0:
        raise BadRequest("A product marked free has the price 0", field="price")


def _stock(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("stock must be a whole number", field="stock")
    if not 0 <= value <= MAX_STOCK:
        raise BadRequest("stock cannot be negative", field="stock")
    return value


async def _sku_taken(
    session: AsyncSession, store_id: int, sku: str, except_id: int | None = None
) -> bool:
    query = scoped(Product, store_id).where(Product.sku == sku)
    if except_id is not None:
        query = query.where(Product.id != except_id)
    return (await session.execute(query)).first() is not None


async def _flush_sku(session: AsyncSession, sku: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise Conflict(f"A product with SKU {sku!r} already exists", field="sku") from None


async def create_product(
    session: AsyncSession,
    *,
    store_id: int,
    sku: str,
    name: str,
    price_amount: int,
    stock: int,
    description: str = "",
    is_active: bool = True,
    is_free: bool = False,
) -> Product:
    """Create a product priced in the store's currency (integer minor units)."""
    check_free(_price(price_amount), bool(is_free))
    product = Product(
        store_id=store_id,
        sku=_text("sku", sku, required=True),
        name=_text("name", name, required=True),
        description=_text("description", description, required=False),
        price_amount=_price(price_amount),
        stock=_stock(stock),
        is_active=bool(is_active),
        is_free=bool(is_free),
    )
    if await _sku_taken(session, store_id, product.sku):
        raise Conflict(f"A product with SKU {product.sku!r} already exists", field="sku")
    session.add(product)
    await _flush_sku(session, product.sku)
    return product


async def set_product_image(
    session: AsyncSession, *, store_id: int, product_id: int, data: bytes, data_dir: Path
) -> Product:
    """Check, resize and store an uploaded image as the product's (catalog/images.py)."""
    product = await get_scoped(session, Product, store_id, product_id, what="product")
    jpeg = await asyncio.to_thread(images.process, data)  # CPU work off the event loop
    product.image_key = await asyncio.to_thread(
        images.store_image, data_dir, store_id, product.id, jpeg
    )
    return product


async def get_product(session: AsyncSession, *, store_id: int, product_id: int) -> Product:
    """One product of the store, or 404 (also for another store's product)."""
    return await get_scoped(session, Product, store_id, product_id, what="product")


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


async def list_products(
    session: AsyncSession,
    *,
    store_id: int,
    active: bool | None = None,
    q: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Product], bool]:
    """The store's products, oldest first, filtered by active flag and a name/SKU search."""
    query = scoped(Product, store_id).order_by(Product.id)
    if active is not None:
        query = query.where(Product.is_active.is_(active))
    if q:
        pattern = _like_pattern(q.strip())
        query = query.where(
            or_(
                Product.name.ilike(pattern, escape="\\"),
                Product.sku.ilike(pattern, escape="\\"),
            )
        )
    rows = list((await session.execute(query.limit(limit + 1).offset(offset))).scalars())
    return rows[:limit], len(rows) > limit


async def adjust_stock(
    session: AsyncSession, *, store_id: int, product_id: int, delta: int
) -> Product:
    """Add `delta` (may be negative) to the stock in one UPDATE; refuses to go below zero."""
    product = await get_product(session, store_id=store_id, product_id=product_id)
    result = await session.execute(
        update(Product)
        .where(
            Product.id == product_id,
            Product.store_id == store_id,
            Product.stock + delta >= 0,
            Product.stock + delta <= MAX_STOCK,
        )
        .values(stock=Product.stock + delta)
        .returning(Product.stock)
        .execution_options(synchronize_session=False)
    )
    new_stock = result.scalar_one_or_none()
    if new_stock is None:
        raise Conflict(
            f"Stock would go below zero (stock is {product.stock}, change is {delta})",
            field="stock_delta",
        )
    await session.refresh(product)
    return product


async def update_product(
    session: AsyncSession,
    *,
    store_id: int,
    product_id: int,
    changes: dict[str, Any],
    stock_delta: int | None = None,
) -> Product:
    """Apply field changes (and optionally an atomic stock delta) to one product."""
    product = await get_product(session, store_id=store_id, product_id=product_id)
    if stock_delta is not None and "stock" in changes:
        raise BadRequest("Send either stock or stock_delta, not both", field="stock_delta")
    for field, value in changes.items():
        if field not in EDITABLE:
            raise BadRequest(f"{field} cannot be changed", field=field)
        if value is None:
            raise BadRequest(f"{field} cannot be null", field=field)
    if "sku" in changes:
        sku = _text("sku", changes["sku"], required=True)
        if sku != product.sku and await _sku_taken(session, store_id, sku, product.id):
            raise Conflict(f"A product with SKU {sku!r} already exists", field="sku")
        product.sku = sku
    if "name" in changes:
        product.name = _text("name", changes["name"], required=True)
    if "description" in changes:
        product.description = _text("description", changes["description"], required=False)
    if "price_amount" in changes:
        product.price_amount = _price(changes["price_amount"])
    if "stock" in changes:
        product.stock = _stock(changes["stock"])
    if "is_active" in changes:
        product.is_active = bool(changes["is_active"])
    if "is_free" in changes:
        product.is_free = bool(changes["is_free"])
    check_free(product.price_amount, product.is_free)
    await _flush_sku(session, product.sku)
    if stock_delta:
        product = await adjust_stock(
            session, store_id=store_id, product_id=product_id, delta=stock_delta
        )
    return product


async def set_product_active(
    session: AsyncSession, *, store_id: int, product_id: int, active: bool
) -> Product:
    """Activate or deactivate a product; inactive products vanish from the storefront."""
    product = await get_product(session, store_id=store_id, product_id=product_id)
    product.is_active = active
    await session.flush()
    return product


async def deactivate_product(session: AsyncSession, *, store_id: int, product_id: int) -> Product:
    """Hide a product from the storefront (orders keep their copy of it)."""
    return await set_product_active(session, store_id=store_id, product_id=product_id, active=False)


async def activate_product(session: AsyncSession, *, store_id: int, product_id: int) -> Product:
    """Show a product on the storefront again."""
    return await set_product_active(session, store_id=store_id, product_id=product_id, active=True)


async def products_by_ids(
    session: AsyncSession, *, store_id: int, product_ids: list[int]
) -> dict[int, Product]:
    """The store's products among these ids, keyed by id (other stores' ids are absent)."""
    if not product_ids:
        return {}
    query = scoped(Product, store_id).where(Product.id.in_(product_ids))
    return {p.id: p for p in (await session.execute(query)).scalars()}
