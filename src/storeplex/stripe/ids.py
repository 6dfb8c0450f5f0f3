"""How our objects are named at Stripe: the platform tag, idempotency keys, order references.

This module sits below every domain (it imports only the standard library and the
models), so any service can name its Stripe objects without importing another
service. Rules:
- Every object we create at Stripe carries ``metadata.platform == PLATFORM_TAG``.
- An idempotency key is made from our own row (kind, id, creation instant, purpose),
  so a retry of the same operation reuses it and two rows never share one, even
  after a database is reset and ids are handed out again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

PLATFORM_TAG = "storeplex"


class _OrderLike(Protocol):
    id: int
    created_at: datetime


def idempotency_key(kind: str, row_id: int, created_at: datetime, purpose: str) -> str:
    """A Stripe idempotency key made from our row: stable across retries of the same
    operation, and never shared by two rows."""
    return f"{PLATFORM_TAG}-{kind}-{row_id}-{int(created_at.timestamp() * 1_000_000)}-{purpose}"


def order_ref(order: _OrderLike) -> str:
    """Names one order for ever: its id and creation instant (ids can be handed out again)."""
    return f"{order.id}-{int(order.created_at.timestamp() * 1_000_000)}"
