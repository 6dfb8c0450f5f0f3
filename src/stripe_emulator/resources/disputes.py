"""Disputes opened by the dispute test card; evidence, close, and resolution.

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
    before = copy.deepcopy(dp)
    evidence = p.hash("evidence")
    for key in EVIDENCE_FIELDS:
        if key in evidence:
            dp["evidence"][key] = evidence.str(key)
    dp["metadata"] = merge_metadata(dp["metadata"], p.metadata())
    has_evidence = any(dp["evidence"][k] for k in EVIDENCE_FIELDS)
    dp["evidence_details"] = {**dp["evidence_details"], "has_evidence": has_evidence}
    if p.bool("submit", True) and evidence.data:
        dp["status"] = "under_review"
        dp["evidence_details"]["submission_count"] += 1
    previous = {k: v for k, v in before.items() if dp[k] != v}
    if previous:
        ctx.emit_on(stored.owner, "charge.dispute.updated", dp, previous)
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
