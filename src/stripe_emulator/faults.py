"""Fault injection for ``/v1`` requests, deterministic from a seed.

A rule matches the string ``"METHOD /v1/path"`` with a regex and fires either
for the next ``count`` matching requests or with probability ``rate`` drawn
from ``random.Random(seed)``.  Kinds:

* ``5xx``       - answer 500 ``api_error`` *before* executing (a retry is honest);
* ``5xx_after`` - execute, then answer 500 (the idempotency key replays the result);
* ``429``       - answer 429 ``rate_limit`` with ``Stripe-Should-Retry: true``;
* ``timeout``   - sleep ``timeout_ms`` (default 3000) before handling, so the
  client times out; the request still executes afterwards, like a slow server;
* ``latency``   - sleep ``latency_ms`` then handle normally.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

KINDS = ("5xx", "5xx_after", "429", "timeout", "latency")


@dataclass
class Fault:
    route: re.Pattern[str]
    kind: str
    count: int | None
    rate: float | None
    latency_ms: int
    timeout_ms: int
    seed: int
    rng: random.Random = field(repr=False, default_factory=random.Random)
    fired: int = 0
    handled: int = 0  # requests it fired on that then went on to be handled

    def describe(self) -> dict[str, Any]:
        return {
            "route": self.route.pattern,
            "kind": self.kind,
            "count": self.count,
            "rate": self.rate,
            "latency_ms": self.latency_ms,
            "timeout_ms": self.timeout_ms,
            "seed": self.seed,
            "fired": self.fired,
            "handled": self.handled,
        }


class Faults:
    def __init__(self) -> None:
        self.rules: list[Fault] = []

    def add(self, spec: dict[str, Any]) -> Fault:
        kind = spec.get("kind")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        try:
            pattern = re.compile(str(spec.get("route", ".*")))
        except re.error as exc:
            raise ValueError(f"invalid route regex: {exc}") from exc
        count = spec.get("count")
        rate = spec.get("rate")
        if count is None and rate is None:
            count = 1
        seed = int(spec.get("seed", 0))
        fault = Fault(
            route=pattern,
            kind=kind,
            count=None if count is None else int(count),
            rate=None if rate is None else float(rate),
            latency_ms=int(spec.get("latency_ms", 1000)),
            timeout_ms=int(spec.get("timeout_ms", 3000)),
            seed=seed,
            rng=random.Random(seed),
        )
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()

    def pick(self, request_line: str) -> Fault | None:
        for rule in self.rules:
            if not rule.route.search(request_line):
                continue
            if rule.count is not None:
                if rule.count > 0:
                    rule.count -= 1
                    rule.fired += 1
                    return rule
                continue
            if rule.rate is not None and rule.rng.random() < rule.rate:
                rule.fired += 1
                return rule
        return None
