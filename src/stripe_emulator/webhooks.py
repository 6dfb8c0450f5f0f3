"""Webhook delivery: signing, ordering, retries with backoff, and test shaping.

Events queued by :func:`stripe_emulator.core.emit` land in ``State.outbox``;
the :class:`Dispatcher` (an asyncio task in the server's loop, started lazily
on the first request) turns them into deliveries and POSTs them:

* body = the event JSON; header ``Stripe-Signature: t=<unix>,v1=<hex>`` where
  ``v1 = HMAC-SHA256(key=whole whsec_ secret, msg=f"{t}.{body}")`` and ``t`` is
  real wall-clock time (so the SDK's 300 s tolerance holds after clock advances);
* per endpoint, deliveries go out one at a time in event creation order
  (unless shaping reorders them); a non-2xx answer or connection error is
  retried after ``retry_base_ms * 2**(attempt-1)`` up to ``max_attempts``;
* shaping (``delay_ms``, ``duplicate_rate``, ``drop_rate``, ``reorder``,
  ``paused``) draws from ``random.Random(seed)``, so a seed replays exactly;
* every attempt is appended to :attr:`Dispatcher.log`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from stripe_emulator.state import State

log = logging.getLogger("stripe_emulator.webhooks")


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass
class Shaping:
    delay_ms: int = 0
    duplicate_rate: float = 0.0
    drop_rate: float = 0.0
    reorder: bool = False
    paused: bool = False
    seed: int = 0
    max_attempts: int = 4
    retry_base_ms: int = 500
    timeout_ms: int = 5000


@dataclass
class Delivery:
    event_id: str
    endpoint_id: str
    due: float
    attempt: int = 1
    seq: int = 0


@dataclass
class Dispatcher:
    state: State
    shaping: Shaping = field(default_factory=Shaping)
    queue: list[Delivery] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.shaping.seed)
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._busy: asyncio.Lock | None = None
        self._seq = 0

    # -- control -----------------------------------------------------------------
    def configure(self, **changes: Any) -> Shaping:
        for key, value in changes.items():
            if not hasattr(self.shaping, key):
                raise ValueError(f"unknown shaping option: {key}")
            current = getattr(self.shaping, key)
            setattr(self.shaping, key, type(current)(value))
        if "seed" in changes:
            self.rng = random.Random(self.shaping.seed)
        self.notify()
        return self.shaping

    def reset(self) -> None:
        self.queue.clear()
        self.log.clear()
        self.shaping = Shaping()
        self.rng = random.Random(0)

    # -- loop ----------------------------------------------------------------------
    def ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._wake = asyncio.Event()
            self._busy = asyncio.Lock()
            self._task = asyncio.get_running_loop().create_task(self._run())

    def notify(self) -> None:
        if self._wake is not None:
            self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def _collect(self) -> None:
        """Turn queued (event, endpoint) pairs into deliveries, applying shaping."""
        outbox = self.state.outbox
        if not outbox:
            return
        self.state.outbox = []
        now = time.monotonic()
        for event_id, endpoint_id, _version in outbox:
            if self.shaping.drop_rate and self.rng.random() < self.shaping.drop_rate:
                self._record(event_id, endpoint_id, 0, None, "dropped", None)
                continue
            copies = (
                2
                if self.shaping.duplicate_rate and self.rng.random() < self.shaping.duplicate_rate
                else 1
            )
            for _ in range(copies):
                self._seq += 1
                self.queue.append(
                    Delivery(
                        event_id, endpoint_id, now + self.shaping.delay_ms / 1000, seq=self._seq
                    )
                )

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                self._wake.clear()  # before collecting: a notify during delivery is not lost
                self._collect()
                if not self.shaping.paused:
                    await self._deliver_due(force=False)
                timeout = self._next_due_in()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.CancelledError:
                raise
            except Exception:  # keep delivering whatever goes wrong once
                log.exception("webhook dispatcher error")
                await asyncio.sleep(0.1)

    def _next_due_in(self) -> float | None:
        if self.shaping.paused or not self.queue:
            return None
        return max(0.01, min(d.due for d in self.queue) - time.monotonic())

    async def flush(self) -> int:
        """Deliver everything queued now (ignoring delay and pause), one attempt each."""
        self.ensure_started()
        self._collect()
        for d in self.queue:
            d.due = 0
        return await self._deliver_due(force=True)

    async def _deliver_due(self, force: bool) -> int:
        assert self._busy is not None
        async with self._busy:
            now = time.monotonic()
            due = [d for d in self.queue if force or d.due <= now]
            if not due:
                return 0
            for d in due:
                self.queue.remove(d)
            if self.shaping.reorder:
                self.rng.shuffle(due)
            else:
                due.sort(key=lambda d: d.seq)
            groups: dict[str, list[Delivery]] = {}
            for d in due:
                groups.setdefault(d.endpoint_id, []).append(d)
            timeout = self.shaping.timeout_ms / 1000
            async with httpx.AsyncClient(timeout=timeout) as client:
                await asyncio.gather(*(self._deliver_group(client, g) for g in groups.values()))
            return len(due)

    async def _deliver_group(self, client: httpx.AsyncClient, group: list[Delivery]) -> None:
        for d in group:
            await self._attempt(client, d)

    async def _attempt(self, client: httpx.AsyncClient, d: Delivery) -> None:
        event = self.state.get(d.event_id)
        endpoint = self.state.get(d.endpoint_id)
        if event is None or endpoint is None or endpoint.private.get("deleted"):
            return
        url = endpoint.obj["url"]
        payload = json.dumps(event.obj, indent=2).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(payload, endpoint.private["secret"]),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(url, content=payload, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        if status is not None and 200 <= status < 300:
            event.obj["pending_webhooks"] = max(0, event.obj["pending_webhooks"] - 1)
            self._record(d.event_id, d.endpoint_id, d.attempt, status, "delivered", error, url)
            return
        if d.attempt < self.shaping.max_attempts:
            self._record(d.event_id, d.endpoint_id, d.attempt, status, "retrying", error, url)
            delay = self.shaping.retry_base_ms / 1000 * 2 ** (d.attempt - 1)
            self._seq += 1
            self.queue.append(
                Delivery(
                    d.event_id, d.endpoint_id, time.monotonic() + delay, d.attempt + 1, self._seq
                )
            )
        else:
            self._record(d.event_id, d.endpoint_id, d.attempt, status, "failed", error, url)

    def _record(
        self,
        event_id: str,
        endpoint_id: str,
        attempt: int,
        status: int | None,
        outcome: str,
        error: str | None,
        url: str | None = None,
    ) -> None:
        event = self.state.get(event_id)
        self.log.append(
            {
                "event": event_id,
                "type": event.obj["type"] if event else None,
                "endpoint": endpoint_id,
                "url": url,
                "attempt": attempt,
                "status": status,
                "outcome": outcome,
                "error": error,
                "at": time.time(),
            }
        )
