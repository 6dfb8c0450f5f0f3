"""Through a pooler in transaction mode (STOREPLEX_DATABASE_POOLED), the driver keeps no
prepared statements: the next transaction may run on another server connection."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from storeplex.config import Settings
from storeplex.db import Database
from tests.support.settings import POOLED_URLS, make_settings


@pytest.mark.parametrize("pooled", [False, True])
async def test_a_pooled_database_never_prepares_statements(
    backend: str, settings: Settings, tmp_path: Path, pooled: bool
) -> None:
    if backend == "sqlite":
        pytest.skip("prepared statements of psycopg, on PostgreSQL")
    assert (settings.database_url in POOLED_URLS) == settings.database_pooled
    database = Database(make_settings(settings.database_url, tmp_path, database_pooled=pooled))
    try:
        async with database.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            assert raw.driver_connection.prepare_threshold == (None if pooled else 5)
            # The same statement many times over: fine through pgbouncer only unprepared.
            if pooled or backend == "postgres":
                for n in range(12):
                    assert (await conn.execute(text("SELECT :n"), {"n": n})).scalar_one() == n
                    await conn.commit()
    finally:
        await database.dispose()
