"""The request context handed to resource handlers, the route table, and events.

* :class:`Emulator` bundles the :class:`~stripe_emulator.state.State` with the
  webhook dispatcher, fault injector and settings of one app instance.
* :func:`route` registers a handler for ``METHOD /v1/path/{arg}``; a handler
  receives a :class:`Ctx` and returns the JSON object to answer with.
* :func:`emit` records an ``evt_`` and queues it for the matching webhook
  endpoints (platform events -> ``connect=false`` endpoints, events on a
  connected account -> ``connect=true`` endpoints of its platform).
"""

from __future__ import annotations

import contextvars
import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stripe_emulator.schema import conform
from stripe_emulator.state import State, Stored
from stripe_emulator.wire import Params, StripeError, Upload, not_found

if TYPE_CHECKING:
    from stripe_emulator.faults import Faults
    from stripe_emulator.webhooks import Dispatcher

API_VERSION = "2026-10-28.endive"
# The platform "application" that collects application fees.
APPLICATION = "ca_emulator"


@dataclass
class Emulator:
    state: State
    dispatcher: Dispatcher
    faults: Faults
    public_url: str | None = None
    state_file: str | None = None


@dataclass
class Ctx:
    emu: Emulator
    platform: str
    account: str
    publishable: bool
    params: Params
    args: dict[str, str]
    method: str
    path: str
    base_url: str
    request_id: str
    idempotency_key: str | None = None
    expand: list[str] = field(default_factory=list)
    uploads: dict[str, Upload] = field(default_factory=dict)

    @property
    def state(self) -> State:
        return self.emu.state

    @property
    def now(self) -> int:
        return self.emu.state.now()

    @property
    def on_connected(self) -> bool:
        return self.account != self.platform

    def load(self, obj_id: str, kind: str, param: str = "id", label: str | None = None) -> Stored:
        stored = self.state.find(obj_id, kind, self.account)
        if stored is None:
            raise not_found(label or kind, obj_id, param)
        return stored

    def emit(
        self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Emit an event on the acting account (a Connect event when it is connected)."""
        return emit(
            self.state,
            self.platform,
            event_type,
            obj,
            account=self.account if self.on_connected else None,
            previous=previous,
        )

    def emit_on(
        self,
        owner: str,
        event_type: str,
        obj: dict[str, Any],
        previous: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Emit an event on ``owner`` (the platform, or one of its connected accounts)."""
        return emit(
            self.state,
            self.platform,
            event_type,
            obj,
            account=None if owner == self.platform else owner,
            previous=previous,
        )

    def url(self, path: str) -> str:
        base = (self.emu.public_url or self.base_url).rstrip("/")
        return base + path


Handler = Callable[[Ctx], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    publishable: bool
    query: tuple[str, ...]


ROUTES: list[Route] = []

# Query parameters every list endpoint accepts.
PAGING = ("limit", "starting_after", "ending_before", "created")


def route(
    method: str, path: str, *, publishable: bool = False, query: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``METHOD path``.

    ``publishable`` routes also accept the publishable key (the calls Stripe.js
    makes); ``query`` lists the parameters a GET/DELETE accepts besides
    ``expand`` (anything else is Stripe's "Received unknown parameter").
    """
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method, re.compile(regex), handler, publishable, query))
        return handler

    return register


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    for r in ROUTES:
        if r.method != method:
            continue
        m = r.pattern.match(path)
        if m:
            return r, m.groupdict()
    return None


# --------------------------------------------------------------------------- events

current_request: contextvars.ContextVar[tuple[str | None, str | None]] = contextvars.ContextVar(
    "current_request", default=(None, None)
)


# Every event type the emulator sends; each one is a type the official SDK knows.
EVENT_TYPES = frozenset(
    (
        "account.application.deauthorized",
        "account.updated",
        "application_fee.created",
        "application_fee.refunded",
        "charge.captured",
        "charge.dispute.closed",
        "charge.dispute.created",
        "charge.dispute.funds_reinstated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.failed",
        "charge.refund.updated",
        "charge.refunded",
        "charge.succeeded",
        "charge.updated",
        "customer.created",
        "customer.deleted",
        "customer.updated",
        "payment_intent.amount_capturable_updated",
        "payment_intent.canceled",
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "payment_method.attached",
        "payment_method.detached",
        "payment_method.updated",
        "payout.canceled",
        "payout.created",
        "payout.failed",
        "payout.paid",
        "payout.updated",
        "refund.created",
        "refund.failed",
        "refund.updated",
        "setup_intent.canceled",
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.setup_failed",
        "setup_intent.succeeded",
        "transfer.created",
        "transfer.reversed",
    )
)


def event_matches(enabled: list[str], event_type: str) -> bool:
    return any(e == "*" or fnmatch.fnmatchcase(event_type, e) for e in enabled)


def emit(
    state: State,
    platform: str,
    event_type: str,
    obj: dict[str, Any],
    *,
    account: str | None = None,
    previous: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record an event about ``obj`` and queue its webhook deliveries.

    ``account`` is set for events that happen on a connected account; those go
    to the platform's Connect endpoints only.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"the emulator has no event type {event_type!r}")
    request_id, idem_key = current_request.get()
    endpoints = [
        ep
        for ep in state.all_of(platform, "webhook_endpoint")
        if ep.obj["status"] == "enabled"
        and bool(ep.private.get("connect")) == (account is not None)
        and event_matches(ep.obj["enabled_events"], event_type)
    ]
    data: dict[str, Any] = {"object": state.snapshot(obj)}
    if previous:
        data["previous_attributes"] = previous
    event: dict[str, Any] = {
        "id": state.new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": state.now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": len(endpoints),
        "request": {
            "id": request_id,
            "idempotency_key": idem_key,
        },
        "type": event_type,
    }
    if account is not None:
        event["account"] = account
    event = conform(event)
    state.add(event, account or platform, platform=platform)
    for ep in endpoints:
        api_version = ep.obj.get("api_version")
        state.outbox.append((event["id"], ep.obj["id"], api_version))
    return event


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``previous_attributes``: the old values of top-level fields that changed."""
    return {k: v for k, v in before.items() if after.get(k) != v and k != "updated"}


def raise_if(condition: bool, error: StripeError) -> None:
    if condition:
        raise error


# --------------------------------------------------------------------------- lists & expand


def list_object(
    ctx: Ctx,
    items: list[dict[str, Any]],
    url: str,
    *,
    paginate: bool = True,
) -> dict[str, Any]:
    """A Stripe list of ``items`` (newest first) honouring limit/starting_after/ending_before."""
    p = ctx.params
    if not paginate:
        return {"object": "list", "data": items, "has_more": False, "url": url}
    limit = p.int("limit")
    if limit is None:
        limit = 10
    if not 1 <= limit <= 100:
        raise StripeError(
            400,
            "Invalid limit: must be between 1 and 100",
            param="limit",
            code="parameter_invalid_integer",
        )
    ids = [item["id"] for item in items]
    after = p.str("starting_after")
    before = p.str("ending_before")
    if after:
        if after not in ids:
            raise not_found("object", after, "starting_after")
        start = ids.index(after) + 1
        page = items[start : start + limit]
        has_more = start + limit < len(items)
    elif before:
        if before not in ids:
            raise not_found("object", before, "ending_before")
        end = ids.index(before)
        page = items[max(0, end - limit) : end]
        has_more = end - limit > 0
    else:
        page = items[:limit]
        has_more = len(items) > limit
    return {"object": "list", "data": page, "has_more": has_more, "url": url}


def created_filter(p: Params, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply ``created`` / ``created[gte|gt|lte|lt]`` filters."""
    raw = p.raw("created")
    if raw is None:
        return items
    if isinstance(raw, str):
        exact = p.int("created")
        return [i for i in items if i["created"] == exact]
    bounds = p.hash("created")
    ops = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    out = items
    for op, fn in ops.items():
        value = bounds.int(op)
        if value is not None:
            out = [i for i in out if fn(i["created"], value)]
    return out


def expand(state: State, obj: Any, paths: list[str]) -> Any:
    """Replace id strings by the objects they name along each dotted path."""
    for path in paths:
        obj = _expand_path(state, obj, path.split("."))
    return obj


def _expand_path(state: State, node: Any, parts: list[str]) -> Any:
    if not parts:
        return node
    head, rest = parts[0], parts[1:]
    if isinstance(node, dict) and node.get("object") == "list" and head == "data":
        node["data"] = [_expand_path(state, item, rest) for item in node["data"]]
        return node
    if not isinstance(node, dict) or head not in node:
        return node
    value = node[head]
    if isinstance(value, str):
        stored = state.get(value)
        if stored is None:
            return node
        value = state.snapshot(stored.obj)
    node[head] = _expand_path(state, value, rest)
    return node
