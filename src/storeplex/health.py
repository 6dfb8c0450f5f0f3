"""Liveness (`/healthz`), readiness (`/readyz`) and Prometheus metrics (`/metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from storeplex.migrate import DatabaseNotMigrated, check_migrated

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


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
