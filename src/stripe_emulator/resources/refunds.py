"""Refunds, with proportional transfer reversal and application fee refund.

Rounding (see :mod:`stripe_emulator.money`): reversal =
``round_half_up(refund * transfer_amount / charge_amount)``, fee refund =
``round_half_up(refund * fee / charge_amount)``; the refund that completes the
charge takes whatever is left so the parts always add up.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator import money
from stripe_emulator.core import PAGING, Ctx, created_filter, list_object, route
from stripe_emulator.ledger import add_txn
from stripe_emulator.resources.transfers import refund_fee, reverse
from stripe_emulator.schema import conform
from stripe_emulator.state import Stored
from stripe_emulator.wire import StripeError, check_unknown, invalid, merge_metadata

REFUND_SPEC: dict[str, Any] = {
    "payment_intent": True,
    "charge": True,
    "amount": True,
    "reason": True,
    "reverse_transfer": True,
    "refund_application_fee": True,
    "metadata": "any",
    "instructions_email": True,
    "origin": True,
}


@route("POST", "/v1/refunds")
def create_refund(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, REFUND_SPEC)
    pi_id = p.str("payment_intent")
    ch_id = p.str("charge")
    if not pi_id and not ch_id:
        raise StripeError(
            400,
            "One of the following params should be provided "
            "for this request: payment_intent or charge.",
            code="parameter_missing",
        )
    if pi_id:
        pi = ctx.state.find(pi_id, "payment_intent", ctx.account)
        if pi is None:
            raise StripeError(
                400,
                f"No such payment_intent: '{pi_id}'",
                param="payment_intent",
                code="resource_missing",
            )
        if pi.obj["status"] != "succeeded" or not pi.obj["latest_charge"]:
            raise invalid(
                "This PaymentIntent does not have a successful charge to refund.",
                "payment_intent",
            )
        ch_id = pi.obj["latest_charge"]
    assert ch_id is not None
    charge = ctx.state.find(ch_id, "charge", ctx.account)
    if charge is None:
        raise StripeError(
            400, f"No such charge: '{ch_id}'", param="charge", code="resource_missing"
        )
    ch = charge.obj
    if pi_id and ch["payment_intent"] != pi_id:
        raise invalid("The charge does not belong to this PaymentIntent.", "charge")
    if ch["status"] != "succeeded" or not ch["captured"]:
        raise invalid(f"Charge {ch['id']} has not been captured or did not succeed.", "charge")
    if ch["disputed"]:
        dispute = charge.private.get("dispute")
        dp = ctx.state.get(dispute) if dispute else None
        if dp is not None and dp.obj["status"] not in ("won", "warning_closed"):
            raise StripeError(
                400,
                f"Charge {ch['id']} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
    remaining = ch["amount_captured"] - ch["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            400, f"Charge {ch['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = p.int("amount", minimum=1)
    if amount is None:
        amount = remaining
    if amount > remaining:
        raise StripeError(
            400,
            f"Refund amount ({money.display(amount, ch['currency'])}) "
            "is greater than unrefunded amount "
            f"on charge ({money.display(remaining, ch['currency'])})",
            param="amount",
            code="amount_too_large",
        )
    reason = p.str("reason", choices=("duplicate", "fraudulent", "requested_by_customer"))
    reverse_transfer = p.bool("reverse_transfer", False)
    refund_app_fee = p.bool("refund_application_fee", False)
    transfer = ctx.state.get(charge.private["transfer"]) if charge.private.get("transfer") else None
    if reverse_transfer and transfer is None:
        raise invalid(
            "You cannot reverse a transfer for a charge that has no associated transfer.",
            "reverse_transfer",
        )
    fee = (
        ctx.state.get(charge.private["application_fee"])
        if charge.private.get("application_fee")
        else None
    )
    if refund_app_fee and fee is None and not ctx.on_connected:
        refund_app_fee = False
    completes = amount == remaining
    re_id = ctx.state.new_id("re")
    txn = add_txn(
        ctx.state,
        charge.owner,
        amount=-amount,
        currency=ch["currency"],
        txn_type="refund",
        source=re_id,
        immediate=True,
    )
    outcome = ctx.state.next_refund_outcome
    ctx.state.next_refund_outcome = None
    refund = conform(
        {
            "id": re_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": txn["id"],
            "charge": ch["id"],
            "created": ctx.now,
            "currency": ch["currency"],
            "destination_details": {
                "card": {
                    "reference": ctx.state.secret(12),
                    "reference_status": "available",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund",
                },
                "type": "card",
            },
            "metadata": p.metadata() or {},
            "payment_intent": ch["payment_intent"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "pending" if outcome else "succeeded",
            "transfer_reversal": None,
        }
    )
    ctx.state.add(refund, charge.owner, charge=ch["id"], planned=outcome)
    previous = {"amount_refunded": ch["amount_refunded"], "refunded": ch["refunded"]}
    ch["amount_refunded"] += amount
    ch["refunded"] = ch["amount_refunded"] >= ch["amount_captured"]
    ch["refunds"] = {**ch["refunds"], "data": [refund, *ch["refunds"]["data"]][:10]}
    if reverse_transfer and transfer is not None:
        tr = transfer.obj
        left = tr["amount"] - tr["amount_reversed"]
        share = (
            left
            if completes
            else min(left, money.proportional(amount, ch["amount_captured"], tr["amount"]))
        )
        if share > 0:
            trr = reverse(ctx, transfer, share, source_refund=re_id)
            refund["transfer_reversal"] = trr.obj["id"]
    if refund_app_fee and fee is not None:
        f = fee.obj
        left = f["amount"] - f["amount_refunded"]
        share = (
            left
            if completes
            else min(left, money.proportional(amount, ch["amount_captured"], f["amount"]))
        )
        if share > 0:
            refund_fee(ctx, fee, share)
    ctx.emit_on(charge.owner, "refund.created", refund)
    ctx.emit_on(charge.owner, "charge.refunded", ch, previous)
    return refund


def settle_refund(ctx: Ctx, stored: Stored, outcome: str) -> None:
    """Move a ``pending`` refund to ``succeeded`` or ``failed`` (test control)."""
    refund = stored.obj
    if refund["status"] != "pending":
        raise invalid(f"Refund {refund['id']} is not pending.")
    charge = ctx.state.get(refund["charge"])
    previous = {"status": "pending"}
    refund["status"] = outcome
    if outcome == "failed" and charge is not None:
        ch = charge.obj
        txn = add_txn(
            ctx.state,
            stored.owner,
            amount=refund["amount"],
            currency=refund["currency"],
            txn_type="refund_failure",
            source=refund["id"],
            immediate=True,
        )
        stored.private["failure_balance_transaction"] = txn["id"]
        ch["amount_refunded"] -= refund["amount"]
        ch["refunded"] = ch["amount_refunded"] >= ch["amount_captured"]
    if charge is not None:
        charge.obj["refunds"]["data"] = [
            copy.deepcopy(refund) if r["id"] == refund["id"] else r
            for r in charge.obj["refunds"]["data"]
        ]
    ctx.emit_on(stored.owner, "refund.updated", refund, previous)
    ctx.emit_on(stored.owner, "charge.refund.updated", refund, previous)
    if outcome == "failed":
        ctx.emit_on(stored.owner, "refund.failed", refund, previous)


@route("GET", "/v1/refunds/{id}")
def retrieve_refund(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "refund").obj


@route("POST", "/v1/refunds/{id}")
def update_refund(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {"metadata": "any"})
    stored = ctx.load(ctx.args["id"], "refund")
    before = copy.deepcopy(stored.obj["metadata"])
    stored.obj["metadata"] = merge_metadata(stored.obj["metadata"], ctx.params.metadata())
    if before != stored.obj["metadata"]:
        ctx.emit_on(stored.owner, "refund.updated", stored.obj, {"metadata": before})
        ctx.emit_on(stored.owner, "charge.refund.updated", stored.obj, {"metadata": before})
    return stored.obj


@route("GET", "/v1/refunds", query=(*PAGING, "charge", "payment_intent"))
def list_refunds(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "refund")]
    if charge := p.str("charge"):
        items = [i for i in items if i["charge"] == charge]
    if pi := p.str("payment_intent"):
        items = [i for i in items if i["payment_intent"] == pi]
    return list_object(ctx, created_filter(p, items), "/v1/refunds")


@route("GET", "/v1/charges/{id}/refunds", query=PAGING)
def list_charge_refunds(ctx: Ctx) -> dict[str, Any]:
    charge = ctx.load(ctx.args["id"], "charge")
    items = [
        s.obj
        for s in ctx.state.all_of(ctx.account, "refund")
        if s.obj["charge"] == charge.obj["id"]
    ]
    return list_object(ctx, items, f"/v1/charges/{charge.obj['id']}/refunds")
