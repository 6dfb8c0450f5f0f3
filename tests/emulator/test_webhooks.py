"""Webhook endpoints, signatures, routing, retries and shaping.

Sources (Stripe documentation): "Receive Stripe events in your webhook endpoint"
(signatures: t and v1 = HMAC-SHA256 of "t.payload"; Connect endpoints receive events of
connected accounts with an ``account`` field), API reference for Webhook Endpoints (the
secret is returned only on creation).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
import stripe

from tests.emulator.support import Control, WebhookReceiver


async def _endpoint(
    client: stripe.StripeClient, url: str, events: list[str] | None = None, connect: bool = False
) -> Any:
    return await client.v1.webhook_endpoints.create_async(
        params={
            "url": url,
            "enabled_events": events or ["*"],
            "connect": connect,
            "description": "test",
        }
    )


async def test_endpoint_crud_and_secret_only_on_create(
    client: stripe.StripeClient, receiver: WebhookReceiver
) -> None:
    endpoint = await _endpoint(client, receiver.url, ["customer.created"])
    assert endpoint.id.startswith("we_") and endpoint.secret.startswith("whsec_")
    fetched = await client.v1.webhook_endpoints.retrieve_async(endpoint.id)
    assert "secret" not in fetched
    updated = await client.v1.webhook_endpoints.update_async(endpoint.id, params={"disabled": True})
    assert updated.status == "disabled"
    assert [e.id for e in (await client.v1.webhook_endpoints.list_async()).data] == [endpoint.id]
    deleted = await client.v1.webhook_endpoints.delete_async(endpoint.id)
    assert deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError):
        await client.v1.webhook_endpoints.create_async(
            params={"url": "ftp://x", "enabled_events": ["*"]}
        )


async def test_signature_verifies_and_tampering_fails(
    client: stripe.StripeClient, control: Control, receiver: WebhookReceiver
) -> None:
    endpoint = await _endpoint(client, receiver.url, ["customer.created"])
    customer = await client.v1.customers.create_async(params={"email": "sig@example.com"})
    control.flush()
    receiver.wait_for(lambda e: e["type"] == "customer.created")
    raw = receiver.received[0]
    event = stripe.Webhook.construct_event(
        raw["body"], raw["headers"]["Stripe-Signature"], endpoint.secret
    )
    assert event.type == "customer.created" and event.data.object.id == customer.id
    assert event.request.idempotency_key  # the SDK's auto key
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            raw["body"] + b" ", raw["headers"]["Stripe-Signature"], endpoint.secret
        )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            raw["body"], raw["headers"]["Stripe-Signature"], "whsec_wrong"
        )
    fetched = await client.v1.events.retrieve_async(event.id)
    assert fetched.pending_webhooks == 0


async def test_platform_and_connect_routing(
    client: stripe.StripeClient,
    control: Control,
    receiver: WebhookReceiver,
    connected: stripe.Account,
) -> None:
    await _endpoint(client, receiver.url + "/platform")
    await _endpoint(client, receiver.url + "/connect", connect=True)
    await client.v1.payment_intents.create_async(
        params={
            "amount": 1000,
            "currency": "eur",
            "transfer_data": {"destination": connected.id},
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    await client.v1.accounts.update_async(connected.id, params={"metadata": {"x": "y"}})
    control.flush()
    receiver.wait_for(lambda e: e["type"] == "account.updated")
    platform_types = {e["type"] for e in receiver.events("/platform")}
    connect_events = receiver.events("/connect")
    assert {"payment_intent.succeeded", "charge.succeeded", "transfer.created"} <= platform_types
    assert "account.updated" not in platform_types and "payment.created" not in platform_types
    assert {e["type"] for e in connect_events} >= {"account.updated"}
    assert all(e["account"] == connected.id for e in connect_events)
    assert all("account" not in e for e in receiver.events("/platform"))


async def test_ordered_delivery(
    client: stripe.StripeClient, control: Control, receiver: WebhookReceiver
) -> None:
    await _endpoint(client, receiver.url, ["customer.created"])
    ids = [
        (await client.v1.customers.create_async(params={"email": f"o{i}@example.com"})).id
        for i in range(5)
    ]
    control.flush()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(receiver.received) < 5:
        time.sleep(0.05)
    assert [e["data"]["object"]["id"] for e in receiver.events()] == ids


async def test_retries_with_backoff(
    client: stripe.StripeClient, shaping: Control, receiver: WebhookReceiver
) -> None:
    shaping.post("webhooks/shape", {"retry_base_ms": 100, "max_attempts": 3})
    endpoint = await _endpoint(client, receiver.url, ["customer.created"])
    receiver.statuses = [500, 503]
    customer = await client.v1.customers.create_async(params={"email": "retry@example.com"})
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not shaping.deliveries(
        endpoint=endpoint.id, outcome="delivered"
    ):
        time.sleep(0.05)
    assert [r["status"] for r in receiver.received] == [500, 503, 200]
    assert {e["data"]["object"]["id"] for e in receiver.events()} == {customer.id}
    log = shaping.deliveries(endpoint=endpoint.id)
    assert [row["attempt"] for row in log] == [1, 2, 3]
    assert [row["outcome"] for row in log] == ["retrying", "retrying", "delivered"]
    assert [row["status"] for row in log] == [500, 503, 200]
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(log)]
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19  # 100 ms, then 200 ms


async def test_gives_up_after_max_attempts(
    client: stripe.StripeClient, shaping: Control, receiver: WebhookReceiver
) -> None:
    shaping.post("webhooks/shape", {"retry_base_ms": 50, "max_attempts": 2})
    endpoint = await _endpoint(client, receiver.url, ["customer.created"])
    receiver.statuses = [500, 500, 500]
    await client.v1.customers.create_async(params={"email": "fail@example.com"})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not shaping.deliveries(
        endpoint=endpoint.id, outcome="failed"
    ):
        time.sleep(0.05)
    rows = shaping.deliveries(endpoint=endpoint.id)
    assert [r["outcome"] for r in rows] == ["retrying", "failed"]


async def test_shaping_is_deterministic(
    client: stripe.StripeClient, shaping: Control, receiver: WebhookReceiver
) -> None:
    endpoint = await _endpoint(client, receiver.url, ["customer.created"])

    async def run(seed: int) -> list[str]:
        shaping.post(
            "webhooks/shape",
            {
                "paused": True,
                "seed": seed,
                "duplicate_rate": 0.4,
                "drop_rate": 0.2,
                "reorder": True,
            },
        )
        start = len(receiver.received)
        names = []
        for i in range(8):
            names.append(
                (
                    await client.v1.customers.create_async(
                        params={"email": f"s{seed}-{i}@x.example"}
                    )
                ).email
            )
        shaping.flush()
        shaping.post("webhooks/shape", {"paused": False})
        got = [e["data"]["object"]["email"] for e in receiver.events()[start:]]
        return [g.split("-", 1)[1] for g in got]

    first = await run(11)
    second = await run(11)
    assert first == second
    assert len(set(first)) < 8 or len(first) > 8  # something was dropped or duplicated
    assert first != sorted(first) or len(first) != len(set(first))
    dropped = shaping.deliveries(endpoint=endpoint.id, outcome="dropped")
    assert dropped


async def test_paused_delivery_waits_for_flush(
    client: stripe.StripeClient, shaping: Control, receiver: WebhookReceiver
) -> None:
    shaping.post("webhooks/shape", {"paused": True})
    await _endpoint(client, receiver.url, ["customer.created"])
    await client.v1.customers.create_async(params={"email": "p@example.com"})
    time.sleep(0.3)
    assert receiver.received == []
    result = shaping.flush()
    assert result["attempted"] == 1
    assert len(receiver.received) == 1


async def test_events_list_filters(client: stripe.StripeClient) -> None:
    await client.v1.customers.create_async(params={"email": "e@example.com"})
    await client.v1.payment_intents.create_async(params={"amount": 500, "currency": "eur"})
    created = await client.v1.events.list_async(params={"type": "customer.created"})
    assert [e.type for e in created.data] == ["customer.created"]
    wildcard = await client.v1.events.list_async(params={"type": "payment_intent.*"})
    assert [e.type for e in wildcard.data] == ["payment_intent.created"]
    event = await client.v1.events.retrieve_async(created.data[0].id)
    assert event.data.object.email == "e@example.com" and event.api_version


async def test_delay_shaping_holds_delivery(
    client: stripe.StripeClient, shaping: Control, receiver: WebhookReceiver
) -> None:
    shaping.post("webhooks/shape", {"delay_ms": 600})
    await _endpoint(client, receiver.url, ["customer.created"])
    started = time.monotonic()
    await client.v1.customers.create_async(params={"email": "late@example.com"})
    time.sleep(0.2)
    assert receiver.received == []
    receiver.wait_for(lambda e: e["type"] == "customer.created", timeout=5)
    assert time.monotonic() - started >= 0.55
