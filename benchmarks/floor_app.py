"""The floors: the least work the same stack can do per request.

A tiny FastAPI app served exactly like Storeplex (uvicorn, two processes) on the
same `storeplex.db.Database` (SQLAlchemy async over psycopg): one endpoint answers
a constant, one INSERTs a row into a scratch table and COMMITs. Storeplex's
requests are measured against these. The scratch table is created by the runner
before the processes start, so two processes never race to create it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, func, insert

from storeplex.config import load_settings
from storeplex.db import Database

metadata = MetaData()
floor_rows = Table(
    "bench_floor",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("note", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def create_app() -> FastAPI:
    """The floor app on STOREPLEX_DATABASE_URL."""
    database = Database(load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await database.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/floor/constant")
    async def constant() -> dict[str, bool]:
        return {"ok": True}

    @app.post("/floor/insert")
    async def insert_one() -> dict[str, int]:
        async with database.session_scope() as session:
            row_id = (
                await session.execute(
                    insert(floor_rows).values(note="floor").returning(floor_rows.c.id)
                )
            ).scalar_one()
        return {"id": int(row_id)}

    return app
