"""The ASGI application: ``/v1`` dispatch, auth, idempotency, faults, CORS, control API.

``create_app()`` wires everything together.  Every ``/v1`` request goes
through :func:`_api`:

1. fault injection (:mod:`stripe_emulator.faults`);
2. authentication: ``Authorization: Bearer sk_test_...`` — each secret key the
   emulator knows (given at start or registered through the control API) is its
   own platform account, any other key is a 401; ``pk_test_...`` (same suffix)
   is the publishable key and only reaches the routes Stripe.js uses;
3. parameter parsing (:mod:`stripe_emulator.wire`) and routing (:mod:`stripe_emulator.core`);
4. ``Stripe-Account`` scoping (must be a connected account of the platform);
5. idempotency: same key + same parameters + same account replays the first
   response byte for byte with ``Idempotent-Replayed: true``; different
   parameters -> 400 ``idempotency_error``; keys live 24 h of emulator clock.
   Requests are executed one at a time under the state lock, so a concurrent
   duplicate simply waits for the first and then replays it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from stripe_emulator import control, hosted, persistence
from stripe_emulator.core import API_VERSION, Ctx, Emulator, current_request, expand, match
from stripe_emulator.faults import Faults
from stripe_emulator.geography import check_country
from stripe_emulator.resources import register_all
from stripe_emulator.resources.accounts import account_invalid, ensure_platform
from stripe_emulator.resources.payouts import advance
from stripe_emulator.state import DAY, DEFAULT_COUNTRY, IdemRecord, State, account_id_for_key
from stripe_emulator.webhooks import Dispatcher
from stripe_emulator.wire import (
    Params,
    StripeError,
    Upload,
    check_unknown,
    dumps,
    mask_key,
    parse_form,
    parse_multipart,
)

log = logging.getLogger("stripe_emulator")

# A multipart body larger than this is refused before parsing (the largest file Stripe
# takes for any purpose is 16 MB; dispute evidence is limited per purpose, in files.py).
MAX_UPLOAD_BODY = 17 * 1024 * 1024
PUBLISHABLE_KEY = re.compile(r"^pk_test_([A-Za-z0-9_]{8,})$")
STATIC = Path(__file__).parent / "static"
CORS_HEADERS = [
    "Authorization",
    "Stripe-Account",
    "Content-Type",
    "Idempotency-Key",
    "Stripe-Version",
]


def _auth_error(message: str) -> StripeError:
    return StripeError(401, message, type="invalid_request_error")


def authenticate(state: State, header: str | None) -> tuple[str, bool]:
    """``(platform account id, is_publishable)`` for an Authorization header.

    Only keys this emulator knows (given at start or registered through the control
    API) are accepted; any other key is Stripe's 401, as a revoked or mistyped key is.
    """
    if not header:
        raise _auth_error(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. "
            "'Authorization: Bearer YOUR_SECRET_KEY'). "
            "See https://stripe.com/docs/api#authentication for details, or we can help at "
            "https://support.stripe.com/."
        )
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() == "basic":
        with contextlib.suppress(ValueError):
            credential = base64.b64decode(credential).decode().split(":", 1)[0]
    elif scheme.lower() != "bearer":
        raise _auth_error(
            "Invalid authorization header. Use 'Authorization: Bearer YOUR_SECRET_KEY'."
        )
    if credential in state.keys:
        return account_id_for_key(credential), False
    pk = PUBLISHABLE_KEY.match(credential)
    if pk and "sk_test_" + pk.group(1) in state.keys:
        return account_id_for_key("sk_test_" + pk.group(1)), True
    raise _auth_error(f"Invalid API Key provided: {mask_key(credential)}")


def acting_account(state: State, platform: str, stripe_account: str | None) -> str:
    """The account a request acts on: the platform, or its connected ``Stripe-Account``."""
    if not stripe_account:
        return platform
    target = state.get(stripe_account)
    if (
        target is None
        or target.obj.get("object") != "account"
        or (stripe_account != platform and target.private.get("platform") != platform)
        or target.private.get("deauthorized")
        or target.private.get("deleted")
    ):
        raise account_invalid(stripe_account)
    return stripe_account


def previous_result(
    state: State, record_key: tuple[str, str, str], fingerprint: str
) -> IdemRecord | None:
    """The stored result for an idempotency key (None if new or older than 24 h)."""
    record = state.idempotency.get(record_key)
    if record is None or record.created + DAY < state.now():
        return None
    if record.fingerprint != fingerprint:
        raise StripeError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{record_key[2]}' if you meant to "
            "execute a different request.",
            type="idempotency_error",
        )
    return record


def _fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    blob = json.dumps([method, path, params], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def _response(status: int, body: bytes, headers: dict[str, str]) -> Response:
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def tick(state: State) -> None:
    """Let time-driven work (availability, payouts) catch up with the clock."""
    now = state.now()
    if now > state.last_tick:
        advance(state, state.last_tick)
        state.last_tick = now


def create_app(
    *,
    public_url: str | None = None,
    state_file: str | None = None,
    api_keys: Sequence[str] = (),
    country: str = DEFAULT_COUNTRY,
) -> Starlette:
    """Build the emulator app.

    ``public_url`` is the base for hosted page URLs (default: the request's
    base URL); ``state_file`` enables persistence across restarts; ``api_keys``
    are secret keys accepted from the start, each a platform in ``country``
    (more can be registered with ``POST /_emulator/keys``).
    """
    register_all()
    state = (persistence.load(state_file) if state_file else None) or State()
    for key in api_keys:
        state.register_key(key, check_country(country))
    emu = Emulator(
        state=state,
        dispatcher=Dispatcher(state),
        faults=Faults(),
        public_url=public_url,
        state_file=state_file,
    )
    saver = persistence.Saver(state, state_file) if state_file else None

    async def api(request: Request) -> Response:
        emu.dispatcher.ensure_started()
        request_id = "req_" + state.secret(14)
        method = request.method
        path = request.url.path.rstrip("/") or "/"
        headers = {
            "Request-Id": request_id,
            "Stripe-Version": request.headers.get("stripe-version") or API_VERSION,
        }
        idem_key = request.headers.get("idempotency-key")
        if idem_key:
            headers["Idempotency-Key"] = idem_key
        fault = emu.faults.pick(f"{method} {path}")
        if fault is not None:
            if fault.kind == "latency":
                await asyncio.sleep(fault.latency_ms / 1000)
            elif fault.kind == "timeout":
                await asyncio.sleep(fault.timeout_ms / 1000)
            elif fault.kind == "5xx":
                return _error(_injected_500(), request_id, headers)
            elif fault.kind == "429":
                err = StripeError(
                    429,
                    "Too many requests hit the API too quickly. We recommend an "
                    "exponential backoff of your requests.",
                    code="rate_limit",
                    type="invalid_request_error",
                    headers={"Stripe-Should-Retry": "true"},
                )
                return _error(err, request_id, headers)
        try:
            try:
                status, body, extra = await _handle(request, method, path, request_id, idem_key)
            finally:
                if fault is not None:
                    fault.handled += 1  # a delayed request has now done its work, or failed
            headers.update(extra)
        except StripeError as err:
            return _error(err, request_id, headers)
        except Exception as exc:  # every bug still answers in Stripe's shape
            log.exception("emulator bug on %s %s", method, path)
            bug = StripeError(
                500,
                f"An unexpected error occurred in the Stripe emulator: {type(exc).__name__}: {exc}",
                type="api_error",
            )
            return _error(bug, request_id, headers)
        finally:
            emu.dispatcher.notify()
            if saver is not None and method != "GET":
                saver.mark()
        if fault is not None and fault.kind == "5xx_after":
            return _error(_injected_500(), request_id, headers)
        return _response(status, body, headers)

    async def _handle(
        request: Request, method: str, path: str, request_id: str, idem_key: str | None
    ) -> tuple[int, bytes, dict[str, str]]:
        platform, publishable = authenticate(state, request.headers.get("authorization"))
        body_bytes = await request.body() if method == "POST" else b""
        params = parse_form(request.url.query)
        uploads: dict[str, Upload] = {}
        content_type = request.headers.get("content-type", "")
        if body_bytes and content_type.lower().startswith("multipart/form-data"):
            if len(body_bytes) > MAX_UPLOAD_BODY:
                raise StripeError(413, "The request body is too large.", param="file")
            form, uploads = parse_multipart(content_type, body_bytes)
            params.update(form)
        elif body_bytes:
            params.update(parse_form(body_bytes.decode("utf-8", errors="replace")))
        found = match(method, path)
        if found is None:
            raise StripeError(
                404,
                f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
                "or we can help at https://support.stripe.com/.",
            )
        route, args = found
        if publishable and not route.publishable:
            raise StripeError(
                401,
                "This API call cannot be made with a publishable "
                "API key. Please use a secret API key. "
                "You can find a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
                code="secret_key_required",
            )
        expand_paths = params.pop("expand", [])
        if isinstance(expand_paths, str):
            expand_paths = [expand_paths]
        if not isinstance(expand_paths, list) or not all(isinstance(e, str) for e in expand_paths):
            raise StripeError(400, "Invalid array", param="expand")
        if method != "POST":
            check_unknown(params, dict.fromkeys(route.query, "any"))
        stripe_account = request.headers.get("stripe-account")
        async with state.lock:
            ensure_platform(
                state, platform, state.platform_countries.get(platform, DEFAULT_COUNTRY)
            )
            tick(state)
            account = acting_account(state, platform, stripe_account)
            record_key = None
            fingerprint = ""
            if method == "POST" and idem_key:
                record_key = (platform, account, idem_key)
                digests = {k: hashlib.sha256(u.data).hexdigest() for k, u in uploads.items()}
                fingerprint = _fingerprint(
                    method, path, {**params, "expand": expand_paths, "uploads": digests}
                )
                record = previous_result(state, record_key, fingerprint)
                if record is not None:
                    replayed = {**record.headers, "Idempotent-Replayed": "true"}
                    return record.status, record.body, replayed
            ctx = Ctx(
                emu=emu,
                platform=platform,
                account=account,
                publishable=publishable,
                params=Params(params),
                args=args,
                method=method,
                path=path,
                base_url=str(request.base_url),
                request_id=request_id,
                idempotency_key=idem_key,
                expand=expand_paths,
                uploads=uploads,
            )
            token = current_request.set((request_id, idem_key))
            try:
                try:
                    result = route.handler(ctx)
                    status = 200
                    body = dumps(expand(state, state.snapshot(result), expand_paths))
                    replay_headers = {"Original-Request": request_id}
                except StripeError as err:
                    if record_key is not None and err.status == 402:
                        state.idempotency[record_key] = IdemRecord(
                            fingerprint,
                            err.status,
                            dumps(err.body(request_id)),
                            {"Original-Request": request_id},
                            state.now(),
                        )
                    raise
            finally:
                current_request.reset(token)
            if record_key is not None:
                state.idempotency[record_key] = IdemRecord(
                    fingerprint, status, body, replay_headers, state.now()
                )
            _expire_idempotency(state)
        return status, body, replay_headers

    def _error(err: StripeError, request_id: str, headers: dict[str, str]) -> Response:
        return _response(err.status, dumps(err.body(request_id)), {**headers, **err.headers})

    async def stripe_js(request: Request) -> Response:
        return Response(
            (STATIC / "stripe.js").read_bytes(),
            media_type="application/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    async def root(request: Request) -> Response:
        return JSONResponse(
            {"emulator": "stripe_emulator", "api_version": API_VERSION, "stripe_js": "/js/v3/"}
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        err = StripeError(404, f"Unrecognized request URL ({request.method}: {request.url.path}).")
        return _error(err, "req_" + state.secret(14), {})

    async def bad_control_input(request: Request, exc: Exception) -> Response:
        err = StripeError(400, f"Invalid control request: {exc}")
        return _error(err, "req_" + state.secret(14), {})

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("emulator bug", exc_info=exc)
        err = StripeError(
            500,
            f"An unexpected error occurred in the Stripe emulator: {type(exc).__name__}",
            type="api_error",
        )
        return _error(err, "req_" + state.secret(14), {})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        emu.dispatcher.ensure_started()
        yield
        await emu.dispatcher.stop()
        if saver is not None:
            await saver.flush()

    routes = [
        Route("/", root),
        Route("/js/v3/", stripe_js),
        Route("/js/v3", stripe_js),
        Route("/v3/", stripe_js),
        Route("/v3", stripe_js),
        Route("/v1/{path:path}", api, methods=["GET", "POST", "DELETE"]),
        *control.routes(emu),
        *hosted.routes(emu),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
                allow_headers=CORS_HEADERS,
                expose_headers=["Request-Id", "Idempotent-Replayed", "Stripe-Version"],
                max_age=600,
            )
        ],
        exception_handlers={
            404: not_found,
            500: server_error,
            ValueError: bad_control_input,  # control API bodies (json, int(...))
            TypeError: bad_control_input,
        },
        lifespan=lifespan,
    )
    app.state.emulator = emu
    return app


def _injected_500() -> StripeError:
    return StripeError(
        500,
        "An unknown error occurred (injected by the emulator's fault control).",
        type="api_error",
    )


def _expire_idempotency(state: State) -> None:
    if len(state.idempotency) < 5000:
        return
    cutoff = state.now() - DAY
    for key in [k for k, r in state.idempotency.items() if r.created < cutoff]:
        del state.idempotency[key]
