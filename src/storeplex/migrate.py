"""Schema migrations: apply them, and tell whether a database is at the head revision.

The server refuses to start on a database that is not at head; `storeplex db
upgrade` is the one command that moves it there.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storeplex.config import Settings
from storeplex.files import ensure_private_file

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Apply migrations up to `revision` (synchronous; runs its own event loop)."""
    if settings.sqlite_path is not None:
        # Password and token hashes and shoppers' data live in this file: 0600 from the start.
        ensure_private_file(settings.sqlite_path)
    command.upgrade(alembic_config(settings.database_url), revision)


async def upgrade_async(settings: Settings, revision: str = "head") -> None:
    await asyncio.to_thread(upgrade, settings, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database_url: str, engine: AsyncEngine | None = None) -> str | None:
    """The database's revision, through `engine` if given (else a short-lived one)."""
    own = engine is None
    engine = engine or create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_current)
    finally:
        if own:
            await engine.dispose()


class DatabaseNotMigrated(RuntimeError):
    pass


async def check_migrated(settings: Settings, engine: AsyncEngine | None = None) -> None:
    """Raise DatabaseNotMigrated with the command to run if the schema is not at head."""
    current = await current_revision(settings.database_url, engine)
    head = head_revision()
    if current != head:
        state = "empty" if current is None else f"at revision {current}"
        raise DatabaseNotMigrated(
            f"The database is {state}, but this version of Storeplex needs revision {head}. "
            "Run `storeplex db upgrade` first."
        )
