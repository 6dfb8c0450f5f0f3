"""Store staff see and answer their disputes; the platform admin answers any store's.

The store is the credential's; a platform setting decides whether staff may answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.datastructures import UploadFile as StarletteUploadFile

from storeplex.auth.deps import CurrentAdmin, CurrentStaff
from storeplex.deps import SessionDep, SettingsDep
from storeplex.disputes import evidence, service
from storeplex.disputes.evidence import EvidenceFile
from storeplex.disputes.schemas import DisputeList, DisputeOut, dispute_out
from storeplex.errors import Forbidden
from storeplex.payments.deps import GatewayDep

router = APIRouter(prefix="/api/v1/store", tags=["store-disputes"])
platform_router = APIRouter(prefix="/api/v1/platform", tags=["platform-disputes"])

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


DisputeId = Annotated[int, Path(ge=1, le=2**62)]
StoreId = Annotated[int, Path(ge=1, le=2**62)]


async def _evidence_form(request: Request) -> tuple[dict[str, str], EvidenceFile | None, bool]:
    """Text fields, the optional file (read at most 5 MB + 1 byte) and `submit` of a form."""
    form = await request.form(max_files=1, max_fields=len(evidence.TEXT_FIELDS) + 5)
    text = {k: v for k, v in form.items() if k in evidence.TEXT_FIELDS and isinstance(v, str)}
    upload = form.get("file")
    file = None
    if isinstance(upload, StarletteUploadFile) and upload.filename:
        data = await upload.read(evidence.MAX_FILE_BYTES + 1)
        field = form.get("file_field")
        file = EvidenceFile(
            upload.filename,
            data,
            field if isinstance(field, str) and field else "uncategorized_file",
        )
    submit = str(form.get("submit", "")).lower() in ("1", "true", "yes", "on")
    return text, file, submit


@router.post("/disputes/{dispute_id}/evidence", response_model=DisputeOut)
async def answer_dispute(
    dispute_id: DisputeId,
    request: Request,
    staff: CurrentStaff,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
) -> DisputeOut:
    """Save evidence as a draft, or submit it (`submit=true`); multipart form with one `file`."""
    if not settings.stores_answer_disputes:
        raise Forbidden("The platform answers disputes for its stores; contact the operator.")
    text, file, submit = await _evidence_form(request)
    row = await evidence.answer_dispute(
        session,
        gateway,
        store_id=staff.store_id,
        dispute_id=dispute_id,
        evidence=text,
        file=file,
        submit=submit,
    )
    return dispute_out(row)


@platform_router.post(
    "/stores/{store_id}/disputes/{dispute_id}/evidence", response_model=DisputeOut
)
async def platform_answer_dispute(
    store_id: StoreId,
    dispute_id: DisputeId,
    request: Request,
    admin: CurrentAdmin,
    session: SessionDep,
    gateway: GatewayDep,
) -> DisputeOut:
    """The platform admin answers a store's dispute (always allowed, whatever the setting)."""
    text, file, submit = await _evidence_form(request)
    row = await evidence.answer_dispute(
        session,
        gateway,
        store_id=store_id,
        dispute_id=dispute_id,
        evidence=text,
        file=file,
        submit=submit,
    )
    return dispute_out(row)
