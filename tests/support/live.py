"""Fixtures of the whole stack over real HTTP (app ⇄ Stripe emulator, with webhooks), used by
the payment, money and mail tests; registered for the whole suite by tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.support.stack import Stack, emulator_server, running_stack


@pytest.fixture(scope="session")
def emulator_url() -> Iterator[str]:
    with emulator_server() as url:
        yield url


@pytest.fixture(scope="module")
def stack(
    db_url: str, emulator_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(db_url, tmp_path_factory.mktemp("stack"), emulator_url) as s:
        yield s


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running app, over a real socket."""
    async with httpx.AsyncClient(base_url=stack.app_url, timeout=30) as client:
        yield client
