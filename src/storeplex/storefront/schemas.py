"""What a shopper sees of a store and its catalog. Money is integer minor units plus display."""

from __future__ import annotations

from pydantic import BaseModel, Field

from storeplex.models import Product, Store
from storeplex.money import format_amount
from storeplex.stores.service import not_taking_orders_message


class StorePublicOut(BaseModel):
    name: str
    slug: str
    currency: str
    country: str
    taking_orders: bool = Field(
        description="False while the store cannot take payments: carts and checkout answer 409"
    )
    message: str | None = Field(description="Why the store is not taking orders, for shoppers")


class ProductOut(BaseModel):
    id: int
    sku: str
    name: str
    description: str
    price_amount: int
    price: str
    currency: str
    stock: int
    in_stock: bool


class ProductList(BaseModel):
    data: list[ProductOut]
    has_more: bool


def store_public_out(store: Store, *, taking_orders: bool) -> StorePublicOut:
    return StorePublicOut(
        name=store.name,
        slug=store.slug,
        currency=store.currency,
        country=store.country,
        taking_orders=taking_orders,
        message=None if taking_orders else not_taking_orders_message(store),
    )


def product_out(product: Product, currency: str) -> ProductOut:
    return ProductOut(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        price_amount=product.price_amount,
        price=format_amount(product.price_amount, currency),
        currency=currency,
        stock=product.stock,
        in_stock=product.stock > 0,
    )
