"""The load generator: N concurrent workers, bounded by a count and a time limit.

A job is an async function of its sequence number that does one unit of work
(one or several requests) and records how long its parts took; a job that
raises counts as an error. Latencies are wall-clock seconds seen by the client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

Job = Callable[[int], Awaitable[None]]


@dataclass
class Timings:
    """Latencies by name, in seconds, plus the jobs' errors."""

    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.samples.setdefault(name, []).append(seconds)


@dataclass
class LoadResult:
    completed: int
    errors: int
    elapsed: float
    timings: Timings

    @property
    def rate(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def drive(
    job: Job, timings: Timings, *, concurrency: int, count: int, seconds: float
) -> LoadResult:
    """Run `job(0..count-1)` on `concurrency` workers until done or `seconds` have passed."""
    next_index = 0
    completed = 0
    started = time.perf_counter()
    deadline = started + seconds

    async def worker() -> None:
        nonlocal next_index, completed
        while next_index < count and time.perf_counter() < deadline:
            index = next_index
            next_index += 1
            try:
                await job(index)
                completed += 1
            except Exception as exc:  # a failed job is counted and reported, never hidden
                if len(timings.errors) < 20:
                    timings.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                else:
                    timings.errors.append("")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return LoadResult(completed, len(timings.errors), elapsed, timings)


def make_clients(urls: Sequence[str], concurrency: int) -> list[httpx.AsyncClient]:
    """One pooled client per app process; jobs alternate between them."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return [
        httpx.AsyncClient(base_url=url, timeout=30, limits=limits, trust_env=False) for url in urls
    ]


async def timed(timings: Timings, name: str, call: Awaitable[httpx.Response]) -> httpx.Response:
    """Await a request, record its latency under `name`, and insist on a 2xx."""
    start = time.perf_counter()
    response = await call
    timings.add(name, time.perf_counter() - start)
    if not response.is_success:
        raise RuntimeError(f"{name}: HTTP {response.status_code} {response.text[:200]}")
    return response
