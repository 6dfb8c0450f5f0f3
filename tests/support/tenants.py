"""Tenancy checks shared by the isolation tests: every row that belongs to one store."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table, select

from storeplex.db import Database
from storeplex.models import Base


def tables_with_store(metadata: Any) -> Iterator[Table]:
    for table in metadata.sorted_tables:
        if "store_id" in table.c:
            yield table


async def snapshot_b(database: Database, store_id: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of store B: its own row, rows with its store_id, and their children."""
    snap: dict[str, list[tuple[Any, ...]]] = {}
    owned: dict[str, set[Any]] = {}
    async with database.session_scope() as s:
        stores = Base.metadata.tables["stores"]
        rows = (await s.execute(select(stores).where(stores.c.id == store_id))).all()
        snap["stores"] = [tuple(r) for r in rows]
        for table in tables_with_store(Base.metadata):
            rows = (
                await s.execute(
                    select(table).where(table.c.store_id == store_id).order_by(*table.primary_key)
                )
            ).all()
            snap[table.name] = [tuple(r) for r in rows]
            owned[table.name] = {r.id for r in rows} if "id" in table.c else set()
        for table in Base.metadata.sorted_tables:
            if table.name in snap:
                continue
            for fk in table.foreign_keys:
                parent = fk.column.table.name
                if parent in owned and parent != "stores" and owned[parent]:
                    rows = (
                        await s.execute(
                            select(table)
                            .where(fk.parent.in_(owned[parent]))
                            .order_by(*table.primary_key)
                        )
                    ).all()
                    snap[f"{table.name}.{fk.parent.name}"] = [tuple(r) for r in rows]
    return snap
