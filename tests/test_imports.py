"""Every module under src/ imports on its own, in a fresh interpreter.

A command-line entry point imports one module first; a circular import hidden by
the suite's import order (the suite imports the app first) would break that command
for every user. One child interpreter warms the third-party packages, then forks once
per module, so each module is imported first in a process of its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

CHILD = r"""
import importlib, os, sys, traceback
from pathlib import Path
root = Path(sys.argv[1])
mods = []
for p in sorted(root.rglob("*.py")):
    rel = p.relative_to(root)
    if "migrations" in rel.parts or p.name == "__main__.py":
        continue
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    mods.append(".".join(parts))
for name in ("sqlalchemy", "sqlalchemy.ext.asyncio", "fastapi", "pydantic", "stripe", "httpx",
             "jinja2", "typer", "uvicorn", "alembic"):
    importlib.import_module(name)
print(len(mods))
for m in mods:
    pid = os.fork()
    if pid == 0:
        try:
            importlib.import_module(m)
        except BaseException:
            sys.stdout.write(f"{m}: {traceback.format_exc(limit=3)}\n")
            sys.stdout.flush()
            os._exit(1)
        os._exit(0)
    os.waitpid(pid, 0)
"""


def test_every_module_imports_on_its_own() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(SRC)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    count, _, failures = result.stdout.partition("\n")
    assert int(count) > 100  # every package was walked, not an empty tree
    assert failures.strip() == "", failures
