"""The FastAPI application: middleware, error handlers and every router.

`create_app(settings)` builds a complete app around one `Database`. It does not
touch the schema; at start-up (lifespan) it refuses to run on a database that
is not migrated to head and says which command fixes it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp

from storeplex import __version__
from storeplex.auth.sessions import SessionManager
from storeplex.catalog.images import MAX_UPLOAD_BYTES
from storeplex.config import Settings, ensure_safe_for_production, get_settings
from storeplex.db import Database
from storeplex.errors import install_error_handlers
from storeplex.middleware import (
    BodySizeLimitMiddleware,
    SecurityHeadersMiddleware,
    StorefrontHostMiddleware,
)
from storeplex.migrate import check_migrated
from storeplex.observability import RequestContextMiddleware
from storeplex.routers import include_routers
from storeplex.stripe.gateway import StripeGateway
from storeplex.tenancy import use_store_cache
from storeplex.web.templating import STATIC_DIR


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    stripe_gateway: StripeGateway | None = None,
    check_schema: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    ensure_safe_for_production(settings)
    database = database or Database(settings)
    # Storefront pages of this app look stores up through a short-lived cache (tenancy.py).
    use_store_cache(database.engine.sync_engine, settings.store_cache_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if check_schema:
            await check_migrated(settings, database.engine)
        try:
            yield
        finally:
            await database.dispose()

    app = FastAPI(
        title="Storeplex",
        version=__version__,
        description="Many independent stores on one platform, paid through Stripe Connect.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.sessions = SessionManager(settings)
    app.state.stripe = stripe_gateway or StripeGateway(settings)

    install_error_handlers(app)
    include_routers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        # An image up to catalog.images.MAX_UPLOAD_BYTES, and room above it so a larger
        # file is refused with a message in the form rather than a bare 413.
        uploads=((re.compile(r"/admin/products/\d{1,19}/image"), 3 * MAX_UPLOAD_BYTES),),
    )
    if settings.base_domain:
        app.add_middleware(StorefrontHostMiddleware, base_domain=settings.base_domain)
    app.add_middleware(RequestContextMiddleware)
    _wrap_outermost(app, SecurityHeadersMiddleware, settings)
    return app


def _wrap_outermost(
    app: FastAPI, middleware: type[SecurityHeadersMiddleware], settings: Settings
) -> None:
    """Put `middleware` outside Starlette's error middleware too, so a 500 gets its headers."""
    build = app.build_middleware_stack

    def build_wrapped() -> ASGIApp:
        return middleware(build(), settings)

    app.build_middleware_stack = build_wrapped  # type: ignore[method-assign]
