"""Platform admin: create, list, suspend stores. Store staff: read and edit their store."""

from fastapi import APIRouter

platform_router = APIRouter(prefix="/api/v1/platform/stores", tags=["platform"])
store_router = APIRouter(prefix="/api/v1/store", tags=["store"])
