"""Answering a dispute: evidence saved as a draft at Stripe, then submitted.

Stripe keeps the evidence: a draft is `POST /v1/disputes/{id}` with `submit=false`
(Stripe stages it), the answer is the same call with `submit=true`. So nothing of
the evidence is stored here, and our row changes only from what Stripe answers
(through `apply_stripe_dispute`, the one place a dispute row changes).

Rules, checked before any call to Stripe so that a refusal writes nothing anywhere:
the dispute is the store's (another store's id is a 404), it still needs a response
and its deadline has not passed; each text field is within its length; a file is
PDF, JPEG or PNG by its first bytes (never by its name) and at most 5 MB (Stripe's
limit for `dispute_evidence`). Whether store staff may answer at all is the platform's
setting `STOREPLEX_STORES_ANSWER_DISPUTES`; the platform admin always may.
Idempotency keys come from the Stripe dispute id plus a digest of what is sent, so a
retried request repeats nothing and a changed draft is a new request.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.disputes.service import apply_stripe_dispute
from storeplex.errors import BadRequest, Conflict, PayloadTooLarge
from storeplex.models import Dispute, utcnow
from storeplex.stripe.gateway import StripeGateway
from storeplex.stripe.ids import PLATFORM_TAG
from storeplex.tenancy import get_scoped

NEEDS_RESPONSE = ("needs_response", "warning_needs_response")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_FILENAME = 100
# The text fields a store fills, with their length limits (characters).
TEXT_FIELDS: dict[str, int] = {
    "customer_name": 200,
    "customer_email_address": 254,
    "product_description": 5000,
    "shipping_carrier": 200,
    "shipping_tracking_number": 200,
    "shipping_date": 50,
    "uncategorized_text": 20000,
}
# Evidence fields a file can be attached to (one file per answer on the pages).
FILE_FIELDS = ("receipt", "customer_communication", "shipping_documentation", "uncategorized_file")
FILE_TYPES = {"pdf": "PDF", "jpg": "JPEG", "png": "PNG"}


@dataclass(frozen=True)
class EvidenceFile:
    filename: str
    data: bytes
    field: str = "uncategorized_file"


def sniff(data: bytes) -> str | None:
    """The file's type from its first bytes: pdf, jpg, png, or None."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    return None


def needs_response(row: Dispute, now: datetime | None = None) -> bool:
    """Whether the store can still answer this dispute (open, not yet answered, in time)."""
    if row.outcome is not None or row.status not in NEEDS_RESPONSE:
        return False
    return row.evidence_due_by is None or (now or utcnow()) <= row.evidence_due_by


def check_text(evidence: dict[str, str]) -> dict[str, str]:
    """The evidence's known text fields, trimmed; an unknown or too long field is refused."""
    clean: dict[str, str] = {}
    for name, value in evidence.items():
        limit = TEXT_FIELDS.get(name)
        if limit is None:
            raise BadRequest(f"Unknown evidence field {name!r}.", field=name)
        value = value.strip()
        if len(value) > limit:
            raise BadRequest(
                f"This field is {len(value)} characters long; the limit is {limit}.", field=name
            )
        if value:
            clean[name] = value
    return clean


def check_file(file: EvidenceFile) -> str:
    """The file's type; refused if it is empty, over 5 MB, or not a PDF, JPEG or PNG."""
    if file.field not in FILE_FIELDS:
        raise BadRequest(f"A file cannot be attached as {file.field!r}.", field="file_field")
    if not file.data:
        raise BadRequest("The file is empty.", field="file")
    if len(file.data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(
            f"The file is {len(file.data)} bytes; the limit is 5 MB ({MAX_FILE_BYTES} bytes).",
            field="file",
        )
    kind = sniff(file.data)
    if kind is None:
        raise BadRequest("The file must be a PDF, JPEG or PNG.", field="file")
    return kind


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]


async def answer_dispute(
    session: AsyncSession,
    gateway: StripeGateway,
    *,
    store_id: int,
    dispute_id: int,
    evidence: dict[str, str],
    file: EvidenceFile | None = None,
    submit: bool = False,
) -> Dispute:
    """Save the store's evidence at Stripe as a draft, or submit it (`submit`)."""
    row = await get_scoped(session, Dispute, store_id, dispute_id, what="dispute", for_update=True)
    if row.outcome is not None or row.status not in NEEDS_RESPONSE:
        raise Conflict(
            "This dispute no longer takes an answer (it was answered or it is closed).",
            code="dispute_not_answerable",
        )
    if row.evidence_due_by is not None and utcnow() > row.evidence_due_by:
        raise Conflict(
            "The deadline to answer this dispute has passed.", code="dispute_deadline_passed"
        )
    text = check_text(evidence)
    kind = check_file(file) if file is not None else None
    params: dict[str, object] = {"evidence": dict(text), "submit": submit}
    if file is not None and kind is not None:
        content = hashlib.sha256(file.data).hexdigest()[:32]
        name = (file.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1] or "evidence")[:MAX_FILENAME]
        uploaded = await gateway.upload_file(
            file.data,
            filename=name,
            purpose="dispute_evidence",
            idempotency_key=f"{PLATFORM_TAG}-dispute-{row.stripe_dispute_id}-file-{content}",
            dispute_id=row.id,
        )
        params["evidence"] = {**text, file.field: uploaded["id"]}
    key = f"{PLATFORM_TAG}-dispute-{row.stripe_dispute_id}-evidence-{_digest(params)}"
    result = await gateway.update_dispute(
        row.stripe_dispute_id, params, idempotency_key=key, dispute_id=row.id
    )
    return await apply_stripe_dispute(session, gateway, result) or row


async def saved_evidence(gateway: StripeGateway, row: Dispute) -> dict[str, str]:
    """The evidence Stripe holds for the dispute (the draft), text fields and file ids."""
    dispute = await gateway.retrieve_dispute(row.stripe_dispute_id, dispute_id=row.id)
    stored = dispute.get("evidence") or {}
    names = (*TEXT_FIELDS, *FILE_FIELDS)
    return {k: str(stored[k]) for k in names if isinstance(stored.get(k), str) and stored[k]}
