"""Browser tests: the real app and the Stripe emulator as servers, driven by Debian's headless
Chromium through Playwright (async API, on the suite's session-scoped event loop).

No browser is ever downloaded: without /usr/bin/chromium these tests are skipped.
Every step saves a screenshot under test-artifacts/browser/ (git-ignored).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storeplex.config import Settings
from tests.browser.journeys import CHROMIUM, CHROMIUM_ARGS, Shots
from tests.mail.smtp import Inbox, smtp_server
from tests.support.settings import make_settings
from tests.support.stack import Stack, emulator_server, running_stack


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


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def worker_settings(db_url: str, tmp_path: Path, smtp: tuple[Inbox, int], stack: Stack) -> Settings:
    return make_settings(
        db_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        mail_from="orders@mail.example.test",
        base_url=stack.app_url,
    )
