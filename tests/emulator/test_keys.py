"""Only keys the emulator was given are accepted; any other key is Stripe's 401.

Source: Stripe API reference, "Authentication" and "Errors" (an invalid, revoked or
mistyped API key is a 401 with an ``invalid_request_error`` naming the masked key).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import stripe

from tests.emulator.support import (
    free_port,
    make_client,
    new_secret_key,
    publishable_for,
    register_key,
    run_emulator,
)


async def test_unregistered_key_is_401_in_stripes_shape(emulator_url: str) -> None:
    """A well-formed test key the emulator was never given gets 401, as a typo'd key does."""
    stranger = new_secret_key()
    with pytest.raises(stripe.AuthenticationError) as info:
        await make_client(emulator_url, stranger).v1.customers.list_async()
    assert info.value.http_status == 401
    message = str(info.value.user_message)
    assert message.startswith("Invalid API Key provided: sk_test_")
    assert stranger[-4:] in message and stranger[8:20] not in message
    raw = httpx.get(f"{emulator_url}/v1/balance", headers={"Authorization": f"Bearer {stranger}"})
    assert raw.status_code == 401
    assert raw.json()["error"]["type"] == "invalid_request_error"
    assert raw.headers["request-id"].startswith("req_")


async def test_registered_key_and_its_publishable_key_work(emulator_url: str) -> None:
    key = register_key(emulator_url)
    balance = await make_client(emulator_url, key).v1.balance.retrieve_async()
    assert balance.object == "balance"
    # The publishable key of an unknown secret key is refused too.
    unknown_pk = publishable_for(new_secret_key())
    r = httpx.post(
        f"{emulator_url}/v1/payment_methods",
        headers={"Authorization": f"Bearer {unknown_pk}"},
        data={"type": "card", "card[token]": "tok_visa"},
    )
    assert r.status_code == 401


async def test_a_rotated_key_is_not_a_new_platform(emulator_url: str) -> None:
    """Changing one character of a valid key does not make a new, empty platform."""
    key = register_key(emulator_url)
    await make_client(emulator_url, key).v1.customers.create_async(params={"email": "a@b.c"})
    typo = key[:-1] + ("x" if key[-1] != "x" else "y")
    with pytest.raises(stripe.AuthenticationError):
        await make_client(emulator_url, typo).v1.customers.list_async()


def test_control_api_refuses_malformed_keys_and_countries(emulator_url: str) -> None:
    bad_key = httpx.post(f"{emulator_url}/_emulator/keys", json={"secret_key": "sk_live_x"})
    assert bad_key.status_code == 400 and "sk_test_" in bad_key.json()["error"]["message"]
    bad_country = httpx.post(f"{emulator_url}/_emulator/keys", json={"country": "XX"})
    assert bad_country.status_code == 400
    made = httpx.post(f"{emulator_url}/_emulator/keys", json={"country": "us"}).json()
    assert made["country"] == "US" and made["secret_key"].startswith("sk_test_")
    assert made["publishable_key"] == publishable_for(made["secret_key"])


async def test_keys_given_at_start_are_accepted() -> None:
    from stripe_emulator.app import create_app

    key = new_secret_key()
    app = create_app(api_keys=[key], country="GB")
    assert app.state.emulator.state.keys == {key: "GB"}
    # A separate emulator does not know the key.
    with run_emulator() as url, pytest.raises(stripe.AuthenticationError):
        await make_client(url, key).v1.balance.retrieve_async()


def test_command_line_without_keys_makes_and_prints_one() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "stripe_emulator", "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Stripe emulator keys: secret sk_test_"), line
        key = line.split()[4]
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/v1/account",
                    headers={"Authorization": f"Bearer {key}"},
                )
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["country"] == "LU"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_storeplex_emulator_command_takes_keys_and_a_country() -> None:
    port = free_port()
    key = new_secret_key()
    storeplex = str(Path(sys.executable).with_name("storeplex"))
    proc = subprocess.Popen(
        [storeplex, "emulator", "--port", str(port), "--api-key", key, "--country", "DE"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                mine = httpx.get(
                    f"http://127.0.0.1:{port}/v1/account",
                    headers={"Authorization": f"Bearer {key}"},
                )
                break
            except httpx.ConnectError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        assert mine.status_code == 200 and mine.json()["country"] == "DE"
        other = httpx.get(
            f"http://127.0.0.1:{port}/v1/account",
            headers={"Authorization": f"Bearer {new_secret_key()}"},
        )
        assert other.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)
