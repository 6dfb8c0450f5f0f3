"""Webhook retries on Stripe's schedules, driven by the emulator clock; endpoints disabled
after the failure window; per-endpoint reordering and duplicates; known event types only.

Sources (Stripe documentation, "Receive Stripe events in your webhook endpoint", sections
"Retry behavior", "Disable behavior", "Event ordering" and "Handle duplicate events"):
in live mode Stripe retries a failed delivery for up to three days with exponential
backoff, in test mode three times over a few hours; retries stop for an endpoint that is
disabled or deleted; Stripe disables an endpoint that keeps failing; events are not
guaranteed in order and can arrive more than once. The SDK's list of event types is
``WebhookEndpointCreateParams.enabled_events``.
"""

from __future__ import annotations

import inspect
import itertools
import re
import time
from collections.abc import Callable
from typing import Any

import stripe

from stripe_emulator.core import EVENT_TYPES
from stripe_emulator.webhooks import FAILURE_WINDOW, SCHEDULES
from tests.emulator.support import Control, WebhookReceiver

HOUR = 3600


async def _endpoint(client: stripe.StripeClient, url: str) -> Any:
    return await client.v1.webhook_endpoints.create_async(
        params={"url": url, "enabled_events": ["customer.created"]}
    )


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _attempts(control: Control, event_id: str) -> list[dict[str, Any]]:
    return [r for r in control.deliveries(event=event_id) if r["outcome"] != "dropped"]


async def test_test_mode_retries_three_times_over_a_few_hours(
    client: stripe.StripeClient, control: Control, receiver: WebhookReceiver
) -> None:
    endpoint = await _endpoint(client, receiver.url)
    control.post(f"webhooks/endpoints/{endpoint.id}", {"schedule": "test"})
    receiver.statuses = [500] * 10
    await client.v1.customers.create_async(params={"email": "retry@example.com"})
    event = (await client.v1.events.list_async(params={"limit": 1})).data[0]
    _wait(lambda: len(_attempts(control, event.id)) == 1, "the first attempt")
    # Nothing more until the emulator clock reaches the next retry.
    control.flush()
    assert len(_attempts(control, event.id)) == 1
    for n, delay in enumerate(SCHEDULES["test"], start=2):
        control.advance(delay)
        _wait(lambda n=n: len(_attempts(control, event.id)) == n, f"attempt {n}")
    outcomes = [r["outcome"] for r in _attempts(control, event.id)]
    assert outcomes == ["retrying", "retrying", "retrying", "failed"]
    assert sum(SCHEDULES["test"]) <= 6 * HOUR
    control.advance(2 * 24 * HOUR)
    control.flush()
    assert len(_attempts(control, event.id)) == 4, "no fifth attempt in test mode"


async def test_live_mode_retries_for_up_to_three_days_then_a_success_stops_them(
    client: stripe.StripeClient, control: Control, receiver: WebhookReceiver
) -> None:
    delays = SCHEDULES["live"]
    assert all(b >= a for a, b in itertools.pairwise(delays)), "backoff never shortens"
    assert sum(delays) <= 3 * 24 * HOUR
    endpoint = await _endpoint(client, receiver.url)
    control.post(f"webhooks/endpoints/{endpoint.id}", {"schedule": "live"})
    receiver.statuses = [503] * 4
    await client.v1.customers.create_async(params={"email": "live@example.com"})
    event = (await client.v1.events.list_async(params={"limit": 1})).data[0]
    _wait(lambda: len(_attempts(control, event.id)) == 1, "the first attempt")
    for n, delay in enumerate(delays[:4], start=2):
        control.advance(delay)
        _wait(lambda n=n: len(_attempts(control, event.id)) == n, f"attempt {n}")
    assert _attempts(control, event.id)[-1]["outcome"] == "delivered"
    assert (await client.v1.events.retrieve_async(event.id)).pending_webhooks == 0
    control.advance(3 * 24 * HOUR)
    control.flush()
    assert len(_attempts(control, event.id)) == 5


