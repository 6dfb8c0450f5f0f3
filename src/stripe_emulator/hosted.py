"""Hosted pages: Connect onboarding, the 3-D Secure challenge, Express dashboard, receipts.

Plain HTML forms (templates in ``templates/``), keyboard-usable, no JavaScript
needed except the ``postMessage`` that tells the Stripe.js stand-in's modal
that an embedded challenge is finished.

* onboarding link: single use — a second visit, or a visit after
  ``expires_at``, redirects to ``refresh_url``; submitting the form finishes
  onboarding and redirects (303) to ``return_url``.
* 3-D Secure: "Complete authentication" / "Fail authentication", then a
  redirect to the intent's ``return_url`` with ``payment_intent``,
  ``payment_intent_client_secret`` and ``redirect_status`` (or the
  ``setup_intent`` equivalents).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from stripe_emulator import money
from stripe_emulator.core import Ctx, Emulator
from stripe_emulator.resources.accounts import onboard
from stripe_emulator.resources.payment_intents import finish_authentication
from stripe_emulator.resources.setup_intents import finish_setup_authentication
from stripe_emulator.wire import Params

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
)


def render(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


def system_ctx(emu: Emulator, platform: str, account: str, base_url: str) -> Ctx:
    """A request context for work triggered outside ``/v1`` (hosted pages, control API)."""
    return Ctx(
        emu=emu,
        platform=platform,
        account=account,
        publishable=False,
        params=Params({}),
        args={},
        method="POST",
        path="",
        base_url=base_url,
        request_id="",
    )


def with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def not_found() -> HTMLResponse:
    return render("message.html", 404, title="Link not found", message="This link is invalid.")


def routes(emu: Emulator) -> list[Route]:
    state = emu.state

    async def onboarding(request: Request) -> Response:
        token = request.path_params["token"]
        async with state.lock:
            link = state.tokens.get(token)
            if link is None or link["kind"] != "onboarding":
                return not_found()
            expired = state.now() > link["expires_at"]
            if request.method == "GET":
                if expired or link["visited"]:
                    return RedirectResponse(link["refresh_url"], status_code=303)
                link["visited"] = True
                account = state.get(link["account"])
                if account is None:
                    return not_found()
                return render("onboarding.html", account=account.obj)
            form = await request.form()
            if expired or link["done"]:
                return RedirectResponse(link["refresh_url"], status_code=303)
            outcome = form.get("outcome")
            if outcome not in ("complete", "requirements_due"):
                return render(
                    "message.html", 400, title="Bad request", message="Choose an outcome."
                )
            account = state.get(link["account"])
            if account is None:
                return not_found()
            onboard(state, account, str(outcome))
            link["done"] = True
        emu.dispatcher.notify()
        return RedirectResponse(link["return_url"], status_code=303)

    async def three_ds(request: Request) -> Response:
        token = request.path_params["token"]
        async with state.lock:
            challenge = state.tokens.get(token)
            if challenge is None or challenge["kind"] != "3ds":
                return not_found()
            stored = state.get(challenge["object"])
            if stored is None:
                return not_found()
            obj = stored.obj
            is_pi = obj["object"] == "payment_intent"
            if request.method == "GET":
                embedded = request.query_params.get("embedded") == "1"
                if challenge["done"]:
                    return render(
                        "message.html",
                        title="Already authenticated",
                        message="This challenge is finished.",
                    )
                amount = (
                    money.display(obj["amount"], obj["currency"]) + " " + obj["currency"].upper()
                    if is_pi
                    else None
                )
                return render("threeds.html", amount=amount, embedded=embedded)
            form = await request.form()
            success = form.get("outcome") == "complete"
            embedded = form.get("embedded") == "1"
            if not challenge["done"]:
                ctx = system_ctx(
                    emu, challenge["platform"], challenge["owner"], str(request.base_url)
                )
                if is_pi:
                    finish_authentication(ctx, stored, success)
                else:
                    finish_setup_authentication(ctx, stored, success)
                challenge["done"] = True
            status = obj["status"]
            redirect_status = (
                "succeeded"
                if status in ("succeeded", "requires_capture", "processing")
                else "failed"
            )
            kind = "payment_intent" if is_pi else "setup_intent"
            params = {
                kind: obj["id"],
                f"{kind}_client_secret": obj["client_secret"],
                "redirect_status": redirect_status,
            }
            return_url = challenge.get("return_url")
        emu.dispatcher.notify()
        if embedded:
            return render(
                "message.html",
                title="Authentication finished",
                message="You can close this window.",
                post_message={"type": "stripe-emulator-3ds", "status": redirect_status, **params},
            )
        if return_url:
            return RedirectResponse(with_query(return_url, params), status_code=303)
        return render(
            "message.html", title="Authentication finished", message=f"Result: {redirect_status}."
        )

    async def express(request: Request) -> Response:
        link = state.tokens.get(request.path_params["token"])
        if link is None:
            return not_found()
        account = state.get(link["account"])
        if account is None:
            return not_found()
        return render(
            "message.html",
            title="Express dashboard",
            message=f"Emulated Express dashboard for {account.obj['id']}.",
        )

    async def receipt(request: Request) -> Response:
        charge = state.get(request.path_params["charge"])
        if charge is None or charge.obj.get("object") != "charge":
            return not_found()
        ch = charge.obj
        return render(
            "message.html",
            title="Receipt",
            message=(
                f"Payment {ch['id']}: {money.display(ch['amount'], ch['currency'])} "
                f"{ch['currency'].upper()}."
            ),
        )

    return [
        Route("/_emulator/hosted/onboarding/{token}", onboarding, methods=["GET", "POST"]),
        Route("/_emulator/hosted/3ds/{token}", three_ds, methods=["GET", "POST"]),
        Route("/_emulator/hosted/express/{token}", express),
        Route("/_emulator/receipts/{charge}", receipt),
    ]
