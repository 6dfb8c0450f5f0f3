"""Optional state file: pickle the whole :class:`State` atomically, debounced.

Loaded at start when the file exists; saved at most every ``interval`` seconds
after a mutation (and on shutdown), through a temporary file and ``os.replace``
so a crash never leaves a half-written file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import tempfile
from pathlib import Path

from stripe_emulator.state import State

log = logging.getLogger("stripe_emulator.persistence")


def load(path: str) -> State | None:
    file = Path(path)
    if not file.exists():
        return None
    try:
        with file.open("rb") as fh:
            state = pickle.load(fh)  # noqa: S301 - our own file, written by save()
    except Exception:
        log.exception("could not load emulator state from %s; starting empty", path)
        return None
    return state if isinstance(state, State) else None


def save(state: State, path: str) -> None:
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=file.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(state, fh)
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