async def test_an_endpoint_failing_for_the_whole_window_is_disabled(
    client: stripe.StripeClient, control: Control, receiver: WebhookReceiver
) -> None:
    endpoint = await _endpoint(client, receiver.url)
    control.post(f"webhooks/endpoints/{endpoint.id}", {"schedule": "live"})
    receiver.statuses = [500] * 100
    await client.v1.customers.create_async(params={"email": "down@example.com"})
    event = (await client.v1.events.list_async(params={"limit": 1})).data[0]
    _wait(lambda: len(_attempts(control, event.id)) == 1, "the first attempt")
    elapsed = 0
    for n, delay in enumerate(SCHEDULES["live"], start=2):
        control.advance(delay)
        elapsed += delay
        _wait(lambda n=n: len(_attempts(control, event.id)) == n, f"attempt {n}")
    assert elapsed < FAILURE_WINDOW
    assert (await client.v1.webhook_endpoints.retrieve_async(endpoint.id)).status == "enabled"
    # A later event keeps failing past the window: the endpoint is disabled, and events
    # created afterwards are not sent to it.
    await client.v1.customers.create_async(params={"email": "still-down@example.com"})
    later = (await client.v1.events.list_async(params={"limit": 1})).data[0]
    _wait(lambda: len(_attempts(control, later.id)) == 1, "the later event's attempt")
    control.advance(FAILURE_WINDOW)
    _wait(lambda: _attempts(control, later.id)[-1]["outcome"] == "disabled", "disabling")
    assert (await client.v1.webhook_endpoints.retrieve_async(endpoint.id)).status == "disabled"
    await client.v1.customers.create_async(params={"email": "after@example.com"})
    last = (await client.v1.events.list_async(params={"limit": 1})).data[0]
    assert last.pending_webhooks == 0
    control.flush()
    assert _attempts(control, last.id) == []


async def test_per_endpoint_duplicates_and_out_of_order(
    client: stripe.StripeClient, shaping: Control, receiver: WebhookReceiver
) -> None:
    control = shaping
    calm_receiver = WebhookReceiver()
    with calm_receiver:
        chaotic = await _endpoint(client, receiver.url)
        await _endpoint(client, calm_receiver.url)
        control.post("webhooks/shape", {"paused": True, "seed": 7})
        control.post(f"webhooks/endpoints/{chaotic.id}", {"reorder": True, "duplicate_rate": 1})
        for i in range(8):
            await client.v1.customers.create_async(params={"email": f"c{i}@example.com"})
        control.post("webhooks/shape", {"paused": False})
        control.flush()
        _wait(lambda: len(receiver.events()) == 16, "16 deliveries to the chaotic endpoint")
        _wait(lambda: len(calm_receiver.events()) == 8, "8 deliveries to the calm endpoint")
        chaotic_ids = [e["id"] for e in receiver.events()]
        calm_ids = [e["id"] for e in calm_receiver.events()]
        assert len(set(chaotic_ids)) == 8, "every event twice"
        created = [e["created"] for e in calm_receiver.events()]
        assert created == sorted(created) and len(set(calm_ids)) == 8
        firsts = list(dict.fromkeys(chaotic_ids))
        assert firsts != calm_ids, "the chaotic endpoint got them out of order"
    bad = control.http.post(f"/_emulator/webhooks/endpoints/{chaotic.id}", json={"schedule": "x"})
    assert bad.status_code == 400
    missing = control.http.post("/_emulator/webhooks/endpoints/we_nope", json={"reorder": True})
    assert missing.status_code == 404


def test_every_event_type_the_emulator_sends_is_one_the_sdk_knows() -> None:
    from stripe.params import _webhook_endpoint_create_params as params

    source = inspect.getsource(params)
    start = source.index("enabled_events")
    known = set(re.findall(r'"([a-z_.]+)"', source[start : source.index("]", start)]))
    assert len(known) > 100
    assert set(EVENT_TYPES) <= known, sorted(set(EVENT_TYPES) - known)
