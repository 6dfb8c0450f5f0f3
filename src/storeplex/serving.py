"""How `storeplex serve` holds up against slow or too many clients.

uvicorn times out idle keep-alive connections but not a request that arrives slowly:
a client that sends its headers (or body) a byte at a time would keep a connection,
and a slot, forever. `SlowClientGuard` gives each request `serve_read_timeout_seconds`
from its first byte (or from the connection) to arrive whole, and closes the
connection otherwise; `serve_limit_concurrency` caps the connections served at once
(uvicorn answers 503 beyond it).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from storeplex.config import Settings

# Where the client is between requests or in the middle of sending one.
_RECEIVING = (h11.IDLE, h11.SEND_BODY)


class SlowClientGuard(H11Protocol):
    """uvicorn's h11 protocol, plus a deadline for each request to arrive whole."""

    read_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in _RECEIVING:
            self._arm()
        else:
            self._disarm()

    def on_response_complete(self) -> None:
        # Between requests uvicorn's keep-alive timeout applies instead.
        self._disarm()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._deadline is None:
            self._deadline = self.loop.call_later(self.read_timeout, self._drop)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _drop(self) -> None:
        self._deadline = None
        if self.conn.their_state in _RECEIVING and not self.transport.is_closing():
            self.transport.close()


def server_config(app: Any, settings: Settings, *, host: str, port: int) -> uvicorn.Config:
    """The uvicorn configuration of the platform's server."""
    guard = type(
        "SlowClientGuard", (SlowClientGuard,), {"read_timeout": settings.serve_read_timeout_seconds}
    )
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        http=guard,
        limit_concurrency=settings.serve_limit_concurrency,
        timeout_keep_alive=5,
    )
