"""Transfers to connected accounts, transfer reversals, application fees and fee refunds.

A transfer debits the platform and credits the destination through a
``py_`` payment (an ``object: "charge"`` on the connected account).  A
reversal does the opposite through a ``pyr_`` refund of that payment.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator.core import APPLICATION, PAGING, Ctx, created_filter, emit, list_object, route
from stripe_emulator.ledger import add_txn, available, balances
from stripe_emulator.resources.accounts import check_destination
from stripe_emulator.schema import conform
from stripe_emulator.state import Stored
from stripe_emulator.wire import StripeError, check_unknown, invalid, merge_metadata, not_found


def create_transfer_record(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    destination: str,
    source_transaction: str | None,
    transfer_group: str | None,
    app_fee: int = 0,
    available_on: int | None = None,
    description: str | None = None,
    metadata: dict[str, str] | None = None,
) -> tuple[Stored, Stored]:
    """Move ``amount`` from the platform to ``destination``; returns (transfer, payment)."""
    state = ctx.state
    tr_id = state.new_id("tr")
    py_id = state.new_id("py")
    platform_txn = add_txn(
        state,
        ctx.platform,
        amount=-amount,
        currency=currency,
        txn_type="transfer",
        source=tr_id,
        available_on=available_on,
        immediate=available_on is None,
    )
    fee_details = []
    if app_fee:
        fee_details.append(
            {
                "amount": app_fee,
                "application": APPLICATION,
                "currency": currency,
                "description": "Application fee",
                "type": "application_fee",
            }
        )
    dest_txn = add_txn(
        state,
        destination,
        amount=amount,
        currency=currency,
        txn_type="payment",
        source=py_id,
        fee=app_fee,
        fee_details=fee_details,
    )
    payment = conform(
        {
            "id": py_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "application": APPLICATION,
            "application_fee": None,
            "application_fee_amount": app_fee or None,
            "balance_transaction": dest_txn["id"],
            "billing_details": {
                "address": None,
                "email": None,
                "name": None,
                "phone": None,
                "tax_id": None,
            },
            "calculated_statement_descriptor": None,
            "captured": True,
            "created": ctx.now,
            "currency": currency,
            "customer": None,
            "description": None,
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": None,
            "failure_message": None,
            "fraud_details": {},
            "livemode": False,
            "metadata": {},
            "on_behalf_of": None,
            "outcome": None,
            "paid": True,
            "payment_intent": None,
            "payment_method": None,
            "payment_method_details": {"stripe_account": {}, "type": "stripe_account"},
            "receipt_email": None,
            "receipt_number": None,
            "receipt_url": None,
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/charges/{py_id}/refunds",
            },
            "review": None,
            "shipping": None,
            "source": None,
            "source_transfer": tr_id,
            "statement_descriptor": None,
            "statement_descriptor_suffix": None,
            "status": "succeeded",
            "transfer_data": None,
            "transfer_group": transfer_group,
        }
    )
    payment_stored = state.add(payment, destination, transfer=tr_id)
    transfer = conform(
        {
            "id": tr_id,
            "object": "transfer",
            "amount": amount,
            "amount_reversed": 0,
            "balance_transaction": platform_txn["id"],
            "created": ctx.now,
            "currency": currency,
            "description": description,
            "destination": destination,
            "destination_payment": py_id,
            "livemode": False,
            "metadata": metadata or {},
            "reversals": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/transfers/{tr_id}/reversals",
            },
            "reversed": False,
            "source_transaction": source_transaction,
            "source_type": "card",
            "transfer_group": transfer_group,
        }
    )
    transfer_stored = state.add(transfer, ctx.platform, payment=py_id)
    emit(state, ctx.platform, "transfer.created", transfer)
    return transfer_stored, payment_stored


def reverse(
    ctx: Ctx,
    transfer: Stored,
    amount: int,
    *,
    source_refund: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Stored:
    """Take ``amount`` of a transfer back from the connected account."""
    state = ctx.state
    tr = transfer.obj
    remaining = tr["amount"] - tr["amount_reversed"]
    if amount > remaining:
        raise invalid(
            f"You cannot reverse more than the remaining amount of the transfer ({remaining}).",
            "amount",
        )
    trr_id = state.new_id("trr")
    pyr_id = state.new_id("pyr")
    dest = tr["destination"]
    platform_txn = add_txn(
        state,
        ctx.platform,
        amount=amount,
        currency=tr["currency"],
        txn_type="transfer_refund",
        source=trr_id,
        immediate=True,
    )
    dest_txn = add_txn(
        state,
        dest,
        amount=-amount,
        currency=tr["currency"],
        txn_type="payment_refund",
        source=pyr_id,
        immediate=True,
    )
    payment = state.get(tr["destination_payment"])
    pyr = conform(
        {
            "id": pyr_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": dest_txn["id"],
            "charge": tr["destination_payment"],
            "created": ctx.now,
            "currency": tr["currency"],
            "destination_details": None,
            "metadata": {},
            "payment_intent": None,
            "reason": None,
            "receipt_number": None,
            "source_transfer_reversal": trr_id,
            "status": "succeeded",
            "transfer_reversal": None,
        }
    )
    state.add(pyr, dest)
    if payment is not None:
        payment.obj["amount_refunded"] += amount
        payment.obj["refunded"] = payment.obj["amount_refunded"] >= payment.obj["amount"]
    reversal = conform(
        {
            "id": trr_id,
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": platform_txn["id"],
            "created": ctx.now,
            "currency": tr["currency"],
            "destination_payment_refund": pyr_id,
            "metadata": metadata or {},
            "source_refund": source_refund,
            "transfer": tr["id"],
        }
    )
    stored = state.add(reversal, ctx.platform)
    previous = {"amount_reversed": tr["amount_reversed"], "reversed": tr["reversed"]}
    tr["amount_reversed"] += amount
    tr["reversed"] = tr["amount_reversed"] >= tr["amount"]
    tr["reversals"] = {
        **tr["reversals"],
        "data": [reversal, *tr["reversals"]["data"]][:10],
        "has_more": len(tr["reversals"]["data"]) >= 10,
    }
    emit(state, ctx.platform, "transfer.reversed", tr, previous=previous)
    return stored


def refund_fee(
    ctx: Ctx, fee: Stored, amount: int, metadata: dict[str, str] | None = None
) -> Stored:
    """Give ``amount`` of an application fee back to the connected account."""
    state = ctx.state
    obj = fee.obj
    remaining = obj["amount"] - obj["amount_refunded"]
    if amount > remaining:
        raise invalid(
            f"Refund amount ({amount}) is greater than unrefunded amount on fee ({remaining})",
            "amount",
        )
    fr_id = state.new_id("fr")
    txn = add_txn(
        state,
        ctx.platform,
        amount=-amount,
        currency=obj["currency"],
        txn_type="application_fee_refund",
        source=fr_id,
        immediate=True,
    )
    if obj["account"] and obj["account"] != ctx.platform:
        add_txn(
            state,
            obj["account"],
            amount=amount,
            currency=obj["currency"],
            txn_type="application_fee_refund",
            source=fr_id,
            immediate=True,
        )
    fr = conform(
        {
            "id": fr_id,
            "object": "fee_refund",
            "amount": amount,
            "balance_transaction": txn["id"],
            "created": ctx.now,
            "currency": obj["currency"],
            "fee": obj["id"],
            "metadata": metadata or {},
        }
    )
    stored = state.add(fr, ctx.platform)
    previous = {"amount_refunded": obj["amount_refunded"], "refunded": obj["refunded"]}
    obj["amount_refunded"] += amount
    obj["refunded"] = obj["amount_refunded"] >= obj["amount"]
    obj["refunds"] = {**obj["refunds"], "data": [fr, *obj["refunds"]["data"]][:10]}
    emit(state, ctx.platform, "application_fee.refunded", obj, previous=previous)
    return stored


def left_to_transfer(ctx: Ctx, charge: Stored) -> int:
    """What transfers naming ``charge`` as source_transaction may still move.

    The charge's captured amount less the unreversed part of every transfer made
    from it (a destination charge's own transfer included).
    """
    ch = charge.obj
    sent = sum(
        s.obj["amount"] - s.obj["amount_reversed"]
        for s in ctx.state.all_of(ctx.platform, "transfer")
        if s.obj["source_transaction"] == ch["id"]
    )
    return int(ch["amount_captured"]) - sent


@route("POST", "/v1/transfers")
def create_transfer(ctx: Ctx) -> dict[str, Any]:

    p = ctx.params
    check_unknown(
        p.data,
        {
            "amount": True,
            "currency": True,
            "destination": True,
            "transfer_group": True,
            "source_transaction": True,
            "metadata": "any",
            "description": True,
            "source_type": True,
        },
    )
    if ctx.on_connected:
        raise invalid("Transfers can only be created by the platform.")
    amount = p.req_int("amount", minimum=1)
    currency = p.req_str("currency").lower()
    destination = p.req_str("destination")
    check_destination(ctx, destination, "destination")
    source = p.str("source_transaction")
    available_on = None
    if source:
        charge = ctx.state.find(source, "charge", ctx.platform)
        if charge is None:
            raise StripeError(
                400,
                f"No such charge: '{source}'",
                param="source_transaction",
                code="resource_missing",
            )
        if charge.obj["currency"] != currency:
            raise invalid(
                "The currency of the transfer must match the source transaction.", "currency"
            )
        left = left_to_transfer(ctx, charge)
        if amount > left:
            raise StripeError(
                400,
                f"The transfer amount ({amount}) exceeds what is left to transfer from the "
                f"source transaction {source} ({left}): transfers that name a "
                "source_transaction cannot add up to more than its charge.",
                param="amount",
                code="amount_too_large",
            )
        txn = ctx.state.get(charge.obj["balance_transaction"] or "")
        available_on = txn.obj["available_on"] if txn else None
    elif available(ctx.state, ctx.platform, currency) < amount:
        raise StripeError(
            400,
            "You have insufficient available funds in your Stripe account. Try adding funds "
            "directly to your available balance by creating Charges using the 4000000000000077 "
            "test card. See: https://stripe.com/docs/testing#available-balance",
            code="balance_insufficient",
        )
    transfer, _ = create_transfer_record(
        ctx,
        amount=amount,
        currency=currency,
        destination=destination,
        source_transaction=source,
        transfer_group=p.str("transfer_group"),
        available_on=available_on,
        description=p.str("description"),
        metadata=p.metadata(),
    )
    return transfer.obj


@route("GET", "/v1/transfers/{id}")
def retrieve_transfer(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "transfer").obj


@route("POST", "/v1/transfers/{id}")
def update_transfer(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {"metadata": "any", "description": True})
    stored = ctx.load(ctx.args["id"], "transfer")
    stored.obj["metadata"] = merge_metadata(stored.obj["metadata"], ctx.params.metadata())
    if "description" in ctx.params:
        stored.obj["description"] = ctx.params.str("description")
    return stored.obj


@route("GET", "/v1/transfers", query=(*PAGING, "destination", "transfer_group"))
def list_transfers(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "transfer")]
    if dest := p.str("destination"):
        items = [i for i in items if i["destination"] == dest]
    if group := p.str("transfer_group"):
        items = [i for i in items if i["transfer_group"] == group]
    return list_object(ctx, created_filter(p, items), "/v1/transfers")


@route("POST", "/v1/transfers/{id}/reversals")
def create_reversal(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {"amount": True, "metadata": "any", "refund_application_fee": True, "description": True},
    )
    transfer = ctx.load(ctx.args["id"], "transfer")
    remaining = transfer.obj["amount"] - transfer.obj["amount_reversed"]
    if remaining <= 0:
        raise invalid(f"Transfer {transfer.obj['id']} has already been fully reversed.")
    amount = p.int("amount", minimum=1) or remaining
    if not _from_destination_charge(ctx, transfer):
        # Only a destination charge's transfer may be reversed into a negative balance.
        dest = transfer.obj["destination"]
        held = balances(ctx.state, dest).get(transfer.obj["currency"], {})
        if held.get("available", 0) + held.get("pending", 0) < amount:
            raise StripeError(
                400,
                f"Insufficient funds in the destination account {dest} to reverse "
                f"{amount} of transfer {transfer.obj['id']}: a transfer that was not made "
                "for a destination charge can only be reversed while the account's "
                "balance covers it.",
                code="balance_insufficient",
            )
    return reverse(ctx, transfer, amount, metadata=p.metadata()).obj


def _from_destination_charge(ctx: Ctx, transfer: Stored) -> bool:
    source = transfer.obj["source_transaction"]
    charge = ctx.state.get(source) if source else None
    return charge is not None and charge.private.get("transfer") == transfer.obj["id"]


@route("GET", "/v1/transfers/{id}/reversals", query=PAGING)
def list_reversals(ctx: Ctx) -> dict[str, Any]:
    transfer = ctx.load(ctx.args["id"], "transfer")
    items = [
        s.obj
        for s in ctx.state.all_of(ctx.platform, "transfer_reversal")
        if s.obj["transfer"] == transfer.obj["id"]
    ]
    return list_object(ctx, items, f"/v1/transfers/{transfer.obj['id']}/reversals")


@route("GET", "/v1/transfers/{id}/reversals/{rev}")
def retrieve_reversal(ctx: Ctx) -> dict[str, Any]:
    transfer = ctx.load(ctx.args["id"], "transfer")
    rev = ctx.load(ctx.args["rev"], "transfer_reversal")
    if rev.obj["transfer"] != transfer.obj["id"]:
        raise not_found("transfer_reversal", ctx.args["rev"])
    return rev.obj


# --------------------------------------------------------------------------- application fees


@route("GET", "/v1/application_fees/{id}")
def retrieve_fee(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "application_fee").obj


@route("GET", "/v1/application_fees", query=(*PAGING, "charge"))
def list_fees(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "application_fee")]
    if charge := p.str("charge"):
        items = [i for i in items if charge in (i["charge"], i["originating_transaction"])]
    return list_object(ctx, created_filter(p, items), "/v1/application_fees")


@route("POST", "/v1/application_fees/{id}/refunds")
def create_fee_refund(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, {"amount": True, "metadata": "any"})
    fee = ctx.load(ctx.args["id"], "application_fee")
    remaining = fee.obj["amount"] - fee.obj["amount_refunded"]
    if remaining <= 0:
        raise invalid(f"Application fee {fee.obj['id']} has already been refunded.")
    amount = p.int("amount", minimum=1) or remaining
    return refund_fee(ctx, fee, amount, p.metadata()).obj


@route("GET", "/v1/application_fees/{id}/refunds", query=PAGING)
def list_fee_refunds(ctx: Ctx) -> dict[str, Any]:
    fee = ctx.load(ctx.args["id"], "application_fee")
    items = [
        s.obj for s in ctx.state.all_of(ctx.platform, "fee_refund") if s.obj["fee"] == fee.obj["id"]
    ]
    return list_object(ctx, items, f"/v1/application_fees/{fee.obj['id']}/refunds")


@route("GET", "/v1/application_fees/{id}/refunds/{fr}")
def retrieve_fee_refund(ctx: Ctx) -> dict[str, Any]:
    fee = ctx.load(ctx.args["id"], "application_fee")
    fr = ctx.load(ctx.args["fr"], "fee_refund")
    if fr.obj["fee"] != fee.obj["id"]:
        raise not_found("fee_refund", ctx.args["fr"])
    return copy.deepcopy(fr.obj)
