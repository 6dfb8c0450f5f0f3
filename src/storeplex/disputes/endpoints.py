"""Store staff see their disputes (all, or one order's). The store is the credential's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from storeplex.auth.deps import CurrentStaff
from storeplex.deps import SessionDep
from storeplex.disputes import service
from storeplex.disputes.schemas import DisputeList, dispute_out

router = APIRouter(prefix="/api/v1/store", tags=["store-disputes"])

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/disputes", response_model=DisputeList)
async def list_disputes(
    staff: CurrentStaff, session: SessionDep, limit: Limit = 20, offset: Offset = 0
) -> DisputeList:
    """The store's disputes, newest first."""
    rows, has_more = await service.list_disputes(
        session, store_id=staff.store_id, limit=limit, offset=offset
    )
    return DisputeList(data=[dispute_out(r) for r in rows], has_more=has_more)


@router.get("/orders/{order_id}/disputes", response_model=DisputeList)
async def list_order_disputes(
    order_id: Annotated[int, Path(ge=1, le=2**62)],
    staff: CurrentStaff,
    session: SessionDep,
    limit: Limit = 20,
    offset: Offset = 0,
) -> DisputeList:
    """One order's disputes."""
    rows, has_more = await service.list_disputes(
        session, store_id=staff.store_id, order_id=order_id, limit=limit, offset=offset
    )
    return DisputeList(data=[dispute_out(r) for r in rows], has_more=has_more)
