"""Mail tests: a real SMTP server per test and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storeplex.config import Settings
from tests.mail.smtp import BASE_URL, Inbox, smtp_server
from tests.support.settings import make_settings


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def mail_settings(db_url: str, tmp_path: Path, smtp: tuple[Inbox, int]) -> Settings:
    return make_settings(
        db_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{smtp[1]}",
        mail_from="shop@mail.example.test",
        base_url=BASE_URL,
        mail_retry_base_seconds=0.05,
    )
