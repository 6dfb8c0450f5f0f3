"""Cart requests and responses. Quantities are strict integers; money is integer minor units."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

MAX_QUANTITY = 10_000


class CartItemAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: StrictInt = Field(ge=1, le=2**62)
    quantity: StrictInt = Field(default=1, ge=1, le=MAX_QUANTITY)


class CartItemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: StrictInt = Field(ge=0, le=MAX_QUANTITY, description="0 removes the line")


class CartLineOut(BaseModel):
    product_id: int
    sku: str
    name: str
    quantity: int
    unit_price_amount: int
    unit_price: str
    line_total_amount: int
    line_total: str
    stock: int
    available: bool
    image_key: str | None = Field(default=None, description="The product image's file name")


class CartOut(BaseModel):
    currency: str
    items: list[CartLineOut]
    item_count: int
    subtotal_amount: int
    subtotal: str
