"""Idempotency keys, fault injection and the SDK's retries."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import stripe

from tests.emulator.support import Control, make_client


async def test_same_key_replays_byte_for_byte(emulator_url: str, secret_key: str) -> None:
    headers = {"Authorization": f"Bearer {secret_key}", "Idempotency-Key": "order-1-attempt-1"}
    data = {"amount": "1000", "currency": "eur", "metadata[order]": "1"}
    async with httpx.AsyncClient(base_url=emulator_url, headers=headers) as http:
        first = await http.post("/v1/payment_intents", data=data)
        second = await http.post("/v1/payment_intents", data=data)
        different = await http.post("/v1/payment_intents", data={**data, "amount": "2000"})
        listing = await http.get("/v1/payment_intents")
    assert first.status_code == 200 and second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert different.status_code == 400
    assert different.json()["error"]["type"] == "idempotency_error"
    assert len(listing.json()["data"]) == 1


async def test_idempotency_error_in_sdk_and_scoping(
    client: stripe.StripeClient, emulator_url: str
) -> None:
    await client.v1.customers.create_async(
        params={"email": "a@example.com"}, options={"idempotency_key": "k1"}
    )
    with pytest.raises(stripe.IdempotencyError):
        await client.v1.customers.create_async(
            params={"email": "b@example.com"}, options={"idempotency_key": "k1"}
        )
    # keys are per platform: another platform may use the same key
    other = make_client(emulator_url)
    created = await other.v1.customers.create_async(
        params={"email": "b@example.com"}, options={"idempotency_key": "k1"}
    )
    assert created.email == "b@example.com"


async def test_idempotency_keys_expire_after_24h(
    client: stripe.StripeClient, control: Control
) -> None:
    first = await client.v1.customers.create_async(
        params={"email": "x@example.com"}, options={"idempotency_key": "exp"}
    )
    control.advance(24 * 3600 + 5)
    second = await client.v1.customers.create_async(
        params={"email": "x@example.com"}, options={"idempotency_key": "exp"}
    )
    assert second.id != first.id


async def test_decline_is_replayed_too(client: stripe.StripeClient) -> None:
    params = {
        "amount": 1000,
        "currency": "eur",
        "payment_method": "pm_card_visa_chargeDeclined",
        "confirm": True,
    }
    with pytest.raises(stripe.CardError) as first:
        await client.v1.payment_intents.create_async(
            params=params, options={"idempotency_key": "dec"}
        )  # type: ignore[arg-type]
    with pytest.raises(stripe.CardError) as second:
        await client.v1.payment_intents.create_async(
            params=params, options={"idempotency_key": "dec"}
        )  # type: ignore[arg-type]
    assert first.value.json_body == second.value.json_body
    assert len((await client.v1.payment_intents.list_async()).data) == 1


@pytest.mark.usefixtures("no_faults")
@pytest.mark.parametrize("kind", ["5xx", "5xx_after", "429"])
async def test_sdk_retries_do_not_duplicate(
    client: stripe.StripeClient, control: Control, kind: str
) -> None:
    control.fault(route=r"^POST /v1/customers$", kind=kind, count=1, seed=7)
    customer = await client.v1.customers.create_async(params={"email": "retry@example.com"})
    assert customer.email == "retry@example.com"
    listed = await client.v1.customers.list_async()
    assert [c.id for c in listed.data] == [customer.id]
    assert control.get("faults")["faults"][0]["fired"] == 1


@pytest.mark.usefixtures("no_faults")
async def test_without_retries_the_fault_surfaces(emulator_url: str, control: Control) -> None:
    client = make_client(emulator_url, max_network_retries=0)
    control.fault(route="POST /v1/customers", kind="5xx", count=1)
    with pytest.raises(stripe.APIError) as info:
        await client.v1.customers.create_async(params={"email": "x@example.com"})
    assert info.value.http_status == 500
    assert info.value.json_body["error"]["type"] == "api_error"
    assert (await client.v1.customers.list_async()).data == []  # the 5xx did not execute


@pytest.mark.usefixtures("no_faults")
async def test_timeout_then_retry_with_same_key(
    emulator_url: str, control: Control, secret_key: str
) -> None:
    client = make_client(emulator_url, secret_key, timeout=0.5, max_network_retries=3)
    control.fault(route="POST /v1/customers", kind="timeout", count=1, timeout_ms=1500)
    started = time.monotonic()
    customer = await client.v1.customers.create_async(params={"email": "slow@example.com"})
    assert time.monotonic() - started >= 0.5
    # Wait until the slow original has been handled too: it must replay, not duplicate.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if [f["handled"] for f in control.faults()] == [1]:
            break
        await asyncio.sleep(0.05)
    assert [f["handled"] for f in control.faults()] == [1]
    listed = await make_client(emulator_url, secret_key).v1.customers.list_async()
    assert [c.id for c in listed.data] == [customer.id]


@pytest.mark.usefixtures("no_faults")
async def test_rate_faults_are_deterministic(
    emulator_url: str, control: Control, secret_key: str
) -> None:
    def pattern() -> list[int]:
        control.clear_faults()
        control.fault(route="GET /v1/balance$", kind="5xx", rate=0.5, seed=42)
        with httpx.Client(
            base_url=emulator_url, headers={"Authorization": f"Bearer {secret_key}"}
        ) as http:
            return [http.get("/v1/balance").status_code for _ in range(12)]

    first = pattern()
    assert first == pattern()
    assert 500 in first and 200 in first


@pytest.mark.usefixtures("no_faults")
async def test_latency_fault(
    emulator_url: str, control: Control, client: stripe.StripeClient
) -> None:
    control.fault(route="GET /v1/balance", kind="latency", latency_ms=300, count=1)
    started = time.monotonic()
    await client.v1.balance.retrieve_async()
    assert time.monotonic() - started >= 0.3


@pytest.mark.usefixtures("no_faults")
async def test_confirm_retried_after_5xx_after_charges_once(
    client: stripe.StripeClient, control: Control, connected: stripe.Account
) -> None:
    pi = await client.v1.payment_intents.create_async(
        params={
            "amount": 1000,
            "currency": "eur",
            "application_fee_amount": 100,
            "transfer_data": {"destination": connected.id},
        }
    )
    control.fault(route=r"^POST /v1/payment_intents/pi_\w+/confirm$", kind="5xx_after", count=1)
    confirmed = await client.v1.payment_intents.confirm_async(
        pi.id, params={"payment_method": "pm_card_visa"}
    )
    assert confirmed.status == "succeeded"
    charges = await client.v1.charges.list_async(params={"payment_intent": pi.id})
    assert len(charges.data) == 1
    transfers = await client.v1.transfers.list_async(params={"destination": connected.id})
    assert len(transfers.data) == 1
