"""Charges: building them, moving a captured charge's money, and ``/v1/charges``.

:func:`capture_funds` applies the destination-charge model documented in
:mod:`stripe_emulator.money`: processing fee on the charge, transfer to the
destination (a ``py_`` payment there), and the application fee back to the
platform.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator import money
from stripe_emulator.cards import Card
from stripe_emulator.core import (
    APPLICATION,
    PAGING,
    Ctx,
    changed,
    created_filter,
    emit,
    list_object,
    route,
)
from stripe_emulator.ledger import add_txn, stripe_fee_detail
from stripe_emulator.schema import conform
from stripe_emulator.state import Stored
from stripe_emulator.wire import check_unknown, merge_metadata


def card_details(
    ctx: Ctx, pm: Stored, card: Card, amount: int, authenticated: bool
) -> dict[str, Any]:
    c = pm.obj["card"]
    return {
        "card": {
            "amount_authorized": amount,
            "authorization_code": ctx.state.secret(6).upper(),
            "brand": card.brand,
            "checks": c["checks"],
            "country": card.country,
            "exp_month": c["exp_month"],
            "exp_year": c["exp_year"],
            "extended_authorization": {"status": "disabled"},
            "fingerprint": c["fingerprint"],
            "funding": card.funding,
            "incremental_authorization": {"status": "unavailable"},
            "installments": None,
            "last4": card.last4,
            "mandate": None,
            "multicapture": {"status": "unavailable"},
            "network": card.brand,
            "network_token": {"used": False},
            "network_transaction_id": ctx.state.secret(15),
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "regulated_status": "unregulated",
            "three_d_secure": {
                "authentication_flow": "challenge",
                "electronic_commerce_indicator": "05",
                "exemption_indicator": None,
                "result": "authenticated",
                "result_reason": None,
                "transaction_id": ctx.state.secret(20),
                "version": "2.2.0",
            }
            if authenticated
            else None,
            "wallet": None,
        },
        "type": "card",
    }


def build_charge(
    ctx: Ctx,
    stored_pi: Stored,
    pm: Stored,
    card: Card,
    *,
    status: str,
    captured: bool,
    authenticated: bool,
    failure: tuple[str, str, str] | None = None,
) -> Stored:
    pi = stored_pi.obj
    ch_id = ctx.state.new_id("ch")
    outcome = {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "risk_score": 27,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }
    if failure is not None:
        _code, decline_code, _message = failure
        outcome.update(
            network_status="declined_by_network",
            reason=decline_code,
            seller_message="The bank did not return any further details with this decline.",
            type="issuer_declined",
        )
    charge = conform(
        {
            "id": ch_id,
            "object": "charge",
            "amount": pi["amount"],
            "amount_captured": pi["amount"] if captured else 0,
            "amount_refunded": 0,
            "application": None,
            "application_fee": None,
            "application_fee_amount": pi["application_fee_amount"],
            "balance_transaction": None,
            "billing_details": copy.deepcopy(pm.obj["billing_details"]),
            "calculated_statement_descriptor": (pi["statement_descriptor"] or "STOREPLEX")[:22],
            "captured": captured,
            "created": ctx.now,
            "currency": pi["currency"],
            "customer": pi["customer"],
            "description": pi["description"],
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": failure[0] if failure else None,
            "failure_message": failure[2] if failure else None,
            "fraud_details": {},
            "livemode": False,
            "metadata": dict(pi["metadata"]),
            "on_behalf_of": pi["on_behalf_of"],
            "outcome": outcome,
            "paid": status == "succeeded",
            "payment_intent": pi["id"],
            "payment_method": pm.obj["id"],
            "payment_method_details": card_details(ctx, pm, card, pi["amount"], authenticated),
            "receipt_email": pi["receipt_email"],
            "receipt_number": None,
            "receipt_url": ctx.url(f"/_emulator/receipts/{ch_id}"),
            "refunded": False,
            "refunds": {
                "object": "list",
                "data": [],
                "has_more": False,
                "url": f"/v1/charges/{ch_id}/refunds",
            },
            "review": None,
            "shipping": copy.deepcopy(pi["shipping"]),
            "source": None,
            "source_transfer": None,
            "statement_descriptor": pi["statement_descriptor"],
            "statement_descriptor_suffix": pi["statement_descriptor_suffix"],
            "status": status,
            "transfer_data": copy.deepcopy(pi["transfer_data"]),
            "transfer_group": pi["transfer_group"],
        }
    )
    if pi["transfer_data"]:
        charge["transfer"] = None
    return ctx.state.add(charge, stored_pi.owner)


def capture_funds(ctx: Ctx, stored_pi: Stored, charge: Stored, amount: int) -> None:
    """Money movements of a captured charge (see :mod:`stripe_emulator.money`)."""
    pi = stored_pi.obj
    ch = charge.obj
    owner = stored_pi.owner
    currency = ch["currency"]
    fee = money.processing_fee(amount, currency)
    app_fee = pi["application_fee_amount"] or 0
    direct_fee = app_fee if (owner != ctx.platform and app_fee) else 0
    fee_details = [stripe_fee_detail(fee, currency)]
    if direct_fee:
        fee_details.append(
            {
                "amount": direct_fee,
                "application": APPLICATION,
                "currency": currency,
                "description": "Application fee",
                "type": "application_fee",
            }
        )
    txn = add_txn(
        ctx.state,
        owner,
        amount=amount,
        currency=currency,
        txn_type="charge",
        source=ch["id"],
        fee=fee + direct_fee,
        fee_details=fee_details,
        description=pi["description"],
    )
    ch.update(balance_transaction=txn["id"], captured=True, amount_captured=amount, paid=True)
    fee_charge = ch["id"]
    fee_account = owner
    if pi["transfer_data"]:
        from stripe_emulator.resources.transfers import create_transfer_record

        dest = pi["transfer_data"]["destination"]
        transfer_amount = min(pi["transfer_data"].get("amount") or amount, amount)
        group = pi["transfer_group"] or f"group_{pi['id']}"
        transfer, payment = create_transfer_record(
            ctx,
            amount=transfer_amount,
            currency=currency,
            destination=dest,
            source_transaction=ch["id"],
            transfer_group=group,
            app_fee=app_fee,
            available_on=txn["available_on"],
        )
        ch["transfer"] = transfer.obj["id"]
        ch["transfer_group"] = group
        charge.private.update(transfer=transfer.obj["id"], payment=payment.obj["id"])
        fee_charge = payment.obj["id"]
        fee_account = dest
    if app_fee and (pi["transfer_data"] or direct_fee):
        fee_id = ctx.state.new_id("fee")
        fee_txn = add_txn(
            ctx.state,
            ctx.platform,
            amount=app_fee,
            currency=currency,
            txn_type="application_fee",
            source=fee_id,
            available_on=txn["available_on"],
        )
        fee_obj = conform(
            {
                "id": fee_id,
                "object": "application_fee",
                "account": fee_account,
                "amount": app_fee,
                "amount_refunded": 0,
                "application": APPLICATION,
                "balance_transaction": fee_txn["id"],
                "charge": fee_charge,
                "created": ctx.now,
                "currency": currency,
                "fee_source": {"charge": fee_charge, "type": "charge"},
                "livemode": False,
                "originating_transaction": ch["id"] if fee_charge != ch["id"] else None,
                "refunded": False,
                "refunds": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "url": f"/v1/application_fees/{fee_id}/refunds",
                },
            }
        )
        ctx.state.add(fee_obj, ctx.platform, charge=ch["id"])
        ch["application_fee"] = fee_id
        charge.private["application_fee"] = fee_id
        emit(ctx.state, ctx.platform, "application_fee.created", fee_obj)


@route("GET", "/v1/charges/{id}")
def retrieve_charge(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "charge").obj


@route("POST", "/v1/charges/{id}")
def update_charge(ctx: Ctx) -> dict[str, Any]:
    check_unknown(
        ctx.params.data,
        {
            "metadata": "any",
            "description": True,
            "receipt_email": True,
            "fraud_details": "any",
            "shipping": "any",
            "transfer_group": True,
        },
    )
    stored = ctx.load(ctx.args["id"], "charge")
    before = copy.deepcopy(stored.obj)
    p = ctx.params
    stored.obj["metadata"] = merge_metadata(stored.obj["metadata"], p.metadata())
    for key in ("description", "receipt_email", "transfer_group"):
        if key in p:
            stored.obj[key] = p.str(key)
    previous = changed(before, stored.obj)
    if previous:
        ctx.emit("charge.updated", stored.obj, previous)
    return stored.obj


@route("GET", "/v1/charges", query=(*PAGING, "payment_intent", "customer", "transfer_group"))
def list_charges(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "charge")]
    if pi := p.str("payment_intent"):
        items = [i for i in items if i["payment_intent"] == pi]
    if customer := p.str("customer"):
        items = [i for i in items if i["customer"] == customer]
    if group := p.str("transfer_group"):
        items = [i for i in items if i["transfer_group"] == group]
    items = created_filter(p, items)
    return list_object(ctx, items, "/v1/charges")
