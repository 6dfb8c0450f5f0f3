"""Optional state file: the whole :class:`State` as JSON, written atomically, debounced.

Loaded at start when the file exists; saved at most every ``interval`` seconds
after a mutation (and on shutdown), through a temporary file and
``os.replace`` so a crash never leaves a half-written file.  Indexes
(per-account lists, pending balance transactions, open payouts) are rebuilt
from the objects on load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from stripe_emulator.state import IdemRecord, State

log = logging.getLogger("stripe_emulator.persistence")
VERSION = 1


def to_json(state: State) -> dict[str, Any]:
    return {
        "version": VERSION,
        "clock_offset": state.clock.offset,
        "seq": state.seq,
        "last_tick": state.last_tick,
        "objects": [
            {"obj": s.obj, "owner": s.owner, "seq": s.seq, "private": s.private}
            for s in sorted(state.objects.values(), key=lambda s: s.seq)
        ],
        "idempotency": [
            {
                "key": list(key),
                "fingerprint": r.fingerprint,
                "status": r.status,
                "body": r.body.decode(),
                "headers": r.headers,
                "created": r.created,
            }
            for key, r in state.idempotency.items()
        ],
        "tokens": state.tokens,
        "keys": state.keys,
        "outbox": [list(item) for item in state.outbox],
        "settings": {
            "platform_available_delay_days": state.platform_available_delay_days,
            "next_refund_outcome": state.next_refund_outcome,
            "next_payout_failure": state.next_payout_failure,
        },
    }


def from_json(data: dict[str, Any]) -> State:
    if data.get("version") != VERSION:
        raise ValueError(f"unsupported state file version {data.get('version')!r}")
    state = State()
    state.clock.offset = int(data["clock_offset"])
    for row in data["objects"]:
        stored = state.add(row["obj"], row["owner"], **row["private"])
        stored.seq = int(row["seq"])
        obj = stored.obj
        if obj.get("object") == "balance_transaction" and obj["status"] == "pending":
            state.pending_txns.add(obj["id"])
        if obj.get("object") == "payout" and obj["status"] in ("pending", "in_transit"):
            state.open_payouts.add(obj["id"])
    state.seq = int(data["seq"])
    state.last_tick = int(data["last_tick"])
    for row in data["idempotency"]:
        platform, account, key = row["key"]
        state.idempotency[(platform, account, key)] = IdemRecord(
            row["fingerprint"],
            int(row["status"]),
            row["body"].encode(),
            row["headers"],
            int(row["created"]),
        )
    state.tokens = data["tokens"]
    for key, country in data.get("keys", {}).items():
        state.register_key(str(key), str(country))
    state.outbox = [(e, ep, v) for e, ep, v in data["outbox"]]
    settings = data["settings"]
    state.platform_available_delay_days = int(settings["platform_available_delay_days"])
    state.next_refund_outcome = settings["next_refund_outcome"]
    state.next_payout_failure = settings["next_payout_failure"]
    return state


def load(path: str) -> State | None:
    file = Path(path)
    if not file.exists():
        return None
    try:
        return from_json(json.loads(file.read_text()))
    except Exception:
        log.exception("could not load emulator state from %s; starting empty", path)
        return None


def save(state: State, path: str) -> None:
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(to_json(state), separators=(",", ":"))
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=file.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(payload)
        os.replace(tmp, file)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Saver:
    """Debounced background saving."""

    def __init__(self, state: State, path: str, interval: float = 0.5) -> None:
        self.state = state
        self.path = path
        self.interval = interval
        self._pending: asyncio.Task[None] | None = None

    def mark(self) -> None:
        if self._pending is None or self._pending.done():
            self._pending = asyncio.get_running_loop().create_task(self._later())

    async def _later(self) -> None:
        await asyncio.sleep(self.interval)
        await self.flush()

    async def flush(self) -> None:
        async with self.state.lock:
            save(self.state, self.path)
