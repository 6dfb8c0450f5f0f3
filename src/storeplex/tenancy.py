"""Tenant scoping: the one place that decides which store a query may see.

Rule: every query on tenant data is built with `scoped(Model, store_id)` or
fetched with `get_scoped(...)`. A row of another store is indistinguishable
from a row that does not exist: both answer 404. The store of a store-admin
request comes from the credential, never from an id in the request; the store
of a storefront request comes from `/s/{slug}/` or a `{slug}.<base domain>` host.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import Select, String, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storeplex.errors import NotFound
from storeplex.models import Store, StoreStatus

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
# running one this simple; benchmarks/).
_STORE_BY_SLUG = select(Store).where(Store.slug == bindparam("slug", type_=String))


async def store_by_slug(session: AsyncSession, slug: str) -> Store:
    store = (await session.execute(_STORE_BY_SLUG, {"slug": slug.lower()})).scalar_one_or_none()
    if store is None or store.status != StoreStatus.ACTIVE:
        raise NotFound(f"No store called {slug!r}")
    return store


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
