"""Request and response bodies for products.

Rule: prices arrive as decimal strings in the store's currency ("12.50") and
leave as integer minor units (`price_amount`) plus the same decimal string
for display; a JSON number for a price is refused, because floats are inexact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from storeplex.catalog.service import MAX_STOCK
from storeplex.models import Product
from storeplex.money import MONEY_TEXT_SCHEMA, exponent, to_major

PRICE_HINT = 'Send the price as a decimal string, for example "12.50"'


def _price_is_text(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise ValueError(PRICE_HINT)
    return value


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    price: str = Field(description=PRICE_HINT, json_schema_extra=MONEY_TEXT_SCHEMA)
    stock: int = Field(default=0, ge=0, le=MAX_STOCK)
    is_active: bool = True
    is_free: bool = Field(default=False, description='Given away: its price must be "0"')

    _price_text = field_validator("price", mode="before")(_price_is_text)


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    sku: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    price: str | None = Field(default=None, json_schema_extra=MONEY_TEXT_SCHEMA)
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    stock_delta: int | None = Field(default=None, ge=-MAX_STOCK, le=MAX_STOCK)
    is_active: bool | None = None
    is_free: bool | None = None

    _price_text = field_validator("price", mode="before")(_price_is_text)


class ProductOut(BaseModel):
    id: int
    sku: str
    name: str
    description: str
    price_amount: int = Field(description="Integer minor units of `currency`")
    price: str = Field(description="The same amount as a decimal string, for display")
    currency: str
    stock: int
    is_active: bool
    is_free: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product, currency: str) -> ProductOut:
        major = to_major(product.price_amount, currency)
        return cls(
            id=product.id,
            sku=product.sku,
            name=product.name,
            description=product.description,
            price_amount=product.price_amount,
            price=f"{major:.{exponent(currency)}f}",
            currency=currency,
            stock=product.stock,
            is_active=product.is_active,
            is_free=product.is_free,
            created_at=product.created_at,
            updated_at=product.updated_at,
        )


class ProductList(BaseModel):
    data: list[ProductOut]
    has_more: bool
