"""Shoppers: catalog, cart, checkout and order status of one store."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/storefront/{slug}", tags=["storefront"])
