"""Tenant scoping: the one place that decides which store a query may see.

Rule: every query on tenant data is built with `scoped(Model, store_id)` or
fetched with `get_scoped(...)`. A row of another store is indistinguishable
from a row that does not exist: both answer 404. The store of a store-admin
request comes from the credential, never from an id in the request; the store
of a storefront request comes from `/s/{slug}/` or a `{slug}.<base domain>` host.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Engine, Select, String, bindparam, event, exists, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, make_transient_to_detached

from storeplex.errors import NotFound
from storeplex.models import Store, StorePaymentConfig, StoreStatus

T = TypeVar("T")


def scoped(model: type[T], store_id: int) -> Select[T]:
    """SELECT model WHERE model.store_id = store_id."""
    column: Any = model.store_id  # type: ignore[attr-defined]
    return select(model).where(column == store_id)


async def get_scoped(
    session: AsyncSession,
    model: type[T],
    store_id: int,
    object_id: int,
    *,
    what: str | None = None,
    for_update: bool = False,
) -> T:
    """One row of `model` belonging to the store, or NotFound naming what was looked for."""
    query = scoped(model, store_id).where(model.id == object_id)  # type: ignore[attr-defined]
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"No {what or model.__name__.lower()} with id {object_id}")
    return row


def slug_from_host(host: str | None, base_domain: str | None) -> str | None:
    """'shop.example.com' with base domain 'example.com' → 'shop'."""
    if not host or not base_domain:
        return None
    hostname = host.split(":", 1)[0].lower().rstrip(".")
    suffix = "." + base_domain.lower().lstrip(".")
    if hostname.endswith(suffix):
        label = hostname[: -len(suffix)]
        if label and "." not in label:
            return label
    return None


# Built once: every storefront request runs it (building a statement costs more CPU than
# running one this simple; benchmarks/). The store and whether it takes orders (active, and
# its payments active at Stripe: `stores.service.takes_orders`) in one statement.
_STOREFRONT_STORE = select(
    Store,
    exists()
    .where(
        StorePaymentConfig.store_id == Store.id,
        StorePaymentConfig.accepts_payments.is_(True),
    )
    .label("takes_orders"),
).where(Store.slug == bindparam("slug", type_=String))
_STORE_COLUMNS = tuple(attr.key for attr in sa_inspect(Store).column_attrs)


class StoreCache:
    """A short-lived, bounded cache of the stores that take orders, by slug, for one
    database (one engine) in this process.

    Only a store that is active and takes orders is kept, so a store that starts taking
    orders does so at once. A change to a store or its payment configuration made through
    an ORM session of this process (suspension, settings, payment config, an account
    update from Stripe) forgets that store when its transaction commits; another process
    sees the change when its entry expires, at most `seconds` later (so does this process
    after a change written past the ORM, as a bulk SQL UPDATE). Money is never
    decided on it: placing an order asks the database again (`require_taking_orders`).
    """

    def __init__(self, seconds: float, max_entries: int = 1000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, dict[str, Any]]] = {}

    def get(self, slug: str) -> dict[str, Any] | None:
        entry = self._entries.get(slug)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(slug, None)
            return None
        return entry[1]

    def put(self, slug: str, values: dict[str, Any]) -> None:
        if len(self._entries) >= self.max_entries:
            # Drop the entry that expires first (the oldest); dicts keep insertion order.
            self._entries.pop(next(iter(self._entries)), None)
        self._entries[slug] = (time.monotonic() + self.seconds, values)

    def forget(self, store_ids: set[int]) -> None:
        for slug, (_, values) in list(self._entries.items()):
            if values["id"] in store_ids:
                self._entries.pop(slug, None)

    def clear(self) -> None:
        self._entries.clear()


_CACHES: weakref.WeakKeyDictionary[Engine, StoreCache] = weakref.WeakKeyDictionary()


def use_store_cache(engine: Engine, seconds: float, max_entries: int = 1000) -> None:
    """Cache storefront store lookups on this database (`Database` does it; 0: no cache)."""
    if seconds > 0:
        _CACHES[engine] = StoreCache(seconds, max_entries)


def clear_store_caches() -> None:
    """Forget every cached store of this process (after rows were changed behind the ORM)."""
    for cache in list(_CACHES.values()):
        cache.clear()


def _cache_of(session: Session | AsyncSession) -> StoreCache | None:
    if not _CACHES:
        return None
    bind = session.get_bind()
    return _CACHES.get(bind) if isinstance(bind, Engine) else None


def _forget_everywhere(store_ids: set[int]) -> None:
    """Forget these stores in every cache of this process (all its engines: a test process
    may hold several on one database; a miss on another database only costs a query)."""
    for cache in list(_CACHES.values()):
        cache.forget(store_ids)


@event.listens_for(Session, "after_flush")
def _note_changed_stores(session: Session, _context: Any) -> None:
    """Remember the stores whose row or payment config this transaction changed."""
    if not _CACHES:
        return
    changed: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Store) and obj.id is not None:
            changed.add(obj.id)
        elif isinstance(obj, StorePaymentConfig) and obj.store_id is not None:
            changed.add(obj.store_id)
    if changed:
        session.info.setdefault("changed_store_ids", set()).update(changed)
        _forget_everywhere(changed)


@event.listens_for(Session, "after_commit")
def _forget_changed_stores(session: Session) -> None:
    """Forget them once committed (a reader between the flush and the commit may have
    cached the old row again)."""
    changed = session.info.pop("changed_store_ids", None)
    if changed:
        _forget_everywhere(changed)


@event.listens_for(Session, "after_rollback")
def _drop_changed_stores(session: Session) -> None:
    session.info.pop("changed_store_ids", None)


async def storefront_store(session: AsyncSession, slug: str) -> tuple[Store, bool]:
    """The active store of a storefront address and whether it takes orders now, in one
    statement, or from the short-lived cache (`StoreCache`); NotFound for an unknown or
    suspended store. A cached store is a detached copy of its own for this request."""
    slug = slug.lower()
    cache = _cache_of(session)
    if cache is not None and (values := cache.get(slug)) is not None:
        store = Store(**values)
        make_transient_to_detached(store)
        return store, True
    row = (await session.execute(_STOREFRONT_STORE, {"slug": slug})).one_or_none()
    if row is None or row[0].status != StoreStatus.ACTIVE:
        raise NotFound(f"No store called {slug!r}")
    store, takes_orders = row[0], bool(row[1])
    if cache is not None and takes_orders:
        cache.put(slug, {key: getattr(store, key) for key in _STORE_COLUMNS})
    return store, takes_orders


async def store_by_slug(session: AsyncSession, slug: str) -> Store:
    """The active store of a storefront address (see `storefront_store`)."""
    return (await storefront_store(session, slug))[0]


def storefront_slug(request: Request) -> str | None:
    """The storefront's slug from the path (`/s/{slug}/`) or, failing that, the Host header."""
    slug = request.path_params.get("slug")
    if slug:
        return str(slug)
    settings = request.app.state.settings
    return slug_from_host(request.headers.get("host"), settings.base_domain)


def require_store_context() -> Any:
    """Dependency factory: the active store of this storefront request."""
    from storeplex.deps import get_session

    async def _store(
        request: Request, session: AsyncSession = Depends(get_session, scope="function")
    ) -> Store:
        slug = storefront_slug(request)
        if slug is None:
            raise NotFound("No store in this address")
        return await store_by_slug(session, slug)

    return Depends(_store)
