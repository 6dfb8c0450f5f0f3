"""Reliability suites: each test gets its own Stripe emulator, because webhook shaping and
fault injection are global to an emulator and must not leak into other tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import emulator_server


@pytest.fixture
def own_emulator() -> Iterator[str]:
    with emulator_server() as url:
        yield url


@pytest.fixture
def postgres_only(backend: str) -> None:
    if backend != "postgres":
        pytest.skip("needs PostgreSQL: several app processes share one database")
