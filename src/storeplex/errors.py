"""One error family for the whole platform, and the handlers that turn it into JSON.

Services raise a `StoreplexError` subclass; the HTTP layer never builds error
bodies by hand. Every error body has the same shape:
`{"error": {"code": ..., "message": ..., "field": ...}, "detail": message}`.
Anything else that escapes is logged with its traceback and answered with a
generic 500 that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("storeplex.errors")


class StoreplexError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class BadRequest(StoreplexError):
    status_code = 400
    code = "bad_request"


class Unauthorized(StoreplexError):
    status_code = 401
    code = "unauthorized"


class Forbidden(StoreplexError):
    status_code = 403
    code = "forbidden"


class NotFound(StoreplexError):
    status_code = 404
    code = "not_found"


class Conflict(StoreplexError):
    status_code = 409
    code = "conflict"


class TooManyRequests(StoreplexError):
    """Refused for now; `retry_after` (seconds) becomes the Retry-After header."""

    status_code = 429
    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PayloadTooLarge(StoreplexError):
    status_code = 413
    code = "payload_too_large"


class ServiceUnavailable(StoreplexError):
    status_code = 503
    code = "service_unavailable"


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}, "detail": message}


def _describe_validation(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "The request is not valid", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(loc) or None
    msg = str(first.get("msg", "is not valid"))
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON", None
    if first.get("type") == "missing":
        return f"{field} is required", field
    message = f"{field}: {msg}" if field else msg
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return message, field


# What a 422 really looks like; FastAPI would document its own `{"detail": [...]}` shape.
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        },
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


def _document_validation_errors(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # cached by FastAPI after the first call, with this change in it
        components = schema.get("components", {}).get("schemas", {})
        if "HTTPValidationError" in components:
            components["HTTPValidationError"] = VALIDATION_ERROR_SCHEMA
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    _document_validation_errors(app)

    @app.exception_handler(StoreplexError)
    async def _storeplex_error(request: Request, exc: StoreplexError) -> JSONResponse:
        headers = (
            {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyRequests) else None
        )
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field), exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = _describe_validation(exc)
        body = error_body("invalid_request", message, field)
        body["errors"] = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg")}
            for e in exc.errors()
        ]
        return JSONResponse(body, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
            exc.status_code, "http_error"
        )
        message = exc.detail if isinstance(exc.detail, str) else "Request refused"
        if exc.status_code == 404 and message == "Not Found":
            message = f"No such page: {request.url.path}"
        return JSONResponse(error_body(code, message), exc.status_code, headers=exc.headers)

    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: OverflowError) -> JSONResponse:
        # An id or offset beyond what the database can hold (SQLite: 64-bit integers).
        body = error_body("out_of_range", "A number in the request is too large")
        return JSONResponse(body, 400)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal_error", "Something went wrong on our side; it has been logged."),
            500,
        )
