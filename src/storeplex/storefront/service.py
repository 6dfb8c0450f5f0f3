"""The public catalog of one store.

Rule: shoppers see active products of the store in the request's address only;
an inactive product or another store's product is a 404, like a missing one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.carts.service import sellable_product
from storeplex.models import Product
from storeplex.tenancy import scoped


async def list_products(
    session: AsyncSession, *, store_id: int, limit: int = 20, offset: int = 0
) -> tuple[list[Product], bool]:
    """Active products by name, and whether more follow this page."""
    query = (
        scoped(Product, store_id)
        .where(Product.is_active.is_(True))
        .order_by(Product.name, Product.id)
        .limit(limit + 1)
        .offset(offset)
    )
    rows = list((await session.execute(query)).scalars())
    return rows[:limit], len(rows) > limit


async def get_product(session: AsyncSession, *, store_id: int, product_id: int) -> Product:
    """One active product of the store, or 404."""
    return await sellable_product(session, store_id=store_id, product_id=product_id)
