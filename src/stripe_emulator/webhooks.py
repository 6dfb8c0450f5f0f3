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
* every attempt is appended to :attr:`Dispatcher.log`;
* ``schedule`` (globally, or per endpoint through the control API) picks the retry
  timing: ``fast`` is the backoff above in wall-clock time (the default, so suites
  finish quickly); ``test`` and ``live`` follow Stripe's schedules on the emulator
  clock (:data:`SCHEDULES`), so advancing the clock runs days of retries at once,
  and an endpoint that has failed every attempt for :data:`FAILURE_WINDOW` is
  disabled; retries of events to a disabled or deleted endpoint stop;
* per endpoint, ``reorder`` and ``duplicate_rate`` add to the global shaping.
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

HOUR = 3600
# Seconds of emulator clock before each retry. Stripe: in test mode three retries over a
# few hours; in live mode exponential backoff for up to three days.
SCHEDULES: dict[str, tuple[int, ...]] = {
    "test": (10 * 60, HOUR, 3 * HOUR),
    "live": (5 * 60, 30 * 60, 2 * HOUR, 5 * HOUR, *(10 * HOUR,) * 6),
}
# An endpoint that has answered no attempt successfully for this long is disabled.
FAILURE_WINDOW = 3 * 24 * HOUR
ENDPOINT_OPTIONS = ("schedule", "reorder", "duplicate_rate")


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
    schedule: str = "fast"


@dataclass
class Delivery:
    event_id: str
    endpoint_id: str
    due: float
    attempt: int = 1
    seq: int = 0
    at: int | None = None  # emulator-clock due time (Stripe's schedules); else ``due``


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
            if key == "schedule" and value not in ("fast", *SCHEDULES):
                raise ValueError("schedule must be fast, test or live")
            setattr(self.shaping, key, type(current)(value))
        if "seed" in changes:
            self.rng = random.Random(self.shaping.seed)
        self.notify()
        return self.shaping

    def endpoint_options(self, endpoint_id: str) -> dict[str, Any]:
        """The delivery options of one endpoint (its own, else the global shaping)."""
        endpoint = self.state.get(endpoint_id)
        own = endpoint.private.get("delivery", {}) if endpoint is not None else {}
        return {
            "schedule": own.get("schedule", self.shaping.schedule),
            "reorder": bool(own.get("reorder", False)) or self.shaping.reorder,
            "duplicate_rate": max(float(own.get("duplicate_rate", 0)), self.shaping.duplicate_rate),
        }

    def configure_endpoint(self, endpoint_id: str, **changes: Any) -> dict[str, Any]:
        endpoint = self.state.get(endpoint_id)
        if endpoint is None or endpoint.obj.get("object") != "webhook_endpoint":
            raise LookupError(f"No such webhook endpoint: {endpoint_id}")
        own = dict(endpoint.private.get("delivery", {}))
        for key, value in changes.items():
            if key not in ENDPOINT_OPTIONS:
                raise ValueError(f"unknown endpoint option: {key}")
            if key == "schedule" and value not in ("fast", *SCHEDULES):
                raise ValueError("schedule must be fast, test or live")
            if key == "duplicate_rate" and not 0 <= float(value) <= 1:
                raise ValueError("duplicate_rate must be between 0 and 1")
            own[key] = {"reorder": bool, "duplicate_rate": float}.get(key, str)(value)
        endpoint.private["delivery"] = own
        self.notify()
        return self.endpoint_options(endpoint_id)

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
            rate = self.endpoint_options(endpoint_id)["duplicate_rate"]
            copies = 2 if rate and self.rng.random() < rate else 1
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
        mono, clock = time.monotonic(), self.state.now()
        waits = [d.at - clock if d.at is not None else d.due - mono for d in self.queue]
        return max(0.01, min(waits))

    def _is_due(self, d: Delivery, force: bool) -> bool:
        if d.at is not None:  # on Stripe's schedule: only when the emulator clock says so
            return self.state.now() >= d.at
        return force or d.due <= time.monotonic()

    async def flush(self) -> int:
        """Deliver everything queued now (ignoring delay and pause), one attempt each."""
        self.ensure_started()
        self._collect()
        for d in self.queue:
            if d.at is None:
                d.due = 0
        return await self._deliver_due(force=True)

    async def _deliver_due(self, force: bool) -> int:
        assert self._busy is not None
        async with self._busy:
            due = [d for d in self.queue if self._is_due(d, force)]
            if not due:
                return 0
            for d in due:
                self.queue.remove(d)
            due.sort(key=lambda d: d.seq)
            groups: dict[str, list[Delivery]] = {}
            for d in due:
                groups.setdefault(d.endpoint_id, []).append(d)
            for endpoint_id, group in groups.items():
                if self.endpoint_options(endpoint_id)["reorder"]:
                    self.rng.shuffle(group)
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
        if endpoint.obj["status"] == "disabled":  # Stripe stops retrying to it
            self._record(d.event_id, d.endpoint_id, d.attempt, None, "skipped_disabled", None)
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
            endpoint.private.pop("failing_since", None)
            self._record(d.event_id, d.endpoint_id, d.attempt, status, "delivered", error, url)
            return
        schedule = self.endpoint_options(d.endpoint_id)["schedule"]
        if schedule in SCHEDULES:
            self._retry_on_schedule(d, SCHEDULES[schedule], status, error, url)
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

    def _retry_on_schedule(
        self,
        d: Delivery,
        delays: tuple[int, ...],
        status: int | None,
        error: str | None,
        url: str,
    ) -> None:
        endpoint = self.state.get(d.endpoint_id)
        assert endpoint is not None
        now = self.state.now()
        since = endpoint.private.setdefault("failing_since", now)
        if now - since >= FAILURE_WINDOW:
            endpoint.obj["status"] = "disabled"
            self._record(d.event_id, d.endpoint_id, d.attempt, status, "disabled", error, url)
            return
        if d.attempt > len(delays):
            self._record(d.event_id, d.endpoint_id, d.attempt, status, "failed", error, url)
            return
        self._record(d.event_id, d.endpoint_id, d.attempt, status, "retrying", error, url)
        self._seq += 1
        self.queue.append(
            Delivery(
                d.event_id,
                d.endpoint_id,
                due=0,
                attempt=d.attempt + 1,
                seq=self._seq,
                at=now + delays[d.attempt - 1],
            )
        )

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
