"""ASGI middleware: request body size limit, security headers, storefronts on their own host."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storeplex.config import Settings
from storeplex.errors import error_body
from storeplex.tenancy import slug_from_host


class BodyTooLarge(Exception):
    pass


# Dispute evidence takes one file of up to 5 MB (Stripe's limit), above the general limit:
# these paths (the evidence API and the dispute page's form) may carry 6 MB.
EVIDENCE_PATHS = re.compile(
    r"^/(api/v1/store/disputes/\d+/evidence|api/v1/platform/stores/\d+/disputes/\d+/evidence"
    r"|admin/disputes/\d+|platform/disputes/\d+)$"
)
EVIDENCE_MAX_BYTES = 6 * 1_048_576


class BodySizeLimitMiddleware:
    """Refuse bodies over `max_bytes` with a 413, whether or not Content-Length is sent."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        uploads: tuple[tuple[re.Pattern[str], int], ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # (path pattern, limit): upload forms whose bodies may be larger (product images,
        # dispute evidence)
        self.uploads = (*uploads, (EVIDENCE_PATHS, EVIDENCE_MAX_BYTES))

    def _limit(self, path: str) -> int:
        for pattern, limit in self.uploads:
            if pattern.fullmatch(path):
                return max(limit, self.max_bytes)
        return self.max_bytes

    async def _refuse(self, send: Send, limit: int) -> None:
        body = json.dumps(
            error_body("payload_too_large", f"The request body is over {limit} bytes")
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                too_big = True
            if too_big:
                await self._refuse(send, limit)
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, limit)


STRIPE_JS_SOURCES = {
    "script-src": "https://js.stripe.com",
    "frame-src": "https://js.stripe.com https://hooks.stripe.com",
    "connect-src": "https://api.stripe.com",
    "img-src": "https://*.stripe.com",
}


class ContentSecurity:
    """The Content-Security-Policy of each kind of answer, built once from the settings.

    Pages get only our own origin. A page that mounts Stripe.js says so
    (`request.state.csp = "stripe"`) and gets Stripe's hosts (or the emulator's origin in
    emulator mode); a page that draws bars with style attributes says "style-attrs".
    JSON answers may load nothing at all.
    """

    def __init__(self, settings: Settings) -> None:
        api_base = settings.resolved_stripe_api_base
        emulator = api_base if api_base != "https://api.stripe.com" else None
        stripe = dict.fromkeys(STRIPE_JS_SOURCES, emulator) if emulator else dict(STRIPE_JS_SOURCES)
        # The store admin's payment setup form is answered by a redirect to Stripe's
        # hosted onboarding (browsers check form-action on the redirect too).
        onboarding = emulator or "https://connect.stripe.com"
        base = {
            "default-src": "'self'",
            "script-src": "'self'",
            "style-src": "'self'",
            "img-src": "'self' data:",
            "connect-src": "'self'",
            "frame-src": "'none'",
            "object-src": "'none'",
            "base-uri": "'none'",
            "form-action": "'self'",
            "frame-ancestors": "'none'",
        }
        with_stripe = {k: f"{v} {stripe[k]}" if k in stripe else v for k, v in base.items()}
        with_stripe["frame-src"] = stripe["frame-src"]
        self.policies = {
            "page": _policy(base),
            "admin-page": _policy({**base, "form-action": f"'self' {onboarding}"}),
            "stripe": _policy(with_stripe),
            "style-attrs": _policy({**base, "style-src-attr": "'unsafe-inline'"}),
            "data": _policy({"default-src": "'none'", "frame-ancestors": "'none'"}),
        }

    def for_answer(self, kind: str | None, path: str, content_type: bytes) -> bytes:
        if kind in self.policies:
            return self.policies[kind]
        if not content_type.startswith(b"text/html"):
            return self.policies["data"]
        return self.policies["admin-page" if path.startswith("/admin") else "page"]


def _policy(directives: dict[str, str]) -> bytes:
    return "; ".join(f"{k} {v}" for k, v in directives.items()).encode()


PERMISSIONS_POLICY = (
    b"accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    b'microphone=(), usb=(), payment=(self "https://js.stripe.com")'
)


class SecurityHeadersMiddleware:
    """The security headers of every answer, 4xx and 5xx included (it wraps the error
    middleware): CSP, Permissions-Policy, HSTS when the base URL is https, and
    Cache-Control: no-store on everything but static files, so no signed-in or order page
    is kept by a browser or a proxy. A redirect to our own request's host is rebuilt from
    the configured base URL, so a forged Host header cannot send anyone elsewhere."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.csp = ContentSecurity(settings)
        self.base_url = settings.base_url
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"permissions-policy", PERMISSIONS_POLICY),
        ]
        if settings.base_url.startswith("https://"):
            common.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        self.common = common

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Created here so that `request.state` set by a page is this same dict.
        state = scope.setdefault("state", {})
        is_static = scope["path"].startswith("/static/")

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [(k, v) for k, v in self.common if k not in present]
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if b"content-security-policy" not in present:
                    policy = self.csp.for_answer(state.get("csp"), scope["path"], content_type)
                    extra.append((b"content-security-policy", policy))
                if not is_static and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                if 300 <= message["status"] < 400:
                    headers = [self._own_redirect(scope, k, v) for k, v in headers]
                message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_wrapper)

    def _own_redirect(self, scope: Scope, key: bytes, value: bytes) -> tuple[bytes, bytes]:
        if key.lower() != b"location":
            return key, value
        parts = urlsplit(value.decode("latin-1"))
        host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if parts.netloc and parts.netloc == host:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            return key, f"{self.base_url}{path}".encode("latin-1")
        return key, value


# Paths that are the platform's own, whatever host they are asked on.
PLATFORM_PREFIXES = ("/s/", "/api/", "/static/", "/admin", "/platform", "/docs", "/openapi.json",
                     "/healthz", "/readyz", "/metrics")  # fmt: skip


class StorefrontHostMiddleware:
    """`shop.<base domain>/cart` is served as `/s/shop/cart`: a store on its own host name."""

    def __init__(self, app: ASGIApp, base_domain: str) -> None:
        self.app = app
        self.base_domain = base_domain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            slug = slug_from_host(host, self.base_domain)
            path: str = scope["path"]
            if slug and not path.startswith(PLATFORM_PREFIXES):
                scope = dict(scope)
                scope["path"] = f"/s/{slug}{path}"
                scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)
