"""The floors: the least work the same stack can do per request.

A tiny FastAPI app served exactly like Storeplex (`benchmarks.serve`: `storeplex serve`'s
uvicorn settings, two worker processes) on the same `storeplex.db.Database` (SQLAlchemy
async over psycopg, the same pool):

- `GET /floor/constant` answers a constant;
- `POST /floor/core-insert` INSERTs one row and COMMITs with SQLAlchemy Core
  (`engine.begin()` + `text()`): the stack's limit for a one-transaction request;
- `POST /floor/session-insert` INSERTs one row through Storeplex's own unit of work: the
  request's `SessionDep` (`storeplex.deps`, a `LedgerSession` from `storeplex.db`), an ORM
  object added and flushed for its id, committed when the endpoint returns.

Storeplex's requests are measured against these. The scratch table is created by the
runner before the processes start, so two processes never race to create it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import BigInteger, DateTime, String, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storeplex.config import load_settings
from storeplex.db import Database
from storeplex.deps import SessionDep

FLOOR_TABLE_DDL = (
    "CREATE TABLE bench_floor (id bigserial PRIMARY KEY, note varchar(64) NOT NULL,"
    " created_at timestamptz NOT NULL DEFAULT now())"
)
_CORE_INSERT = text("INSERT INTO bench_floor (note) VALUES (:note) RETURNING id")


class _Base(DeclarativeBase):
    pass


class FloorRow(_Base):
    __tablename__ = "bench_floor"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    note: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )


def create_app() -> FastAPI:
    """The floor app on STOREPLEX_DATABASE_URL."""
    settings = load_settings()
    database = Database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await database.dispose()

    app = FastAPI(lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database

    @app.get("/floor/constant")
    async def constant() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/floor/core-insert")
    async def core_insert() -> dict[str, int]:
        async with database.engine.begin() as conn:
            row_id: int = (await conn.execute(_CORE_INSERT, {"note": "core"})).scalar_one()
        return {"id": int(row_id)}

    @app.post("/floor/session-insert")
    async def session_insert(session: SessionDep) -> dict[str, int]:
        row = FloorRow(note="session")
        session.add(row)
        await session.flush()
        return {"id": row.id}

    return app
