"""Platform admin: create, list, edit, suspend stores. Store staff: read and edit their store.

Rule: the store-staff routes act on the store of the caller's credential; there
is no store id in their paths.

`platform_router` carries the prefix /api/v1/platform and groups every platform
route of this package (stores, platform tokens); `store_router` (/api/v1/store)
also carries the store's API tokens and staff accounts.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from storeplex.auth import endpoints as auth_endpoints
from storeplex.auth.deps import CurrentAdmin, CurrentStaff, require_owner
from storeplex.auth.schemas import StaffOut
from storeplex.deps import SessionDep, SettingsDep
from storeplex.payments.deps import PaymentServiceDep
from storeplex.stores import service, suspension
from storeplex.stores.schemas import (
    PlatformStoreUpdate,
    StoreCreate,
    StoreCreated,
    StoreDetails,
    StoreList,
    StoreOut,
    StoreSuspend,
)

platform_router = APIRouter(prefix="/api/v1/platform")
stores_router = APIRouter(prefix="/stores", tags=["platform"])
store_router = APIRouter(prefix="/api/v1/store", tags=["store"])


@stores_router.post("", status_code=status.HTTP_201_CREATED, response_model=StoreCreated)
async def create_store(
    body: StoreCreate, _: CurrentAdmin, session: SessionDep, settings: SettingsDep
) -> StoreCreated:
    """Create a store and its owner; without `owner_password` the owner is mailed a link
    to choose one."""
    store, owner = await service.open_store(session, settings, **body.model_dump())
    return StoreCreated(store=StoreOut.of(store), owner=StaffOut.of(owner))


@stores_router.get("", response_model=StoreList)
async def list_stores(
    _: CurrentAdmin,
    session: SessionDep,
    status: Literal["active", "suspended"] | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> StoreList:
    rows, has_more = await service.list_stores(session, status=status, limit=limit, offset=offset)
    return StoreList(data=[StoreOut.of(s) for s in rows], has_more=has_more)


@stores_router.get("/{store_id}", response_model=StoreOut)
async def get_store(store_id: int, _: CurrentAdmin, session: SessionDep) -> StoreOut:
    return StoreOut.of(await service.get_store(session, store_id=store_id))


@stores_router.patch("/{store_id}", response_model=StoreOut)
async def update_store(
    store_id: int, body: PlatformStoreUpdate, _: CurrentAdmin, session: SessionDep
) -> StoreOut:
    store = await service.update_store(
        session, store_id=store_id, changes=body.model_dump(exclude_unset=True)
    )
    return StoreOut.of(store)


@stores_router.post("/{store_id}/suspend", response_model=StoreOut)
async def suspend_store(
    store_id: int,
    _: CurrentAdmin,
    payments: PaymentServiceDep,
    body: StoreSuspend | None = None,
) -> StoreOut:
    """Suspend the store (with an optional `reason` its staff will read) and cancel at Stripe
    every payment a shopper could still make to it (their orders are canceled and their
    stock released). Idempotent."""
    store, _canceled = await suspension.suspend(
        payments, store_id=store_id, reason=body.reason if body else None
    )
    return StoreOut.of(store)


@stores_router.post("/{store_id}/activate", response_model=StoreOut)
async def activate_store(store_id: int, _: CurrentAdmin, session: SessionDep) -> StoreOut:
    return StoreOut.of(await service.activate_store(session, store_id=store_id))


@store_router.get("", response_model=StoreOut)
async def my_store(principal: CurrentStaff, session: SessionDep) -> StoreOut:
    return StoreOut.of(await service.get_store(session, store_id=principal.store_id))


@store_router.patch("", response_model=StoreOut)
async def edit_my_store(
    body: StoreDetails, principal: CurrentStaff, session: SessionDep
) -> StoreOut:
    changes = body.model_dump(exclude_unset=True)
    if "business_email" in changes:
        require_owner(principal)  # where Stripe and shoppers write to: the owner's call
    store = await service.update_store(
        session,
        store_id=principal.store_id,
        changes=changes,
        allowed=service.STAFF_EDITABLE,
    )
    return StoreOut.of(store)


platform_router.include_router(stores_router)
platform_router.include_router(auth_endpoints.platform_tokens_router)
store_router.include_router(auth_endpoints.store_tokens_router)
store_router.include_router(auth_endpoints.store_staff_router)
