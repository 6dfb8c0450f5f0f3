"""Liveness (`/healthz`), readiness (`/readyz`) and Prometheus metrics (`/metrics`)."""

from __future__ import annotations

import contextlib
import hmac
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import func, select

from storeplex.config import Settings
from storeplex.errors import error_body
from storeplex.migrate import DatabaseNotMigrated, check_migrated
from storeplex.models import Payment, PaymentState

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers and is migrated to the head revision."""
    try:
        await check_migrated(request.app.state.settings, request.app.state.database.engine)
    except DatabaseNotMigrated as exc:
        return JSONResponse({"status": "not_ready", "reason": str(exc)}, 503)
    except Exception:
        return JSONResponse({"status": "not_ready", "reason": "database unreachable"}, 503)
    return JSONResponse({"status": "ready"})


PAYMENTS_BY_STATUS = Gauge("storeplex_payments", "Payments by status", ["status"])
# The payment counts are re-read at most this often, whatever the scrape rate.
PAYMENT_COUNTS_EVERY = 60.0
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def _metrics_allowed(request: Request) -> bool:
    """With STOREPLEX_METRICS_TOKEN set, the scraper must send it as a Bearer token;
    without it, only a client on this machine may read the metrics."""
    settings: Settings = request.app.state.settings
    if settings.metrics_token is None:
        return request.client is not None and request.client.host in LOOPBACK
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.get_secret_value()
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip(), expected)


async def _refresh_payment_counts(request: Request) -> None:
    state = request.app.state
    now = time.monotonic()
    if now - getattr(state, "payment_counts_at", -PAYMENT_COUNTS_EVERY) < PAYMENT_COUNTS_EVERY:
        return
    state.payment_counts_at = now
    async with state.database.session_scope() as session:
        rows = (
            await session.execute(select(Payment.status, func.count()).group_by(Payment.status))
        ).all()
    for status in PaymentState.ALL:
        PAYMENTS_BY_STATUS.labels(status).set(0)
    for status, count in rows:
        PAYMENTS_BY_STATUS.labels(status).set(count)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process, plus payment counts read from the database at
    most once a minute. Hidden (404) from callers without the token (see _metrics_allowed)."""
    if not _metrics_allowed(request):
        return JSONResponse(error_body("not_found", "No such page: /metrics"), 404)
    # Metrics must answer even when the database does not.
    with contextlib.suppress(Exception):
        await _refresh_payment_counts(request)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
