"""Dialect-aware inserts that tolerate a concurrent duplicate.

Rule: when two requests may create the same unique row at once (a customer's
first checkout, a browser's first cart line), insert with ON CONFLICT instead
of SELECT-then-INSERT, so the loser neither fails nor aborts its transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def dialect_insert(session: AsyncSession, model: type[Any]) -> Any:
    """An INSERT for `model` that supports `on_conflict_do_nothing/_do_update` on this database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)
