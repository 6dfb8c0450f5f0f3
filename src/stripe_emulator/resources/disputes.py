"""Disputes opened by the dispute test card; evidence, close, and resolution.

Evidence fields that take a file accept only a ``dispute_evidence`` file of the
dispute's own account; evidence cannot change after submission or past ``due_by``;
Stripe's test values ``winning_evidence`` / ``losing_evidence`` decide the outcome.

Opening a dispute debits the charge's account by the disputed amount plus the
dispute fee (:func:`stripe_emulator.money.dispute_fee`); winning reinstates the
disputed amount (the fee is kept).
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator import money
from stripe_emulator.core import PAGING, Ctx, created_filter, list_object, route
from stripe_emulator.ledger import add_txn, stripe_fee_detail
from stripe_emulator.resources.files import find_file
from stripe_emulator.schema import conform
from stripe_emulator.state import DAY, Stored
from stripe_emulator.wire import check_unknown, invalid, merge_metadata

EVIDENCE_FIELDS = (
    "access_activity_log",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)
# Evidence fields that name a file uploaded with purpose dispute_evidence.
FILE_FIELDS = frozenset(
    (
        "cancellation_policy",
        "customer_communication",
        "customer_signature",
        "duplicate_charge_documentation",
        "receipt",
        "refund_policy",
        "service_documentation",
        "shipping_documentation",
        "uncategorized_file",
    )
)
TEXT = frozenset(EVIDENCE_FIELDS) - FILE_FIELDS
# Stripe's API reference: "The combined character count of all fields is limited to 150,000."
MAX_EVIDENCE_CHARS = 150_000
# Stripe's test evidence (testing docs, "Disputes"): submitting uncategorized_text
# "winning_evidence" closes the dispute as won, "losing_evidence" as lost. Stripe does it
# shortly after the submission; the emulator does it as part of the submission, so the
# update answers with the final status and the events follow in order
# (updated -> under_review, updated -> won/lost, funds_reinstated when won, closed).
TEST_OUTCOMES = {"winning_evidence": "won", "losing_evidence": "lost"}
OPEN = ("needs_response", "warning_needs_response", "under_review", "warning_under_review")


def open_dispute(ctx: Ctx, charge: Stored) -> Stored:
    ch = charge.obj
    dp_id = ctx.state.new_id("dp")
    fee = money.dispute_fee(ch["currency"])
    txn = add_txn(
        ctx.state,
        charge.owner,
        amount=-ch["amount"],
        currency=ch["currency"],
        txn_type="adjustment",
        source=dp_id,
        fee=fee,
        fee_details=[stripe_fee_detail(fee, ch["currency"], "Dispute fee")],
        immediate=True,
        description=f"Chargeback withdrawal for {ch['id']}",
        reporting_category="dispute",
    )
    card = (ch["payment_method_details"] or {}).get("card") or {}
    evidence: dict[str, Any] = dict.fromkeys(EVIDENCE_FIELDS)
    evidence["enhanced_evidence"] = {}
    dispute = conform(
        {
            "id": dp_id,
            "object": "dispute",
            "amount": ch["amount"],
            "balance_transactions": [txn],
            "charge": ch["id"],
            "created": ctx.now,
            "currency": ch["currency"],
            "enhanced_eligibility_types": [],
            "evidence": evidence,
            "evidence_details": {
                "due_by": ctx.now + 7 * DAY,
                "enhanced_eligibility": {},
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": ch["payment_intent"],
            "payment_method_details": {
                "card": {
                    "brand": card.get("brand"),
                    "case_type": "chargeback",
                    "network_reason_code": "10.4",
                },
                "type": "card",
            },
            "reason": "fraudulent",
            "status": "needs_response",
        }
    )
    stored = ctx.state.add(dispute, charge.owner, charge=ch["id"])
    ch["disputed"] = True
    charge.private["dispute"] = dp_id
    ctx.emit_on(charge.owner, "charge.dispute.created", dispute)
    ctx.emit_on(charge.owner, "charge.dispute.funds_withdrawn", dispute)
    return stored


def resolve(ctx: Ctx, stored: Stored, outcome: str) -> None:
    dp = stored.obj
    if dp["status"] not in OPEN:
        raise invalid(f"Dispute {dp['id']} is already closed (status {dp['status']}).")
    before = copy.deepcopy(dp)
    if outcome == "won":
        txn = add_txn(
            ctx.state,
            stored.owner,
            amount=dp["amount"],
            currency=dp["currency"],
            txn_type="adjustment",
            source=dp["id"],
            immediate=True,
            description=f"Chargeback reversal for {dp['charge']}",
            reporting_category="dispute_reversal",
        )
        dp["balance_transactions"] = [*dp["balance_transactions"], txn]
    dp["status"] = outcome
    dp["is_charge_refundable"] = False
    previous = {"status": before["status"]}
    if outcome == "won":
        previous["balance_transactions"] = before["balance_transactions"]
    ctx.emit_on(stored.owner, "charge.dispute.updated", dp, previous)
    if outcome == "won":
        ctx.emit_on(stored.owner, "charge.dispute.funds_reinstated", dp)
    ctx.emit_on(stored.owner, "charge.dispute.closed", dp, previous)


@route("GET", "/v1/disputes/{id}")
def retrieve_dispute(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "dispute").obj


@route("POST", "/v1/disputes/{id}")
def update_dispute(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {
            "evidence": {f: True for f in EVIDENCE_FIELDS} | {"enhanced_evidence": "any"},
            "metadata": "any",
            "submit": True,
        },
    )
    stored = ctx.load(ctx.args["id"], "dispute")
    dp = stored.obj
    if dp["status"] not in OPEN:
        raise invalid(f"This dispute is already closed (status {dp['status']}).")
    evidence = p.hash("evidence")
    answering = bool(evidence.data) or "submit" in p
    if answering and dp["status"] in ("under_review", "warning_under_review"):
        raise invalid(
            "This dispute's evidence was already submitted; it cannot be changed while "
            "the card issuer reviews it.",
            "evidence",
        )
    if answering and ctx.now > dp["evidence_details"]["due_by"]:
        raise invalid(
            "The deadline to respond to this dispute has passed; evidence can no longer be added.",
            "evidence",
        )
    updates: dict[str, str | None] = {}
    for key in EVIDENCE_FIELDS:
        if key in evidence:
            value = evidence.str(key)
            if key in FILE_FIELDS and value:
                file = find_file(ctx, value, f"evidence[{key}]")
                if file.obj["purpose"] != "dispute_evidence":
                    raise invalid(
                        f"The file {value} was not uploaded with purpose dispute_evidence.",
                        f"evidence[{key}]",
                    )
            updates[key] = value
    total = sum(len(v or "") for k, v in {**dp["evidence"], **updates}.items() if k in TEXT)
    if total > MAX_EVIDENCE_CHARS:
        raise invalid(
            f"The evidence text is {total} characters; the limit is {MAX_EVIDENCE_CHARS}.",
            "evidence",
        )
    before = copy.deepcopy(dp)
    dp["evidence"].update(updates)
    dp["metadata"] = merge_metadata(dp["metadata"], p.metadata())
    has_evidence = any(dp["evidence"][k] for k in EVIDENCE_FIELDS)
    dp["evidence_details"] = {**dp["evidence_details"], "has_evidence": has_evidence}
    # submit (default true) sends what is given; submit=true alone sends the staged evidence.
    submitted = bool(p.bool("submit", True) and (evidence.data or ("submit" in p and has_evidence)))
    if submitted:
        dp["status"] = "under_review"
        dp["evidence_details"]["submission_count"] += 1
    previous = {k: v for k, v in before.items() if dp[k] != v}
    if previous:
        ctx.emit_on(stored.owner, "charge.dispute.updated", dp, previous)
    outcome = TEST_OUTCOMES.get(dp["evidence"]["uncategorized_text"] or "")
    if submitted and outcome is not None:
        resolve(ctx, stored, outcome)
    return dp


@route("POST", "/v1/disputes/{id}/close")
def close_dispute(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {})
    stored = ctx.load(ctx.args["id"], "dispute")
    resolve(ctx, stored, "lost")
    return stored.obj


@route("GET", "/v1/disputes", query=(*PAGING, "charge", "payment_intent"))
def list_disputes(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "dispute")]
    if charge := p.str("charge"):
        items = [i for i in items if i["charge"] == charge]
    if pi := p.str("payment_intent"):
        items = [i for i in items if i["payment_intent"] == pi]
    return list_object(ctx, created_filter(p, items), "/v1/disputes")
