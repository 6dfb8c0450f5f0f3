"""Emulator suite fixtures: one real emulator server per session, a fresh platform per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import stripe

from tests.emulator.support import (
    Control,
    WebhookReceiver,
    create_connected,
    make_client,
    register_key,
    run_emulator,
)


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    with run_emulator() as url:
        yield url


@pytest.fixture(scope="session")
def control(emulator_url: str) -> Control:
    return Control(emulator_url)


@pytest.fixture(autouse=True)
def books_balance(control: Control) -> Iterator[None]:
    """After every test the emulator's own books agree with themselves."""
    yield
    assert control.get("audit")["problems"] == []


@pytest.fixture
def secret_key(emulator_url: str) -> str:
    """A newly registered key: a fresh, isolated platform."""
    return register_key(emulator_url)


@pytest.fixture
def client(emulator_url: str, secret_key: str) -> stripe.StripeClient:
    """A StripeClient for a brand-new platform account (fresh random key)."""
    return make_client(emulator_url, secret_key)


@pytest.fixture
def no_faults(control: Control) -> Iterator[None]:
    control.clear_faults()
    yield
    control.clear_faults()


@pytest.fixture
def shaping(control: Control) -> Iterator[Control]:
    yield control
    control.post(
        "webhooks/shape",
        {
            "delay_ms": 0,
            "duplicate_rate": 0,
            "drop_rate": 0,
            "reorder": False,
            "paused": False,
            "seed": 0,
            "max_attempts": 4,
            "retry_base_ms": 500,
            "schedule": "fast",
        },
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r


@pytest.fixture
async def connected(client: stripe.StripeClient, control: Control) -> AsyncIterator[Any]:
    """An onboarded Express account (charges and payouts enabled) of the test's platform."""
    yield await create_connected(client, control)
