"""The Files API: ``POST /v1/files`` (multipart) and ``GET /v1/files/{id}``.

Stripe takes uploads on its separate files host (``files.stripe.com``); the emulator
serves the same ``/v1/files`` paths on its one address, so an SDK whose ``files`` base
points at the emulator uploads here.  Each purpose has its own types and size limit
(Stripe's "File upload guide": ``dispute_evidence`` is PDF, JPEG or PNG up to 5 MB and
expires after 9 months).  The type is read from the file's first bytes, never from the
name or the part's ``Content-Type``.  A file belongs to the account that uploaded it.
"""

from __future__ import annotations

import base64
from typing import Any

from stripe_emulator.core import PAGING, Ctx, created_filter, list_object, route
from stripe_emulator.schema import conform
from stripe_emulator.state import DAY, Stored
from stripe_emulator.wire import check_unknown, invalid, missing, not_found

MB = 1024 * 1024
# purpose -> (accepted types, size limit in bytes, days until it expires or None)
PURPOSES: dict[str, tuple[tuple[str, ...], int, int | None]] = {
    "dispute_evidence": (("pdf", "jpg", "png"), 5 * MB, 270),
    "identity_document": (("pdf", "jpg", "png"), 16 * MB, None),
    "additional_verification": (("pdf", "jpg", "png"), 16 * MB, None),
    "account_requirement": (("pdf", "jpg", "png"), 16 * MB, None),
}
TYPE_NAMES = {"pdf": "PDF", "jpg": "JPEG", "png": "PNG"}


def sniff(data: bytes) -> str | None:
    """The file's type from its first bytes: ``pdf``, ``jpg``, ``png`` or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def find_file(ctx: Ctx, file_id: str, param: str) -> Stored:
    """A file of the acting account (another account's file is "No such file upload")."""
    stored = ctx.state.find(file_id, "file", ctx.account)
    if stored is None:
        raise not_found("file upload", file_id, param)
    return stored


@route("POST", "/v1/files")
def create_file(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, {"purpose": True, "file_link_data": "any", "metadata": "any"})
    purpose = p.req_str("purpose")
    if purpose not in PURPOSES:
        raise invalid(f"Invalid purpose: must be one of {', '.join(sorted(PURPOSES))}", "purpose")
    upload = ctx.uploads.get("file")
    if upload is None:
        raise missing("file")
    types, limit, expires_days = PURPOSES[purpose]
    if not upload.data:
        raise invalid("The file is empty.", "file")
    if len(upload.data) > limit:
        raise invalid(
            f"File size must be at most {limit // MB}MB for purpose {purpose}; "
            f"this file is {len(upload.data)} bytes.",
            "file",
        )
    kind = sniff(upload.data)
    if kind not in types:
        names = ", ".join(TYPE_NAMES[t] for t in types)
        raise invalid(f"Invalid file type: files for {purpose} must be {names}.", "file")
    file_id = ctx.state.new_id("file")
    obj = conform(
        {
            "id": file_id,
            "object": "file",
            "created": ctx.now,
            "expires_at": ctx.now + expires_days * DAY if expires_days else None,
            "filename": (upload.filename or f"upload.{kind}")[:255],
            "links": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/file_links?file={file_id}",
            },
            "purpose": purpose,
            "size": len(upload.data),
            "title": None,
            "type": kind,
            "url": ctx.url(f"/v1/files/{file_id}/contents"),
        }
    )
    ctx.state.add(obj, ctx.account, content=base64.b64encode(upload.data).decode())
    return obj


@route("GET", "/v1/files/{id}")
def retrieve_file(ctx: Ctx) -> dict[str, Any]:
    return find_file(ctx, ctx.args["id"], "id").obj


@route("GET", "/v1/files", query=(*PAGING, "purpose"))
def list_files(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "file")]
    if purpose := p.str("purpose"):
        items = [i for i in items if i["purpose"] == purpose]
    return list_object(ctx, created_filter(p, items), "/v1/files")
