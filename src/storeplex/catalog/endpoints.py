"""Store staff manage their products."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/store/products", tags=["store-products"])
