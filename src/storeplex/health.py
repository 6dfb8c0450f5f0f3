"""Liveness (`/healthz`), readiness (`/readyz`) and Prometheus metrics (`/metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import func, select

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


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this process, plus payment counts read from the database."""
    try:
        async with request.app.state.database.session_scope() as session:
            rows = (
                await session.execute(select(Payment.status, func.count()).group_by(Payment.status))
            ).all()
        for state in PaymentState.ALL:
            PAYMENTS_BY_STATUS.labels(state).set(0)
        for state, count in rows:
            PAYMENTS_BY_STATUS.labels(state).set(count)
    except Exception:  # noqa: S110 - metrics must answer even when the database does not
        pass
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
