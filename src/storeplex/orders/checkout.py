"""Checkout: turn a store's cart into an order in one transaction.

Rule: the server prices the order from the catalog at this moment and reserves
stock with one conditional UPDATE per product (`stock >= quantity`), taken in
product id order. If any line cannot be reserved the whole request raises and
rolls back: no order, no customer, no stock change, the cart untouched.

Order of work: the rows every checkout of a store contends for (its products'
stock, its order counter) are locked last, right before the inserts and the
commit, so concurrent checkouts queue behind each other only briefly. The cart
is read and emptied in one statement (rolled back with the rest on failure).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from sqlalchemy import BigInteger, Integer, String, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.auth.secrets import new_token, token_digest
from storeplex.carts.service import take_lines
from storeplex.db import insert_if_new
from storeplex.errors import BadRequest, Conflict
from storeplex.mail import notify
from storeplex.models import (
    Customer,
    Order,
    OrderItem,
    OrderPaymentStatus,
    OrderStatus,
    Product,
    Store,
    utcnow,
)
from storeplex.money import MAX_AMOUNT, format_amount, minimum_charge
from storeplex.orders.schemas import CheckoutIn
from storeplex.orders.service import mark_order_paid
from storeplex.stores.service import require_taking_orders

ORDER_TOKEN_PREFIX = "spo"


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    items: list[OrderItem]
    access_token: str  # shown to the shopper once; only its digest is stored


async def _reserve(
    session: AsyncSession, *, store_id: int, product_id: int, quantity: int
) -> tuple[str, str, int]:
    """Take `quantity` units of a product's stock; (sku, name, price) or 409 saying what is left."""
    params = {"p_product": product_id, "p_store": store_id, "p_quantity": quantity}
    row = (await session.execute(_RESERVE, params)).one_or_none()
    if row is not None:
        return row.sku, row.name, row.price_amount
    current = (
        await session.execute(
            select(Product.name, Product.stock, Product.is_active).where(
                Product.id == product_id, Product.store_id == store_id
            )
        )
    ).one_or_none()
    if current is None:
        message = "A product in your cart is no longer sold; remove it from your cart"
    elif not current.is_active:
        message = f"{current.name} is no longer sold; remove it from your cart"
    elif current.stock == 0:
        message = f"{current.name} is sold out; remove it from your cart"
    else:
        message = (
            f"Only {current.stock} of {current.name} left; you asked for {quantity}. "
            "Update your cart and try again"
        )
    raise Conflict(message, field="items", code="insufficient_stock")


async def _customer_id(session: AsyncSession, *, store_id: int, email: str, name: str) -> int:
    """Find or create the store's customer for this email; concurrent first orders share one.
    One round trip for a new customer, two for a returning one."""
    params = {"p_store_id": store_id, "p_email": email, "p_name": name}
    dialect = session.get_bind().dialect.name
    new_customer = insert_if_new(dialect, CUSTOMERS, NEW_CUSTOMER, ("store_id", "email"))
    created = (await session.execute(new_customer, params)).scalar_one_or_none()
    if created is not None:
        return int(created)
    return int((await session.execute(_CUSTOMER_ID, params)).scalar_one())


async def _next_order_number(session: AsyncSession, *, store_id: int) -> int:
    return int((await session.execute(_NEXT_NUMBER, {"p_store": store_id})).scalar_one())


# The statements of every checkout, built once (building one costs more CPU than running it;
# see benchmarks/). Parameters of an INSERT or UPDATE may not be named like its table's
# columns, hence p_*.
_BIG = BigInteger()
_QUANTITY = bindparam("p_quantity", type_=Integer)
_RESERVE = (
    update(Product)
    .where(
        Product.id == bindparam("p_product", type_=_BIG),
        Product.store_id == bindparam("p_store", type_=_BIG),
        Product.is_active.is_(True),
        Product.stock >= _QUANTITY,
    )
    .values(stock=Product.stock - _QUANTITY)
    .returning(Product.sku, Product.name, Product.price_amount)
    .execution_options(synchronize_session=False)
)
CUSTOMERS = cast(Table, Customer.__table__)
NEW_CUSTOMER = ("store_id", "email", "name")
_CUSTOMER_ID = select(Customer.id).where(
    Customer.store_id == bindparam("p_store_id", type_=_BIG),
    Customer.email == bindparam("p_email", type_=String),
)
_NEXT_NUMBER = (
    update(Store)
    .where(Store.id == bindparam("p_store", type_=_BIG))
    .values(last_order_number=Store.last_order_number + 1)
    .returning(Store.last_order_number)
    .execution_options(synchronize_session=False)
)


async def place_order(
    session: AsyncSession, *, store: Store, cart_token: str | None, details: CheckoutIn
) -> PlacedOrder:
    """Create the order from the store's cart: price, reserve stock, number it, empty the cart.

    A store that cannot take payments (suspended, or its Stripe account not active) is
    refused with a 409 before anything is written."""
    await require_taking_orders(session, store=store)
    lines = await take_lines(session, store_id=store.id, token=cart_token)
    if not lines:
        raise BadRequest("Your cart is empty; add a product before checking out", code="empty_cart")
    email = str(details.email).lower()
    customer_id = await _customer_id(session, store_id=store.id, email=email, name=details.name)

    items: list[OrderItem] = []
    for product_id, quantity in lines:  # product id order, see take_lines
        sku, name, price = await _reserve(
            session, store_id=store.id, product_id=product_id, quantity=quantity
        )
        items.append(
            OrderItem(
                product_id=product_id,
                sku=sku,
                name=name,
                unit_price_amount=price,
                quantity=quantity,
                line_total_amount=price * quantity,
            )
        )

    currency = store.currency
    subtotal = sum(item.line_total_amount for item in items)
    shipping = 0
    total = subtotal + shipping
    if 0 < total < minimum_charge(currency):
        raise BadRequest(
            f"The minimum order is {format_amount(minimum_charge(currency), currency)}",
            code="below_minimum",
        )
    if total > MAX_AMOUNT:
        raise BadRequest(
            f"Orders above {format_amount(MAX_AMOUNT, currency)} cannot be paid by card; "
            "split the order",
            code="above_maximum",
        )

    number = await _next_order_number(session, store_id=store.id)
    access_token = new_token(ORDER_TOKEN_PREFIX)
    address = details.shipping
    order = Order(
        store_id=store.id,
        customer_id=customer_id,
        number=number,
        status=OrderStatus.PENDING,
        payment_status=OrderPaymentStatus.PENDING,
        currency=currency,
        subtotal_amount=subtotal,
        shipping_amount=shipping,
        total_amount_cents=total,
        email=email,
        shipping_name=details.name,
        shipping_line1=address.line1,
        shipping_line2=address.line2,
        shipping_city=address.city,
        shipping_postal_code=address.postal_code,
        shipping_country=address.country,
        shipping_phone=details.phone or None,
        access_token_hash=token_digest(access_token),
        stock_released=False,
    )
    session.add(order)
    await session.flush()
    for item in items:
        item.order_id = order.id
    session.add_all(items)
    await session.flush()
    if total == 0:
        # Only free products (catalog.check_free): nothing to pay, so no PaymentIntent and
        # no payment row (the books do not move); the order is paid now, its stock stays
        # taken, and the shopper gets the receipt in this transaction.
        mark_order_paid(order, paid_at=utcnow())
        await session.flush()
        await notify.order_paid(session, order=order, payment=None)
    return PlacedOrder(order=order, items=items, access_token=access_token)
