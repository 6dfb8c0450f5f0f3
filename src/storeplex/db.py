"""Database engine and the per-request unit of work.

Rule: services never commit. `session_scope()` (and the `SessionDep` request
dependency built on it) commits when the request or job finishes without an
error and rolls back otherwise, so a request either happens whole or not at all.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, bindparam, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storeplex.config import Settings
from storeplex.files import ensure_private_file
from storeplex.ledger import LedgerSession


def make_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    url = settings.database_url
    if settings.is_sqlite:
        if settings.sqlite_path is not None:
            # Password and token hashes and shoppers' data live in this file: 0600 from
            # the start (SQLite gives its -wal and -shm files the same mode).
            ensure_private_file(settings.sqlite_path)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Take transaction control away from the sqlite3 module so that the
            # "begin" hook below decides how a transaction starts.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin_immediate(conn: Any) -> None:
            # Writers queue on the database lock instead of failing half-way with
            # "database is locked" when two transactions upgrade to write at once.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", settings.database_pool_size)
    kwargs.setdefault("max_overflow", settings.database_max_overflow)
    if settings.database_pooled:
        # Transaction pooling: the next transaction may run on another server connection,
        # where a statement psycopg prepared does not exist (and one of another client's
        # may). Never prepare; a dead server connection is the pooler's to replace.
        kwargs.setdefault("connect_args", {})["prepare_threshold"] = None
        kwargs.setdefault("pool_pre_ping", False)
    else:
        kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


class Database:
    """The engine and session factory of one process."""

    def __init__(self, settings: Settings, **engine_kwargs: Any) -> None:
        self.settings = settings
        self.engine = make_engine(settings, **engine_kwargs)
        # LedgerSession keeps the daily totals in step with every flush (storeplex.ledger).
        self.sessionmaker = async_sessionmaker(
            self.engine, expire_on_commit=False, sync_session_class=LedgerSession
        )

    @asynccontextmanager
    async def session_scope(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on any exception."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    async def dispose(self) -> None:
        await self.engine.dispose()


def dialect_insert(session: AsyncSession, model: type[Any]) -> Any:
    """An INSERT for `model` with `on_conflict_do_nothing/_do_update` on this database.

    When two requests may create the same unique row at once (a customer's first
    checkout, an event delivered twice), insert with ON CONFLICT instead of
    SELECT-then-INSERT, so the loser neither fails nor aborts its transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


@functools.cache
def insert_if_new(
    dialect: str, table: Table, values: tuple[str, ...], unique: tuple[str, ...]
) -> Any:
    """INSERT INTO table (values) ON CONFLICT (unique) DO NOTHING RETURNING id, built once per
    database and shape (on a hot path, building a statement costs more CPU than running it).
    Execute it with parameters named p_<column>: an INSERT's parameters may not be named
    like its columns."""
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    return (
        insert.values({name: bindparam(f"p_{name}", type_=table.c[name].type) for name in values})
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(table.c.id)
    )
