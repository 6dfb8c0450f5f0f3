"""Reliability suites: each test gets its own Stripe emulator, because webhook shaping and
fault injection are global to an emulator and must not leak into other tests.

Every suite ends with one line of figures (`figures("crash: seed=... mismatches=0")`).
The line is printed at once (visible with `pytest -s`) and again in a "reliability
figures" section at the end of the run, so `pytest -q` in CI shows it too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.stack import emulator_server

FIGURES: list[str] = []


@pytest.fixture
def own_emulator() -> Iterator[str]:
    with emulator_server() as url:
        yield url


@pytest.fixture
def postgres_only(backend: str) -> None:
    if backend != "postgres":
        pytest.skip("needs PostgreSQL: several app processes share one database")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record a suite's figures line; it is repeated in the summary at the end of the run."""

    def record(line: str) -> None:
        FIGURES.append(f"{request.node.name}: {line}")
        print("\n" + line)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
