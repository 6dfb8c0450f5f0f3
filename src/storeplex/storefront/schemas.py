"""What a shopper sees of a store and its catalog. Money is integer minor units plus display."""

from __future__ import annotations

from pydantic import BaseModel

from storeplex.models import Product, Store
from storeplex.money import format_amount


class StorePublicOut(BaseModel):
    name: str
    slug: str
    currency: str
    country: str


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


def store_public_out(store: Store) -> StorePublicOut:
    return StorePublicOut(
        name=store.name, slug=store.slug, currency=store.currency, country=store.country
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
