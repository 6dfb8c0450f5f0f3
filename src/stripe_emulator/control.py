"""The test control API under ``/_emulator/`` (JSON, no auth; bind to localhost).

Routes: ``POST keys {"secret_key"?, "country"?}`` (accept a secret key, a new one when
none is given, as a platform in ``country``, default LU), ``GET audit`` (``{"problems"}``:
where the books disagree with themselves), ``POST reset`` (keeps the keys),
``GET clock``, ``POST clock/advance {"seconds"}``,
``POST|GET|DELETE faults``, ``POST|GET webhooks/shape`` (``schedule``: fast|test|live
and the rest of :class:`~stripe_emulator.webhooks.Shaping`), ``POST webhooks/flush``,
``POST webhooks/endpoints/{id} {"schedule"?, "reorder"?, "duplicate_rate"?}``,
``GET webhooks/deliveries``, ``POST accounts/{id}/onboard {"outcome"}``,
``POST accounts/{id}/deauthorize``, ``POST disputes/{id}/resolve {"outcome"}``,
``POST refunds/next {"outcome": "pending"|"failed"}``,
``POST refunds/{id}/settle {"outcome": "succeeded"|"failed"}``,
``POST payouts/fail_next {"account"?, "failure_code"?}``,
``POST config {"available_delay_days"}``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from stripe_emulator.core import Emulator
from stripe_emulator.geography import check_country
from stripe_emulator.hosted import system_ctx
from stripe_emulator.ledger import audit
from stripe_emulator.resources.accounts import deauthorize, onboard
from stripe_emulator.resources.disputes import resolve
from stripe_emulator.resources.payouts import advance
from stripe_emulator.resources.refunds import settle_refund
from stripe_emulator.state import DEFAULT_COUNTRY, Stored
from stripe_emulator.wire import StripeError


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": "invalid_request_error", "message": message}}, status_code=status
    )


async def _json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    return data


def routes(emu: Emulator) -> list[Route]:
    state = emu.state

    def platform_of(stored: Stored) -> str:
        owner = state.get(stored.owner)
        if owner is not None and owner.private.get("platform"):
            return str(owner.private["platform"])
        return stored.owner

    async def keys(request: Request) -> JSONResponse:
        data = await _json(request)
        secret_key = data.get("secret_key") or "sk_test_" + state.secret(24)
        try:
            country = check_country(str(data.get("country") or DEFAULT_COUNTRY))
            async with state.lock:
                account = state.register_key(str(secret_key), country)
        except ValueError as exc:
            return _error(str(exc))
        return JSONResponse(
            {
                "secret_key": secret_key,
                "publishable_key": "pk_test_" + secret_key.removeprefix("sk_test_"),
                "account": account,
                "country": country,
            }
        )

    async def audit_books(request: Request) -> JSONResponse:
        async with state.lock:
            problems = audit(state)
        return JSONResponse({"problems": problems})

    async def reset(request: Request) -> JSONResponse:
        async with state.lock:
            state.reset()
            emu.dispatcher.reset()
            emu.faults.clear()
        return JSONResponse({"reset": True})

    async def clock(request: Request) -> JSONResponse:
        return JSONResponse({"now": state.now(), "offset": state.clock.offset})

    async def clock_advance(request: Request) -> JSONResponse:
        data = await _json(request)
        seconds = int(data.get("seconds", 0)) + int(data.get("days", 0)) * 86400
        if seconds < 0:
            return _error("seconds must be >= 0")
        async with state.lock:
            before = state.now()
            state.clock.advance(seconds)
            advance(state, before)
            state.last_tick = state.now()
            for stored in state.all_kind("refund"):
                obj = stored.obj
                if obj["status"] == "pending" and stored.private.get("planned") == "failed":
                    ctx = system_ctx(emu, platform_of(stored), stored.owner, str(request.base_url))
                    settle_refund(ctx, stored, "failed")
        emu.dispatcher.notify()
        return JSONResponse({"now": state.now(), "offset": state.clock.offset})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            emu.faults.clear()
            return JSONResponse({"faults": []})
        if request.method == "POST":
            try:
                emu.faults.add(await _json(request))
            except (ValueError, TypeError) as exc:
                return _error(str(exc))
        return JSONResponse({"faults": [f.describe() for f in emu.faults.rules]})

    async def shape(request: Request) -> JSONResponse:
        if request.method == "POST":
            try:
                emu.dispatcher.configure(**(await _json(request)))
            except (ValueError, TypeError) as exc:
                return _error(str(exc))
        return JSONResponse(dataclasses.asdict(emu.dispatcher.shaping))

    async def endpoint_options(request: Request) -> JSONResponse:
        data = await _json(request)
        async with state.lock:
            try:
                options = emu.dispatcher.configure_endpoint(request.path_params["id"], **data)
            except LookupError as exc:
                return _error(str(exc), 404)
            except (ValueError, TypeError) as exc:
                return _error(str(exc))
        return JSONResponse(options)

    async def flush(request: Request) -> JSONResponse:
        delivered = await emu.dispatcher.flush()
        return JSONResponse({"attempted": delivered, "queued": len(emu.dispatcher.queue)})

    async def deliveries(request: Request) -> JSONResponse:
        rows = emu.dispatcher.log
        for key in ("event", "endpoint", "type", "outcome"):
            if value := request.query_params.get(key):
                rows = [r for r in rows if r[key] == value]
        return JSONResponse({"data": rows, "queued": len(emu.dispatcher.queue) + len(state.outbox)})

    async def account_action(request: Request) -> JSONResponse:
        acct_id = request.path_params["id"]
        action = request.path_params["action"]
        data = await _json(request)
        async with state.lock:
            stored = state.get(acct_id)
            if (
                stored is None
                or stored.obj.get("object") != "account"
                or not stored.private.get("platform")
            ):
                return _error(f"No such connected account: {acct_id}", 404)
            if action == "onboard":
                outcome = data.get("outcome", "complete")
                if outcome not in ("complete", "requirements_due"):
                    return _error("outcome must be complete or requirements_due")
                onboard(state, stored, outcome)
            elif action == "deauthorize":
                deauthorize(state, stored)
            else:
                return _error(f"unknown action {action}", 404)
            body = dict(stored.obj)
        emu.dispatcher.notify()
        return JSONResponse(body)

    async def _settle(
        request: Request, kind: str, outcomes: tuple[str, str], act: Callable[..., object]
    ) -> JSONResponse:
        """Decide the outcome of a dispute or refund the way Stripe's side would."""
        outcome = (await _json(request)).get("outcome")
        if outcome not in outcomes:
            return _error(f"outcome must be {outcomes[0]} or {outcomes[1]}")
        async with state.lock:
            stored = state.get(request.path_params["id"])
            if stored is None or stored.obj.get("object") != kind:
                return _error(f"No such {kind}", 404)
            ctx = system_ctx(emu, platform_of(stored), stored.owner, str(request.base_url))
            try:
                act(ctx, stored, outcome)
            except StripeError as exc:
                return _error(exc.message)
            body = dict(stored.obj)
        emu.dispatcher.notify()
        return JSONResponse(body)

    async def dispute_resolve(request: Request) -> JSONResponse:
        return await _settle(request, "dispute", ("won", "lost"), resolve)

    async def refund_next(request: Request) -> JSONResponse:
        data = await _json(request)
        outcome = data.get("outcome")
        if outcome not in ("pending", "failed", None):
            return _error("outcome must be pending or failed")
        async with state.lock:
            state.next_refund_outcome = outcome
        return JSONResponse({"next_refund_outcome": outcome})

    async def refund_settle(request: Request) -> JSONResponse:
        return await _settle(request, "refund", ("succeeded", "failed"), settle_refund)

    async def payout_fail_next(request: Request) -> JSONResponse:
        data = await _json(request)
        async with state.lock:
            state.next_payout_failure = {
                "account": data.get("account"),
                "failure_code": data.get("failure_code", "account_closed"),
            }
        return JSONResponse(state.next_payout_failure)

    async def config(request: Request) -> JSONResponse:
        data = await _json(request)
        if "available_delay_days" in data:
            async with state.lock:
                state.platform_available_delay_days = int(data["available_delay_days"])
        return JSONResponse({"available_delay_days": state.platform_available_delay_days})

    return [
        Route("/_emulator/keys", keys, methods=["POST"]),
        Route("/_emulator/audit", audit_books, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
        Route("/_emulator/clock", clock, methods=["GET"]),
        Route("/_emulator/clock/advance", clock_advance, methods=["POST"]),
        Route("/_emulator/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_emulator/webhooks/shape", shape, methods=["GET", "POST"]),
        Route("/_emulator/webhooks/flush", flush, methods=["POST"]),
        Route("/_emulator/webhooks/endpoints/{id}", endpoint_options, methods=["POST"]),
        Route("/_emulator/webhooks/deliveries", deliveries, methods=["GET"]),
        Route("/_emulator/accounts/{id}/{action}", account_action, methods=["POST"]),
        Route("/_emulator/disputes/{id}/resolve", dispute_resolve, methods=["POST"]),
        Route("/_emulator/refunds/next", refund_next, methods=["POST"]),
        Route("/_emulator/refunds/{id}/settle", refund_settle, methods=["POST"]),
        Route("/_emulator/payouts/fail_next", payout_fail_next, methods=["POST"]),
        Route("/_emulator/config", config, methods=["GET", "POST"]),
    ]
