"""Events (``/v1/events``) and webhook endpoints (``/v1/webhook_endpoints``).

Events live in the account where they happened: platform events are listed
with the platform key; a connected account's events with ``Stripe-Account``.
An endpoint's signing ``secret`` is returned only by create, as Stripe does.
"""

from __future__ import annotations

from typing import Any

from stripe_emulator.core import (
    API_VERSION,
    PAGING,
    Ctx,
    created_filter,
    event_matches,
    list_object,
    route,
)
from stripe_emulator.schema import conform
from stripe_emulator.wire import StripeError, check_unknown, invalid, merge_metadata


@route("GET", "/v1/events", query=(*PAGING, "type", "types", "delivery_success"))
def list_events(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    items = [s.obj for s in ctx.state.all_of(ctx.account, "event")]
    if event_type := p.str("type"):
        items = [i for i in items if event_matches([event_type], i["type"])]
    if types := p.list("types"):
        items = [i for i in items if event_matches(types, i["type"])]
    return list_object(ctx, created_filter(p, items), "/v1/events")


@route("GET", "/v1/events/{id}")
def retrieve_event(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "event").obj


ENDPOINT_SPEC: dict[str, Any] = {
    "url": True,
    "enabled_events": [True],
    "connect": True,
    "api_version": True,
    "description": True,
    "metadata": "any",
    "disabled": True,
}


def _events(ctx: Ctx) -> list[str]:
    events = [e for e in ctx.params.list("enabled_events") if isinstance(e, str)]
    if not events:
        raise StripeError(
            400,
            "Missing required param: enabled_events.",
            param="enabled_events",
            code="parameter_missing",
        )
    for e in events:
        if e != "*" and ("." not in e or " " in e):
            raise invalid(f"Invalid event type: {e}", "enabled_events")
    return events


def _url(ctx: Ctx) -> str:
    url = ctx.params.req_str("url")
    if not url.startswith(("http://", "https://")):
        raise invalid("Invalid URL: must be an http or https URL.", "url", "url_invalid")
    return url


@route("POST", "/v1/webhook_endpoints")
def create_endpoint(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(p.data, ENDPOINT_SPEC)
    if ctx.on_connected:
        raise invalid("Webhook endpoints can only be created by the platform.")
    url = _url(ctx)
    events = _events(ctx)
    we_id = ctx.state.new_id("we")
    secret = "whsec_" + ctx.state.secret(32)
    obj = conform(
        {
            "id": we_id,
            "object": "webhook_endpoint",
            "api_version": p.str("api_version"),
            "application": None,
            "created": ctx.now,
            "description": p.str("description"),
            "enabled_events": events,
            "livemode": False,
            "metadata": p.metadata() or {},
            "status": "enabled",
            "url": url,
        }
    )
    ctx.state.add(obj, ctx.platform, secret=secret, connect=bool(p.bool("connect", False)))
    return {**obj, "secret": secret}


@route("GET", "/v1/webhook_endpoints/{id}")
def retrieve_endpoint(ctx: Ctx) -> dict[str, Any]:
    return ctx.load(ctx.args["id"], "webhook_endpoint").obj


@route("POST", "/v1/webhook_endpoints/{id}")
def update_endpoint(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    check_unknown(
        p.data, {k: v for k, v in ENDPOINT_SPEC.items() if k not in ("connect", "api_version")}
    )
    stored = ctx.load(ctx.args["id"], "webhook_endpoint")
    obj = stored.obj
    if "url" in p:
        obj["url"] = _url(ctx)
    if "enabled_events" in p:
        obj["enabled_events"] = _events(ctx)
    if "description" in p:
        obj["description"] = p.str("description")
    if "disabled" in p:
        obj["status"] = "disabled" if p.bool("disabled") else "enabled"
    obj["metadata"] = merge_metadata(obj["metadata"], p.metadata())
    return obj


@route("DELETE", "/v1/webhook_endpoints/{id}")
def delete_endpoint(ctx: Ctx) -> dict[str, Any]:
    stored = ctx.load(ctx.args["id"], "webhook_endpoint")
    stored.private["deleted"] = True
    return {"id": stored.obj["id"], "object": "webhook_endpoint", "deleted": True}


@route("GET", "/v1/webhook_endpoints", query=PAGING)
def list_endpoints(ctx: Ctx) -> dict[str, Any]:
    items = [s.obj for s in ctx.state.all_of(ctx.platform, "webhook_endpoint")]
    return list_object(ctx, items, "/v1/webhook_endpoints")


__all__ = ["API_VERSION"]
