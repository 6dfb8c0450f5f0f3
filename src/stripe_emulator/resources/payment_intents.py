"""Payment intents and the charges they create (destination charges, 3-D Secure, declines).

Confirming runs the test card's behaviour (:mod:`stripe_emulator.cards`):
success creates a ``ch_`` charge and moves money as described in
:mod:`stripe_emulator.money`; a decline answers 402 ``card_error`` and leaves the
intent in ``requires_payment_method`` with ``last_payment_error``; cards that
need authentication answer ``requires_action`` with a ``redirect_to_url`` to the
hosted 3-D Secure page (:mod:`stripe_emulator.hosted`), which calls
:func:`finish_authentication`.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from stripe_emulator import money
from stripe_emulator.cards import Card, lookup_number
from stripe_emulator.core import PAGING, Ctx, created_filter, list_object, route
from stripe_emulator.resources.accounts import check_destination
from stripe_emulator.resources.charges import build_charge, capture_funds
from stripe_emulator.resources.customers import (
    attach,
    create_payment_method,
    resolve_payment_method,
)
from stripe_emulator.schema import conform
from stripe_emulator.state import Stored
from stripe_emulator.wire import Params, StripeError, check_unknown, invalid, merge_metadata

ADDRESS = {
    "city": True,
    "country": True,
    "line1": True,
    "line2": True,
    "postal_code": True,
    "state": True,
}
SHIPPING = {
    "address": ADDRESS,
    "name": True,
    "phone": True,
    "carrier": True,
    "tracking_number": True,
}
PMD = {"type": True, "card": "any", "billing_details": "any", "metadata": "any"}
COMMON_SPEC: dict[str, Any] = {
    "amount": True,
    "currency": True,
    "application_fee_amount": True,
    "transfer_data": {"destination": True, "amount": True},
    "on_behalf_of": True,
    "automatic_payment_methods": {"enabled": True, "allow_redirects": True},
    "payment_method_types": [True],
    "payment_method": True,
    "customer": True,
    "setup_future_usage": True,
    "confirm": True,
    "capture_method": True,
    "metadata": "any",
    "receipt_email": True,
    "description": True,
    "statement_descriptor": True,
    "statement_descriptor_suffix": True,
    "return_url": True,
    "off_session": True,
    "transfer_group": True,
    "confirmation_method": True,
    "payment_method_options": "any",
    "payment_method_data": PMD,
    "shipping": SHIPPING,
    "error_on_requires_action": True,
    "use_stripe_sdk": True,
    "mandate_data": "any",
    "excluded_payment_method_types": [True],
    "payment_method_configuration": True,
}
UPDATE_KEYS = (
    "amount",
    "currency",
    "application_fee_amount",
    "metadata",
    "description",
    "receipt_email",
    "customer",
    "payment_method",
    "setup_future_usage",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "transfer_data",
    "transfer_group",
    "shipping",
    "payment_method_types",
    "capture_method",
    "payment_method_options",
    "payment_method_data",
)
CONFIRM_KEYS = (
    "payment_method",
    "return_url",
    "off_session",
    "setup_future_usage",
    "receipt_email",
    "payment_method_data",
    "mandate_data",
    "use_stripe_sdk",
    "error_on_requires_action",
    "capture_method",
    "payment_method_options",
    "shipping",
    "payment_method_types",
)
EDITABLE = ("requires_payment_method", "requires_confirmation", "requires_action")


def _unexpected(pi: dict[str, Any], action: str) -> StripeError:
    return StripeError(
        400,
        f"This PaymentIntent's {action} could not be performed because it has a status of "
        f"{pi['status']}.",
        code="payment_intent_unexpected_state",
        extra={"payment_intent": copy.deepcopy(pi)},
    )


def _validate_amounts(ctx: Ctx, amount: int, currency: str, pi: dict[str, Any]) -> None:
    if currency not in money.SUPPORTED:
        raise invalid(
            f"Invalid currency: {currency}. Stripe currently supports these currencies: "
            + ", ".join(sorted(money.SUPPORTED)),
            "currency",
        )
    if amount < money.minimum(currency):
        raise StripeError(
            400,
            "Amount must be at least "
            f"{money.display(money.minimum(currency), currency)} {currency}",
            param="amount",
            code="amount_too_small",
        )
    if amount > 99_999_999:
        raise StripeError(
            400, "Amount must be no more than 999,999.99", param="amount", code="amount_too_large"
        )
    if money.exponent(currency) == 3 and amount % 10:
        raise invalid("Amounts in three-decimal currencies must end in 0.", "amount")
    fee = pi.get("application_fee_amount")
    transfer = pi.get("transfer_data") or {}
    if fee is not None:
        if fee > amount:
            raise invalid(
                "The application fee amount must be less "
                "than or equal to the PaymentIntent amount.",
                "application_fee_amount",
            )
        if not transfer and not ctx.on_connected:
            raise invalid(
                "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
                "direct payment (using an OAuth key or Stripe-Account header) or destination "
                "payment (using `transfer_data[destination]`).",
                "application_fee_amount",
            )
    if transfer.get("amount") is not None:
        if fee is not None:
            raise invalid(
                "You cannot specify both `application_fee_amount` and `transfer_data[amount]`.",
                "transfer_data[amount]",
            )
        if transfer["amount"] > amount:
            raise invalid(
                "The transfer amount must be less than or equal to the PaymentIntent amount.",
                "transfer_data[amount]",
            )


def _apply(ctx: Ctx, pi: dict[str, Any], keys: tuple[str, ...] | None = None) -> None:
    """Copy simple parameters onto the intent (create and update share this)."""
    p = ctx.params
    present = [k for k in p.data if keys is None or k in keys]
    if "amount" in present:
        pi["amount"] = p.req_int("amount", minimum=1)
    if "currency" in present:
        pi["currency"] = p.req_str("currency").lower()
    if "application_fee_amount" in present:
        pi["application_fee_amount"] = p.int("application_fee_amount", minimum=0)
    for key in (
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "transfer_group",
    ):
        if key in present:
            pi[key] = p.str(key)
    if (
        "statement_descriptor" in present
        and pi["statement_descriptor"]
        and len(pi["statement_descriptor"]) > 22
    ):
        raise invalid(
            "The statement descriptor must be at most 22 characters.", "statement_descriptor"
        )
    if "setup_future_usage" in present:
        pi["setup_future_usage"] = p.str(
            "setup_future_usage", choices=("on_session", "off_session")
        )
    if "capture_method" in present:
        pi["capture_method"] = p.str(
            "capture_method", choices=("automatic", "automatic_async", "manual")
        )
    if "metadata" in present:
        pi["metadata"] = merge_metadata(pi["metadata"], p.metadata())
    if "customer" in present:
        cus_id = p.str("customer")
        if cus_id and ctx.state.find(cus_id, "customer", ctx.account) is None:
            raise StripeError(
                400, f"No such customer: '{cus_id}'", param="customer", code="resource_missing"
            )
        pi["customer"] = cus_id
    if "payment_method_types" in present:
        pi["payment_method_types"] = p.list("payment_method_types") or ["card"]
        bad = [t for t in pi["payment_method_types"] if t not in ("card", "link")]
        if bad:
            raise invalid(
                f"The payment method type provided: {bad[0]} is invalid.", "payment_method_types"
            )
    if "shipping" in present:
        ship = p.hash("shipping")
        address = dict.fromkeys(ADDRESS)
        address.update(ship.hash("address").data)
        pi["shipping"] = {
            "address": address,
            "carrier": ship.str("carrier"),
            "name": ship.str("name"),
            "phone": ship.str("phone"),
            "tracking_number": ship.str("tracking_number"),
        }
    if "transfer_data" in present:
        td = p.hash("transfer_data")
        if keys is not None and "destination" in td:
            raise invalid(
                "You cannot update `transfer_data[destination]`.", "transfer_data[destination]"
            )
        if keys is None:
            dest = td.req_str("destination")
            check_destination(ctx, dest, "transfer_data[destination]")
            pi["transfer_data"] = {"destination": dest}
        if "amount" in td:
            if not pi["transfer_data"]:
                raise invalid(
                    "transfer_data[amount] needs transfer_data[destination].",
                    "transfer_data[amount]",
                )
            pi["transfer_data"]["amount"] = td.int("amount", minimum=0)


def build_intent(ctx: Ctx) -> dict[str, Any]:
    pi_id = ctx.state.new_id("pi")
    p = ctx.params
    apm = p.hash("automatic_payment_methods")
    pmt = p.list("payment_method_types")
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": None,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None
        if pmt
        else {
            "allow_redirects": apm.str("allow_redirects") or "always",
            "enabled": apm.bool("enabled", True),
        },
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pi_id}_secret_{ctx.state.secret(25)}",
        "confirmation_method": p.str("confirmation_method", choices=("automatic", "manual"))
        or "automatic",
        "created": ctx.now,
        "currency": None,
        "customer": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": False,
        "metadata": {},
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": None,
        "payment_method_configuration_details": None,
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            }
        },
        "payment_method_types": pmt or ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


@route("POST", "/v1/payment_intents")
def create_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, COMMON_SPEC)
    p.req_int("amount", minimum=1)
    p.req_str("currency")
    pi = build_intent(ctx)
    _apply(ctx, pi)
    if obo := p.str("on_behalf_of"):
        check_destination(ctx, obo, "on_behalf_of")
        pi["on_behalf_of"] = obo
    _validate_amounts(ctx, pi["amount"], pi["currency"], pi)
    off_session = p.bool("off_session") or False
    confirm = p.bool("confirm") or False
    pm: Stored | None = None  # resolved before anything is stored, so a bad id creates nothing
    if pm_id := p.str("payment_method"):
        pm = resolve_payment_method(ctx, pm_id)
    elif p.raw("payment_method_data"):
        pm = _pm_from_data(ctx)
    if pm is not None:
        pi["payment_method"] = pm.obj["id"]
        pi["status"] = "requires_confirmation"
    pi = conform(pi)
    stored = ctx.state.add(pi, ctx.account, return_url=p.str("return_url"))
    ctx.emit("payment_intent.created", pi)
    if confirm:
        _confirm(ctx, stored, off_session)
    return pi


def _pm_from_data(ctx: Ctx) -> Stored:
    """A new payment method from ``payment_method_data`` (as Stripe.js sends it)."""
    data = ctx.params.hash("payment_method_data").data
    obj = create_payment_method(dataclasses.replace(ctx, params=Params(data)))
    stored = ctx.state.get(obj["id"])
    assert stored is not None
    return stored


def _load_intent(ctx: Ctx) -> Stored:
    stored = ctx.load(ctx.args["id"], "payment_intent")
    if ctx.publishable:
        secret = ctx.params.str("client_secret")
        if secret != stored.obj["client_secret"]:
            raise StripeError(
                400 if secret else 403,
                "The client_secret provided does not match the "
                "client_secret associated with the PaymentIntent."
                if secret
                else (
                    "This API call cannot be made with a publishable "
                    "API key. Please use a secret API key."
                ),
                param="client_secret" if secret else None,
                code="payment_intent_invalid_parameter" if secret else "secret_key_required",
                type="invalid_request_error",
            )
    return stored


@route("GET", "/v1/payment_intents/{id}", publishable=True, query=("client_secret",))
def retrieve_intent(ctx: Ctx) -> dict[str, Any]:
    return _load_intent(ctx).obj


@route("POST", "/v1/payment_intents/{id}")
def update_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, {k: COMMON_SPEC[k] for k in UPDATE_KEYS})
    stored = _load_intent(ctx)
    pi = stored.obj
    if (
        set(p.data) - {"metadata", "description", "receipt_email", "shipping", "expand"}
        and pi["status"] not in EDITABLE
    ):
        raise StripeError(
            400,
            "This PaymentIntent's amount could not be updated "
            f"because it has a status of {pi['status']}. "
            "You may only update the amount of a PaymentIntent with one of the following statuses: "
            "requires_payment_method, requires_confirmation, requires_action.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": copy.deepcopy(pi)},
        )
    candidate = copy.deepcopy(pi)
    _apply(ctx, candidate, UPDATE_KEYS)
    _validate_amounts(ctx, candidate["amount"], candidate["currency"], candidate)
    if pm_id := p.str("payment_method"):
        candidate["payment_method"] = resolve_payment_method(ctx, pm_id).obj["id"]
        candidate["status"] = "requires_confirmation"
    pi.update(candidate)
    if pi["status"] == "requires_action" and ("amount" in p or "payment_method" in p):
        pi["status"] = (
            "requires_confirmation" if pi["payment_method"] else "requires_payment_method"
        )
        pi["next_action"] = None
    return pi


@route("POST", "/v1/payment_intents/{id}/confirm", publishable=True)
def confirm_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    spec = {k: COMMON_SPEC[k] for k in CONFIRM_KEYS}
    spec.update(
        client_secret=True, key=True, expected_payment_method_type=True, payment_method_data=PMD
    )
    check_unknown(p.data, spec)
    stored = _load_intent(ctx)
    pi = stored.obj
    if pi["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        if pi["status"] == "succeeded":
            raise StripeError(
                400,
                "You cannot confirm this PaymentIntent because it has already succeeded after "
                "being previously confirmed.",
                code="payment_intent_unexpected_state",
                extra={"payment_intent": copy.deepcopy(pi)},
            )
        raise _unexpected(pi, "confirmation")
    if pm_id := p.str("payment_method"):
        pi["payment_method"] = resolve_payment_method(ctx, pm_id).obj["id"]
    elif p.raw("payment_method_data"):
        pi["payment_method"] = _pm_from_data(ctx).obj["id"]
    if "setup_future_usage" in p:
        pi["setup_future_usage"] = p.str(
            "setup_future_usage", choices=("on_session", "off_session")
        )
    if "receipt_email" in p:
        pi["receipt_email"] = p.str("receipt_email")
    if "capture_method" in p:
        pi["capture_method"] = p.str(
            "capture_method", choices=("automatic", "automatic_async", "manual")
        )
    if return_url := p.str("return_url"):
        stored.private["return_url"] = return_url
    if not pi["payment_method"]:
        raise StripeError(
            400,
            "You cannot confirm this PaymentIntent because it's missing a payment method. To "
            "confirm the PaymentIntent with a payment method, provide a `payment_method`.",
            param="payment_method",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": copy.deepcopy(pi)},
        )
    _confirm(ctx, stored, p.bool("off_session") or False)
    return pi


def _confirm(ctx: Ctx, stored: Stored, off_session: bool) -> None:
    """Run the payment attempt; raises the 402 ``card_error`` on a decline."""
    pi = stored.obj
    pm = ctx.state.find(pi["payment_method"], "payment_method", stored.owner)
    if pm is None:
        raise StripeError(
            400,
            f"No such PaymentMethod: '{pi['payment_method']}'",
            param="payment_method",
            code="resource_missing",
        )
    if pi["transfer_data"]:
        check_destination(ctx, pi["transfer_data"]["destination"], "transfer_data[destination]")
    card = lookup_number(pm.private["number"])
    assert card is not None
    pm.private["used"] = True
    stored.private["off_session"] = off_session
    needs_auth = card.behavior in ("3ds_always", "3ds_then_decline") or (
        card.behavior == "3ds_unless_setup" and not (pm.private.get("set_up") and off_session)
    )
    if needs_auth:
        if off_session:
            raise decline(
                ctx,
                stored,
                pm,
                card,
                code="authentication_required",
                decline_code="authentication_required",
                message="Your card was declined. This transaction requires authentication.",
            )
        _require_action(ctx, stored)
        return
    if card.behavior == "decline":
        raise decline(ctx, stored, pm, card)
    succeed(ctx, stored, pm, card, authenticated=False)


def _require_action(ctx: Ctx, stored: Stored) -> None:
    pi = stored.obj
    token = ctx.state.secret(32)
    return_url = stored.private.get("return_url")
    ctx.state.tokens[token] = {
        "kind": "3ds",
        "object": pi["id"],
        "owner": stored.owner,
        "platform": ctx.platform,
        "return_url": return_url,
        "done": False,
    }
    pi["status"] = "requires_action"
    pi["next_action"] = {
        "type": "redirect_to_url",
        "redirect_to_url": {
            "return_url": return_url,
            "url": ctx.url(f"/_emulator/hosted/3ds/{token}"),
        },
    }
    pi["last_payment_error"] = None
    ctx.emit("payment_intent.requires_action", pi)


def decline(
    ctx: Ctx,
    stored: Stored,
    pm: Stored,
    card: Card,
    *,
    code: str | None = None,
    decline_code: str | None = None,
    message: str | None = None,
) -> StripeError:
    """Record a declined attempt (failed charge, events) and return the 402 to raise."""
    pi = stored.obj
    code = code or card.code or "card_declined"
    decline_code = decline_code or card.decline_code or "generic_decline"
    message = message or card.message or "Your card was declined."
    charge = build_charge(
        ctx,
        stored,
        pm,
        card,
        status="failed",
        captured=False,
        authenticated=False,
        failure=(code, decline_code, message),
    )
    error = {
        "advice_code": None,
        "charge": charge.obj["id"],
        "code": code,
        "decline_code": decline_code,
        "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
        "message": message,
        "network_advice_code": None,
        "network_decline_code": None,
        "param": None,
        "payment_method": copy.deepcopy(pm.obj),
        "payment_method_type": "card",
        "type": "card_error",
    }
    pi.update(
        status="requires_payment_method",
        latest_charge=charge.obj["id"],
        last_payment_error=error,
        next_action=None,
        payment_method=None,
    )
    ctx.emit_on(stored.owner, "charge.failed", charge.obj)
    ctx.emit_on(stored.owner, "payment_intent.payment_failed", pi)
    return StripeError(
        402,
        message,
        type="card_error",
        code=code,
        decline_code=decline_code,
        extra={
            "charge": charge.obj["id"],
            "payment_intent": copy.deepcopy(pi),
            "payment_method": copy.deepcopy(pm.obj),
            "advice_code": None,
        },
    )


def succeed(ctx: Ctx, stored: Stored, pm: Stored, card: Card, *, authenticated: bool) -> None:
    pi = stored.obj
    manual = pi["capture_method"] == "manual"
    charge = build_charge(
        ctx, stored, pm, card, status="succeeded", captured=not manual, authenticated=authenticated
    )
    pi.update(latest_charge=charge.obj["id"], last_payment_error=None, next_action=None)
    if pi["setup_future_usage"] and pi["customer"]:
        customer = ctx.state.find(pi["customer"], "customer", stored.owner)
        if customer is not None and pm.obj["customer"] in (None, pi["customer"]):
            pm.private["set_up"] = True
            attach(ctx, pm, customer)
    elif pi["setup_future_usage"]:
        pm.private["set_up"] = True
    if manual:
        pi.update(status="requires_capture", amount_capturable=pi["amount"])
        ctx.emit_on(stored.owner, "charge.succeeded", charge.obj)
        ctx.emit_on(stored.owner, "payment_intent.amount_capturable_updated", pi)
        return
    capture_funds(ctx, stored, charge, pi["amount"])
    pi.update(status="succeeded", amount_received=pi["amount"])
    ctx.emit_on(stored.owner, "charge.succeeded", charge.obj)
    ctx.emit_on(stored.owner, "payment_intent.succeeded", pi)
    if card.behavior == "dispute":
        from stripe_emulator.resources.disputes import open_dispute

        open_dispute(ctx, charge)


def finish_authentication(ctx: Ctx, stored: Stored, success: bool) -> None:
    """Outcome of the hosted 3-D Secure page for a payment intent."""
    pi = stored.obj
    if pi["status"] != "requires_action":
        return
    pm = ctx.state.find(pi["payment_method"], "payment_method", stored.owner)
    assert pm is not None
    card = lookup_number(pm.private["number"])
    assert card is not None
    if not success:
        pi.update(
            status="requires_payment_method",
            next_action=None,
            payment_method=None,
            last_payment_error={
                "advice_code": None,
                "charge": None,
                "code": "payment_intent_authentication_failure",
                "decline_code": None,
                "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
                "message": "The provided PaymentMethod has failed authentication. You can provide "
                "payment_method_data or a new PaymentMethod to attempt to fulfill this "
                "PaymentIntent again.",
                "network_advice_code": None,
                "network_decline_code": None,
                "param": None,
                "payment_method": copy.deepcopy(pm.obj),
                "payment_method_type": "card",
                "type": "invalid_request_error",
            },
        )
        ctx.emit_on(stored.owner, "payment_intent.payment_failed", pi)
        return
    if card.behavior == "3ds_then_decline":
        decline(ctx, stored, pm, card)
        return
    succeed(ctx, stored, pm, card, authenticated=True)


@route("POST", "/v1/payment_intents/{id}/capture")
def capture_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {
            "amount_to_capture": True,
            "application_fee_amount": True,
            "metadata": "any",
            "statement_descriptor": True,
            "statement_descriptor_suffix": True,
            "transfer_data": {"amount": True},
            "final_capture": True,
        },
    )
    stored = _load_intent(ctx)
    pi = stored.obj
    if pi["status"] != "requires_capture":
        raise StripeError(
            400,
            "This PaymentIntent could not be captured because it has a status of "
            f"{pi['status']}. Only a PaymentIntent with one of the following statuses may be "
            "captured: requires_capture.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": copy.deepcopy(pi)},
        )
    amount = p.int("amount_to_capture", minimum=1) or pi["amount_capturable"]
    if amount > pi["amount_capturable"]:
        raise invalid(
            "The amount to capture must be less than or equal to the amount capturable.",
            "amount_to_capture",
            "amount_too_large",
        )
    if "application_fee_amount" in p:
        fee = p.int("application_fee_amount", minimum=0)
        if fee is not None and fee > amount:
            raise invalid(
                "The application fee amount must be less than or equal to the captured amount.",
                "application_fee_amount",
            )
        pi["application_fee_amount"] = fee
    pi["metadata"] = merge_metadata(pi["metadata"], p.metadata())
    charge = ctx.state.get(pi["latest_charge"])
    assert charge is not None
    capture_funds(ctx, stored, charge, amount)
    if amount < pi["amount"]:
        charge.obj["amount_refunded"] = pi["amount"] - amount
    pi.update(status="succeeded", amount_received=amount, amount_capturable=0)
    ctx.emit_on(stored.owner, "charge.captured", charge.obj)
    ctx.emit_on(stored.owner, "payment_intent.succeeded", pi)
    return pi


@route("POST", "/v1/payment_intents/{id}/cancel")
def cancel_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, {"cancellation_reason": True})
    stored = _load_intent(ctx)
    pi = stored.obj
    if pi["status"] in ("succeeded", "canceled", "processing"):
        raise StripeError(
            400,
            "You cannot cancel this PaymentIntent because "
            f"it has a status of {pi['status']}. Only a "
            "PaymentIntent with one of the following statuses "
            "may be canceled: requires_payment_method, "
            "requires_capture, requires_confirmation, requires_action, processing.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": copy.deepcopy(pi)},
        )
    reason = p.str(
        "cancellation_reason",
        choices=("duplicate", "fraudulent", "requested_by_customer", "abandoned"),
    )
    if pi["status"] == "requires_capture":
        charge = ctx.state.get(pi["latest_charge"])
        if charge is not None:
            charge.obj.update(amount_refunded=charge.obj["amount"], refunded=True)
    pi.update(
        status="canceled",
        canceled_at=ctx.now,
        cancellation_reason=reason,
        next_action=None,
        amount_capturable=0,
    )
    ctx.emit_on(stored.owner, "payment_intent.canceled", pi)
    return pi


@route("GET", "/v1/payment_intents", query=(*PAGING, "customer"))
def list_intents(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "payment_intent")]
    if customer := p.str("customer"):
        items = [i for i in items if i["customer"] == customer]
    items = created_filter(p, items)
    return list_object(ctx, items, "/v1/payment_intents")
