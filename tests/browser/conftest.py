"""Browser tests: the real app and the Stripe emulator as servers, driven by Debian's headless
Chromium through Playwright (async API, on the suite's session-scoped event loop).

No browser is ever downloaded: without /usr/bin/chromium these tests are skipped.
Every step saves a screenshot under test-artifacts/browser/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.browser.journeys import Shots
from tests.support.stack import Stack, emulator_server, running_stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/test_walkthrough" in str(item.fspath) and not os.path.exists(CHROMIUM):
            item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))


@pytest.fixture(scope="module")
def browser_emulator_url() -> Iterator[str]:
    with emulator_server() as url:
        yield url


@pytest.fixture(scope="module")
def stack(
    db_url: str, browser_emulator_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(db_url, tmp_path_factory.mktemp("stack"), browser_emulator_url) as s:
        yield s


@pytest.fixture
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=stack.app_url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        instance = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest.fixture
async def page(browser: Any, stack: Stack) -> AsyncIterator[Any]:
    context = await browser.new_context(
        base_url=stack.app_url, viewport={"width": 1100, "height": 900}
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
async def phone(browser: Any, stack: Stack) -> AsyncIterator[Any]:
    """A 375-px-wide touch screen."""
    context = await browser.new_context(
        base_url=stack.app_url,
        viewport={"width": 375, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
def shots(page: Any, request: pytest.FixtureRequest, backend: str) -> Shots:
    return Shots(page, request.node.name.split("[")[0].removeprefix("test_"), backend)
