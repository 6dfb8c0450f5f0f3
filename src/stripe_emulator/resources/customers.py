"""Customers and card payment methods (create, ``pm_card_*`` shortcuts, attach/detach)."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from stripe_emulator.cards import Card, lookup_number, lookup_shortcut, luhn_ok
from stripe_emulator.core import PAGING, Ctx, changed, created_filter, list_object, route
from stripe_emulator.schema import conform
from stripe_emulator.state import Stored
from stripe_emulator.wire import StripeError, check_unknown, invalid, merge_metadata, not_found

ADDRESS = {
    "city": True,
    "country": True,
    "line1": True,
    "line2": True,
    "postal_code": True,
    "state": True,
}
BILLING = {"address": ADDRESS, "email": True, "name": True, "phone": True, "tax_id": True}
CUSTOMER_SPEC: dict[str, Any] = {
    "email": True,
    "name": True,
    "phone": True,
    "description": True,
    "metadata": "any",
    "payment_method": True,
    "address": ADDRESS,
    "preferred_locales": [True],
    "shipping": {"address": ADDRESS, "name": True, "phone": True},
    "invoice_settings": {"default_payment_method": True, "custom_fields": "any", "footer": True},
}


def _address(data: Any) -> dict[str, Any] | None:
    if not isinstance(data, dict):
        return None
    out = dict.fromkeys(ADDRESS)
    out.update(data)
    return out


# --------------------------------------------------------------------------- customers


@route("POST", "/v1/customers")
def create_customer(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, CUSTOMER_SPEC)
    cus_id = ctx.state.new_id("cus", 14)
    obj = conform(
        {
            "id": cus_id,
            "object": "customer",
            "address": _address(p.raw("address")),
            "balance": 0,
            "created": ctx.now,
            "currency": None,
            "default_source": None,
            "delinquent": False,
            "description": p.str("description"),
            "discount": None,
            "email": p.str("email"),
            "invoice_prefix": ctx.state.secret(8).upper(),
            "invoice_settings": {
                "custom_fields": None,
                "default_payment_method": None,
                "footer": None,
                "rendering_options": None,
            },
            "livemode": False,
            "metadata": p.metadata() or {},
            "name": p.str("name"),
            "next_invoice_sequence": 1,
            "phone": p.str("phone"),
            "preferred_locales": p.list("preferred_locales"),
            "shipping": None,
            "tax_exempt": "none",
            "test_clock": None,
        }
    )
    pm_id = p.str("payment_method")
    pm = resolve_payment_method(ctx, pm_id) if pm_id else None
    default_pm = p.hash("invoice_settings").str("default_payment_method")
    if default_pm and (pm is None or default_pm not in (pm_id, pm.obj["id"])):
        raise invalid(
            f"No such PaymentMethod: '{default_pm}'; it must be attached to the customer first.",
            "invoice_settings[default_payment_method]",
        )
    stored = ctx.state.add(obj, ctx.account)
    ctx.emit("customer.created", obj)
    if pm is not None:
        attach(ctx, pm, stored)
        if default_pm:
            _set_default(ctx, stored, pm.obj["id"])
    return obj


def _set_default(ctx: Ctx, customer: Stored, pm_id: str) -> None:
    pm = ctx.state.find(pm_id, "payment_method", ctx.account)
    if pm is None or pm.obj["customer"] != customer.obj["id"]:
        raise invalid(
            f"No such PaymentMethod: '{pm_id}'; it must be attached to the customer first.",
            "invoice_settings[default_payment_method]",
        )
    customer.obj["invoice_settings"] = {
        **customer.obj["invoice_settings"],
        "default_payment_method": pm_id,
    }


@route("GET", "/v1/customers/{id}")
def retrieve_customer(ctx: Ctx) -> dict[str, Any]:
    stored = ctx.state.get(ctx.args["id"])
    if stored and stored.owner == ctx.account and stored.private.get("deleted"):
        return {"id": stored.obj["id"], "object": "customer", "deleted": True}
    return ctx.load(ctx.args["id"], "customer").obj


@route("POST", "/v1/customers/{id}")
def update_customer(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, CUSTOMER_SPEC)
    stored = ctx.load(ctx.args["id"], "customer")
    obj = stored.obj
    before = copy.deepcopy(obj)
    for key in ("email", "name", "phone", "description"):
        if key in p:
            obj[key] = p.str(key)
    if "address" in p:
        obj["address"] = _address(p.raw("address"))
    if "shipping" in p:
        ship = p.hash("shipping")
        obj["shipping"] = {
            "address": _address(ship.raw("address")),
            "name": ship.str("name"),
            "phone": ship.str("phone"),
        }
    if "preferred_locales" in p:
        obj["preferred_locales"] = p.list("preferred_locales")
    obj["metadata"] = merge_metadata(obj["metadata"], p.metadata())
    default_pm = p.hash("invoice_settings").str("default_payment_method")
    if default_pm:
        _set_default(ctx, stored, default_pm)
    previous = changed(before, obj)
    if previous:
        ctx.emit("customer.updated", obj, previous)
    return obj


@route("DELETE", "/v1/customers/{id}")
def delete_customer(ctx: Ctx) -> dict[str, Any]:
    stored = ctx.load(ctx.args["id"], "customer")
    stored.private["deleted"] = True
    ctx.emit("customer.deleted", stored.obj)
    return {"id": stored.obj["id"], "object": "customer", "deleted": True}


@route("GET", "/v1/customers", query=(*PAGING, "email", "test_clock"))
def list_customers(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "customer")]
    if email := p.str("email"):
        items = [i for i in items if (i["email"] or "").lower() == email.lower()]
    items = created_filter(p, items)
    return list_object(ctx, items, "/v1/customers")


@route("GET", "/v1/customers/{id}/payment_methods", query=(*PAGING, "type", "allow_redisplay"))
def list_customer_payment_methods(ctx: Ctx) -> dict[str, Any]:
    customer = ctx.load(ctx.args["id"], "customer")
    pm_type = ctx.params.str("type")
    items = [
        s.obj
        for s in ctx.state.all_of(ctx.account, "payment_method")
        if s.obj["customer"] == customer.obj["id"] and (pm_type is None or s.obj["type"] == pm_type)
    ]
    return list_object(ctx, items, f"/v1/customers/{customer.obj['id']}/payment_methods")


@route("GET", "/v1/customers/{id}/payment_methods/{pm}")
def retrieve_customer_payment_method(ctx: Ctx) -> dict[str, Any]:
    customer = ctx.load(ctx.args["id"], "customer")
    pm = ctx.load(ctx.args["pm"], "payment_method", label="PaymentMethod")
    if pm.obj["customer"] != customer.obj["id"]:
        raise not_found("PaymentMethod", ctx.args["pm"])
    return pm.obj


# --------------------------------------------------------------------------- payment methods


def card_error(
    message: str, code: str, param: str | None = None, decline_code: str | None = None
) -> StripeError:
    return StripeError(
        402, message, type="card_error", code=code, param=param, decline_code=decline_code
    )


def build_payment_method(
    ctx: Ctx, card: Card, exp_month: int, exp_year: int, billing: dict[str, Any] | None = None
) -> Stored:
    billing = billing or {}
    obj = conform(
        {
            "id": ctx.state.new_id("pm"),
            "object": "payment_method",
            "allow_redisplay": "unspecified",
            "billing_details": {
                "address": _address(billing.get("address")) or dict.fromkeys(ADDRESS),
                "email": billing.get("email"),
                "name": billing.get("name"),
                "phone": billing.get("phone"),
                "tax_id": None,
            },
            "card": {
                "brand": card.brand,
                "checks": {
                    "address_line1_check": None,
                    "address_postal_code_check": None,
                    "cvc_check": "unchecked",
                },
                "country": card.country,
                "display_brand": card.brand,
                "exp_month": exp_month,
                "exp_year": exp_year,
                "fingerprint": hashlib.sha256(card.number.encode()).hexdigest()[:16],
                "funding": card.funding,
                "generated_from": None,
                "last4": card.last4,
                "networks": {"available": [card.brand], "preferred": None},
                "regulated_status": "unregulated",
                "three_d_secure_usage": {"supported": True},
                "wallet": None,
            },
            "created": ctx.now,
            "customer": None,
            "livemode": False,
            "metadata": {},
            "type": "card",
        }
    )
    return ctx.state.add(obj, ctx.account, number=card.number, set_up=False)


def resolve_payment_method(ctx: Ctx, pm_id: str, param: str = "payment_method") -> Stored:
    """An existing ``pm_`` of the acting account, or a fresh one for a ``pm_card_*`` id."""
    card = lookup_shortcut(pm_id)
    if card is not None:
        return build_payment_method(ctx, card, 12, _year(ctx) + 3)
    stored = ctx.state.find(pm_id, "payment_method", ctx.account)
    if stored is None:
        raise StripeError(
            400, f"No such PaymentMethod: '{pm_id}'", param=param, code="resource_missing"
        )
    return stored


def _year(ctx: Ctx) -> int:
    import datetime

    return datetime.datetime.fromtimestamp(ctx.now, datetime.UTC).year


def _month(ctx: Ctx) -> int:
    import datetime

    return datetime.datetime.fromtimestamp(ctx.now, datetime.UTC).month


@route("POST", "/v1/payment_methods", publishable=True)
def create_payment_method(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {
            "type": True,
            "card": {
                "number": True,
                "exp_month": True,
                "exp_year": True,
                "cvc": True,
                "token": True,
            },
            "billing_details": BILLING,
            "metadata": "any",
            "allow_redisplay": True,
            "customer": True,
            "payment_method": True,
            "payment_user_agent": True,
            "time_on_page": True,
            "guid": True,
            "muid": True,
            "sid": True,
            "key": True,
        },
    )
    if p.str("payment_method"):
        # Connect "clone" of a platform payment method onto the connected account
        source = ctx.state.find(p.req_str("payment_method"), "payment_method", ctx.platform)
        if source is None:
            raise StripeError(
                400,
                f"No such PaymentMethod: '{p.raw('payment_method')}'",
                param="payment_method",
                code="resource_missing",
            )
        card = lookup_number(source.private["number"])
        assert card is not None
        return build_payment_method(
            ctx, card, source.obj["card"]["exp_month"], source.obj["card"]["exp_year"]
        ).obj
    p.req_str("type", choices=("card",))
    card_p = p.hash("card")
    token = card_p.str("token")
    if token:
        card = lookup_shortcut(token.replace("tok_", "pm_card_"))
        if card is None:
            raise StripeError(
                400, f"No such token: '{token}'", param="card[token]", code="resource_missing"
            )
        stored = build_payment_method(ctx, card, 12, _year(ctx) + 3)
    else:
        number = (card_p.req_str("number")).replace(" ", "")
        exp_month = card_p.req_int("exp_month")
        exp_year = card_p.req_int("exp_year")
        if exp_year < 100:
            exp_year += 2000
        if not number.isdigit() or not luhn_ok(number):
            raise card_error("Your card number is incorrect.", "incorrect_number", "card[number]")
        if not 1 <= exp_month <= 12:
            raise card_error(
                "Your card's expiration month is invalid.",
                "invalid_expiry_month",
                "card[exp_month]",
            )
        if (exp_year, exp_month) < (_year(ctx), _month(ctx)) or exp_year > _year(ctx) + 50:
            raise card_error(
                "Your card's expiration year is invalid.", "invalid_expiry_year", "card[exp_year]"
            )
        cvc = card_p.str("cvc")
        if cvc is not None and not (cvc.isdigit() and len(cvc) in (3, 4)):
            raise card_error("Your card's security code is invalid.", "invalid_cvc", "card[cvc]")
        card = lookup_number(number)
        if card is None:
            raise card_error(
                "Your card was declined. Your request was in test mode, but used a non test "
                "(live) card. For a list of valid test cards, visit: https://stripe.com/docs/testing.",
                "card_declined",
                decline_code="live_mode_test_card",
            )
        billing = p.raw("billing_details") if isinstance(p.raw("billing_details"), dict) else None
        stored = build_payment_method(ctx, card, exp_month, exp_year, billing)
        if cvc is not None:
            stored.obj["card"]["checks"]["cvc_check"] = "pass"
    stored.obj["metadata"] = p.metadata() or {}
    if redisplay := p.str("allow_redisplay", choices=("always", "limited", "unspecified")):
        stored.obj["allow_redisplay"] = redisplay
    return stored.obj


@route("GET", "/v1/payment_methods/{id}")
def retrieve_payment_method(ctx: Ctx) -> dict[str, Any]:
    return resolve_payment_method(ctx, ctx.args["id"], "id").obj


@route("POST", "/v1/payment_methods/{id}")
def update_payment_method(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data,
        {
            "billing_details": BILLING,
            "metadata": "any",
            "card": {"exp_month": True, "exp_year": True},
            "allow_redisplay": True,
        },
    )
    stored = ctx.load(ctx.args["id"], "payment_method", label="PaymentMethod")
    obj = stored.obj
    before = copy.deepcopy(obj)
    obj["metadata"] = merge_metadata(obj["metadata"], p.metadata())
    billing = p.hash("billing_details")
    for key in ("email", "name", "phone"):
        if key in billing:
            obj["billing_details"][key] = billing.str(key)
    if "address" in billing:
        obj["billing_details"]["address"] = _address(billing.raw("address"))
    card = p.hash("card")
    for key in ("exp_month", "exp_year"):
        if key in card:
            obj["card"][key] = card.int(key)
    previous = changed(before, obj)
    if previous:
        ctx.emit("payment_method.updated", obj, previous)
    return obj


def attach(ctx: Ctx, pm: Stored, customer: Stored) -> None:
    current = pm.obj["customer"]
    if current == customer.obj["id"]:
        return
    if current is not None:
        raise invalid(
            "The payment method you provided has already been attached to a customer.",
            "payment_method",
            "payment_method_unexpected_state",
        )
    if pm.private.get("used") and not pm.private.get("set_up"):
        raise invalid(
            "This PaymentMethod was previously used without being attached to a Customer or "
            "was detached from a Customer, and may not be used again.",
            "payment_method",
            "payment_method_unexpected_state",
        )
    pm.obj["customer"] = customer.obj["id"]
    ctx.emit("payment_method.attached", pm.obj, {"customer": None})


@route("POST", "/v1/payment_methods/{id}/attach")
def attach_payment_method(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {"customer": True})
    pm = resolve_payment_method(ctx, ctx.args["id"], "id")
    cus_id = ctx.params.req_str("customer")
    customer = ctx.state.find(cus_id, "customer", ctx.account)
    if customer is None:
        raise StripeError(
            400, f"No such customer: '{cus_id}'", param="customer", code="resource_missing"
        )
    attach(ctx, pm, customer)
    return pm.obj


@route("POST", "/v1/payment_methods/{id}/detach")
def detach_payment_method(ctx: Ctx) -> dict[str, Any]:
    check_unknown(ctx.params.data, {})
    pm = ctx.load(ctx.args["id"], "payment_method", label="PaymentMethod")
    if pm.obj["customer"] is None:
        raise invalid(
            "The payment method you provided is not attached "
            "to a customer so detachment is impossible.",
            code="payment_method_unexpected_state",
        )
    previous = {"customer": pm.obj["customer"]}
    customer = ctx.state.find(pm.obj["customer"], "customer", ctx.account)
    if customer and customer.obj["invoice_settings"].get("default_payment_method") == pm.obj["id"]:
        customer.obj["invoice_settings"] = {
            **customer.obj["invoice_settings"],
            "default_payment_method": None,
        }
    pm.obj["customer"] = None
    pm.private["set_up"] = False
    pm.private["used"] = True
    ctx.emit("payment_method.detached", pm.obj, previous)
    return pm.obj


@route("GET", "/v1/payment_methods", query=(*PAGING, "customer", "type"))
def list_payment_methods(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    customer = p.str("customer")
    pm_type = p.str("type")
    items = [
        s.obj
        for s in ctx.state.all_of(ctx.account, "payment_method")
        if (customer is None or s.obj["customer"] == customer)
        and (pm_type is None or s.obj["type"] == pm_type)
    ]
    if customer is None:
        items = [i for i in items if i["customer"] is not None]
    return list_object(ctx, items, "/v1/payment_methods")
