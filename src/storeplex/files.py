"""Files under the data dir that hold secrets or shoppers' data: created 0600 from the start.

A file written first and chmod-ed after is readable by others for a moment; these
helpers create it with the right mode (and a data dir of 0700), and tighten an
existing file that is wider than that.
"""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) if needed; a directory we create is 0700."""
    if not path.exists():
        path.mkdir(parents=True, mode=PRIVATE_DIR, exist_ok=True)


def ensure_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 if missing; tighten it to 0600 if it is wider.

    An existing file is never opened here: closing any descriptor of a SQLite database
    drops every POSIX lock this process holds on it, and another process could then
    write over pages this one is using (SQLite's "how to corrupt a database" case).
    """
    ensure_private_dir(path.parent)
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        except FileExistsError:
            pass  # created meanwhile by another process: only tighten it below
        else:
            os.close(fd)
    if path.stat().st_mode & 0o077:
        path.chmod(PRIVATE_FILE)


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, the file being 0600 before any byte is in it."""
    ensure_private_file(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
