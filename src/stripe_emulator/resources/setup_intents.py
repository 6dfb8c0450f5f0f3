"""Setup intents: save a card for later (3-D Secure on setup where the card asks for it).

A successful setup marks the payment method as *set up*, so 4000002500003155
can then pay off-session without authentication.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator.cards import Card, lookup_number
from stripe_emulator.core import PAGING, Ctx, created_filter, list_object, route
from stripe_emulator.resources.customers import attach, resolve_payment_method
from stripe_emulator.schema import conform
from stripe_emulator.state import Stored
from stripe_emulator.wire import StripeError, check_unknown, invalid, merge_metadata

SPEC: dict[str, Any] = {
    "customer": True,
    "payment_method": True,
    "payment_method_types": [True],
    "usage": True,
    "confirm": True,
    "metadata": "any",
    "description": True,
    "return_url": True,
    "automatic_payment_methods": {"enabled": True, "allow_redirects": True},
    "on_behalf_of": True,
    "payment_method_options": "any",
    "payment_method_data": "any",
    "mandate_data": "any",
    "flow_directions": [True],
    "single_use": "any",
    "attach_to_self": True,
    "use_stripe_sdk": True,
}


@route("POST", "/v1/setup_intents")
def create_setup_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, SPEC)
    seti_id = ctx.state.new_id("seti")
    customer = p.str("customer")
    if customer and ctx.state.find(customer, "customer", ctx.account) is None:
        raise StripeError(
            400, f"No such customer: '{customer}'", param="customer", code="resource_missing"
        )
    pmt = p.list("payment_method_types")
    seti = conform(
        {
            "id": seti_id,
            "object": "setup_intent",
            "application": None,
            "automatic_payment_methods": None
            if pmt
            else {"allow_redirects": "always", "enabled": True},
            "cancellation_reason": None,
            "client_secret": f"{seti_id}_secret_{ctx.state.secret(25)}",
            "created": ctx.now,
            "customer": customer,
            "description": p.str("description"),
            "excluded_payment_method_types": None,
            "flow_directions": p.list("flow_directions") or None,
            "last_setup_error": None,
            "latest_attempt": None,
            "livemode": False,
            "mandate": None,
            "metadata": p.metadata() or {},
            "next_action": None,
            "on_behalf_of": p.str("on_behalf_of"),
            "payment_method": None,
            "payment_method_configuration_details": None,
            "payment_method_options": {
                "card": {
                    "mandate_options": None,
                    "network": None,
                    "request_three_d_secure": "automatic",
                }
            },
            "payment_method_types": pmt or ["card"],
            "single_use_mandate": None,
            "status": "requires_payment_method",
            "usage": p.str("usage", choices=("on_session", "off_session")) or "off_session",
        }
    )
    stored = ctx.state.add(seti, ctx.account, return_url=p.str("return_url"))
    if pm_id := p.str("payment_method"):
        seti["payment_method"] = resolve_payment_method(ctx, pm_id).obj["id"]
        seti["status"] = "requires_confirmation"
    ctx.emit_on(stored.owner, "setup_intent.created", stored.obj)
    if p.bool("confirm"):
        _confirm(ctx, stored)
    return seti


def _load(ctx: Ctx) -> Stored:
    stored = ctx.load(ctx.args["id"], "setup_intent")
    if ctx.publishable and ctx.params.str("client_secret") != stored.obj["client_secret"]:
        raise StripeError(
            400,
            "The client_secret provided does not match the "
            "client_secret associated with the SetupIntent.",
            param="client_secret",
            code="setup_intent_invalid_parameter",
        )
    return stored


@route("GET", "/v1/setup_intents/{id}", publishable=True, query=("client_secret",))
def retrieve_setup_intent(ctx: Ctx) -> dict[str, Any]:
    return _load(ctx).obj


@route("POST", "/v1/setup_intents/{id}")
def update_setup_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {
            k: SPEC[k]
            for k in (
                "customer",
                "payment_method",
                "metadata",
                "description",
                "payment_method_types",
                "payment_method_options",
            )
        },
    )
    stored = _load(ctx)
    seti = stored.obj
    seti["metadata"] = merge_metadata(seti["metadata"], p.metadata())
    if "description" in p:
        seti["description"] = p.str("description")
    if customer := p.str("customer"):
        if ctx.state.find(customer, "customer", ctx.account) is None:
            raise StripeError(
                400, f"No such customer: '{customer}'", param="customer", code="resource_missing"
            )
        seti["customer"] = customer
    if pm_id := p.str("payment_method"):
        seti["payment_method"] = resolve_payment_method(ctx, pm_id).obj["id"]
        seti["status"] = "requires_confirmation"
    return seti


@route("POST", "/v1/setup_intents/{id}/confirm", publishable=True)
def confirm_setup_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {
            "payment_method": True,
            "return_url": True,
            "client_secret": True,
            "mandate_data": "any",
            "payment_method_data": "any",
            "payment_method_options": "any",
            "use_stripe_sdk": True,
            "key": True,
            "expected_payment_method_type": True,
        },
    )
    stored = _load(ctx)
    seti = stored.obj
    if seti["status"] not in (
        "requires_payment_method",
        "requires_confirmation",
        "requires_action",
    ):
        raise StripeError(
            400,
            f"You cannot confirm this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
            extra={"setup_intent": copy.deepcopy(seti)},
        )
    if pm_id := p.str("payment_method"):
        seti["payment_method"] = resolve_payment_method(ctx, pm_id).obj["id"]
    elif isinstance(p.raw("payment_method_data"), dict):
        from stripe_emulator.resources.payment_intents import _pm_from_data

        seti["payment_method"] = _pm_from_data(ctx).obj["id"]
    if return_url := p.str("return_url"):
        stored.private["return_url"] = return_url
    if not seti["payment_method"]:
        raise invalid(
            "You cannot confirm this SetupIntent because it's missing a payment method.",
            "payment_method",
            "setup_intent_unexpected_state",
        )
    _confirm(ctx, stored)
    return seti


def _confirm(ctx: Ctx, stored: Stored) -> None:
    seti = stored.obj
    pm = ctx.state.find(seti["payment_method"], "payment_method", stored.owner)
    assert pm is not None
    card = lookup_number(pm.private["number"])
    assert card is not None
    seti["latest_attempt"] = ctx.state.new_id("setatt")
    if card.behavior in ("3ds_always", "3ds_unless_setup", "3ds_then_decline"):
        token = ctx.state.secret(32)
        return_url = stored.private.get("return_url")
        ctx.state.tokens[token] = {
            "kind": "3ds",
            "object": seti["id"],
            "owner": stored.owner,
            "platform": ctx.platform,
            "return_url": return_url,
            "done": False,
        }
        seti.update(
            status="requires_action",
            last_setup_error=None,
            next_action={
                "type": "redirect_to_url",
                "redirect_to_url": {
                    "return_url": return_url,
                    "url": ctx.url(f"/_emulator/hosted/3ds/{token}"),
                },
            },
        )
        ctx.emit_on(stored.owner, "setup_intent.requires_action", stored.obj)
        return
    if card.behavior == "decline":
        raise _fail(ctx, stored, pm, card)
    _succeed(ctx, stored, pm)


def _fail(ctx: Ctx, stored: Stored, pm: Stored, card: Card) -> StripeError:
    seti = stored.obj
    error = {
        "code": card.code,
        "decline_code": card.decline_code,
        "message": card.message,
        "doc_url": f"https://stripe.com/docs/error-codes/{(card.code or '').replace('_', '-')}",
        "param": None,
        "payment_method": copy.deepcopy(pm.obj),
        "payment_method_type": "card",
        "type": "card_error",
    }
    seti.update(
        status="requires_payment_method",
        last_setup_error=error,
        payment_method=None,
        next_action=None,
    )
    ctx.emit_on(stored.owner, "setup_intent.setup_failed", stored.obj)
    return StripeError(
        402,
        card.message or "Your card was declined.",
        type="card_error",
        code=card.code,
        decline_code=card.decline_code,
        extra={"setup_intent": copy.deepcopy(seti)},
    )


def _succeed(ctx: Ctx, stored: Stored, pm: Stored) -> None:
    seti = stored.obj
    pm.private["set_up"] = True
    if seti["customer"]:
        customer = ctx.state.find(seti["customer"], "customer", stored.owner)
        if customer is not None:
            attach(ctx, pm, customer)
    seti.update(status="succeeded", next_action=None, last_setup_error=None)
    ctx.emit_on(stored.owner, "setup_intent.succeeded", stored.obj)


def finish_setup_authentication(ctx: Ctx, stored: Stored, success: bool) -> None:
    seti = stored.obj
    if seti["status"] != "requires_action":
        return
    pm = ctx.state.find(seti["payment_method"], "payment_method", stored.owner)
    assert pm is not None
    card = lookup_number(pm.private["number"])
    assert card is not None
    if not success:
        seti.update(
            status="requires_payment_method",
            next_action=None,
            payment_method=None,
            last_setup_error={
                "code": "setup_intent_authentication_failure",
                "decline_code": None,
                "doc_url": "https://stripe.com/docs/error-codes/setup-intent-authentication-failure",
                "message": "The latest attempt to set up the payment method has failed because "
                "authentication failed.",
                "param": None,
                "payment_method": copy.deepcopy(pm.obj),
                "payment_method_type": "card",
                "type": "invalid_request_error",
            },
        )
        ctx.emit_on(stored.owner, "setup_intent.setup_failed", stored.obj)
        return
    if card.behavior == "3ds_then_decline":
        _fail(ctx, stored, pm, card)
        return
    _succeed(ctx, stored, pm)


@route("POST", "/v1/setup_intents/{id}/cancel")
def cancel_setup_intent(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {"cancellation_reason": True})
    stored = _load(ctx)
    seti = stored.obj
    if seti["status"] in ("succeeded", "canceled"):
        raise StripeError(
            400,
            f"You cannot cancel this SetupIntent because it has a status of {seti['status']}.",
            code="setup_intent_unexpected_state",
        )
    seti.update(
        status="canceled",
        next_action=None,
        cancellation_reason=ctx.params.str(
            "cancellation_reason", choices=("abandoned", "duplicate", "requested_by_customer")
        ),
    )
    ctx.emit_on(stored.owner, "setup_intent.canceled", stored.obj)
    return seti


@route("GET", "/v1/setup_intents", query=(*PAGING, "customer", "payment_method", "attach_to_self"))
def list_setup_intents(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "setup_intent")]
    if customer := p.str("customer"):
        items = [i for i in items if i["customer"] == customer]
    if pm := p.str("payment_method"):
        items = [i for i in items if i["payment_method"] == pm]
    return list_object(ctx, created_filter(p, items), "/v1/setup_intents")
