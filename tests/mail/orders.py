"""Orders in the states the mail tests start from."""

from __future__ import annotations

from storeplex.db import Database
from storeplex.mail import notify
from storeplex.models import Order
from tests.support.factories import make_product, make_store
from tests.support.shop import make_order


async def shipped_order(database: Database, **store: object) -> Order:
    shop = await make_store(
        database,
        name="Café Lumière",
        address_line1="1 Rue du Marché",
        postal_code="L-1234",
        city="Luxembourg",
        **store,
    )
    product = await make_product(database, shop, price_amount=1250, name="Espresso blend")
    made = await make_order(
        database, shop, [(product, 2)], email="sam@example.com", payment_status="paid"
    )
    async with database.session_scope() as s:
        order = await s.get_one(Order, made.order.id)
        order.status = "shipped"
        order.carrier = "Post Luxembourg"
        order.tracking_number = "LX123456789LU"
        order.tracking_url = "https://tracking.example.test/LX123456789LU"
        await notify.order_shipped(s, order=order)
    return order
