"""Signed session cookies for staff, platform admins and shoppers.

The cookie holds `{kind, id, store_id, csrf}` signed with the platform's secret
and a timestamp; nothing lives in process memory, so any app process can read
it. Cookies are HttpOnly and SameSite=Lax; `Secure` when the base URL is https.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from starlette.responses import Response

from storeplex.config import Settings

SESSION_COOKIE = "storeplex_session"
SessionKind = Literal["staff", "admin", "customer"]


@dataclass(frozen=True, slots=True)
class SessionData:
    kind: SessionKind
    user_id: int
    store_id: int | None
    csrf: str


class SessionCodec:
    def __init__(self, settings: Settings) -> None:
        self._max_age = settings.session_max_age_seconds
        self._secure = settings.base_url.startswith("https://")
        self._serializer = URLSafeTimedSerializer(settings.session_secret(), salt="session")

    def encode(self, data: SessionData) -> str:
        return self._serializer.dumps(
            {"k": data.kind, "u": data.user_id, "s": data.store_id, "c": data.csrf}
        )

    def decode(self, cookie: str | None) -> SessionData | None:
        if not cookie:
            return None
        try:
            raw = self._serializer.loads(cookie, max_age=self._max_age)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(raw, dict) or raw.get("k") not in ("staff", "admin", "customer"):
            return None
        try:
            return SessionData(
                kind=raw["k"], user_id=int(raw["u"]), store_id=raw.get("s"), csrf=str(raw["c"])
            )
        except (KeyError, TypeError, ValueError):
            return None

    def start(
        self, response: Response, kind: SessionKind, user_id: int, store_id: int | None
    ) -> SessionData:
        data = SessionData(kind, user_id, store_id, secrets.token_urlsafe(24))
        response.set_cookie(
            SESSION_COOKIE,
            self.encode(data),
            max_age=self._max_age,
            httponly=True,
            samesite="lax",
            secure=self._secure,
            path="/",
        )
        return data

    def end(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
