"""Store staff list and view orders and move them through fulfilment."""

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1/store/orders", tags=["store-orders"])
