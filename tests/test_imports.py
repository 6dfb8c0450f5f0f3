"""Every module under src/ imports on its own, in a fresh interpreter.

A command-line entry point imports one module first; a circular import hidden by
the suite's import order (the suite imports the app first) would break that command
for every user. One child interpreter warms the third-party packages, then forks once
per module, so each module is imported first in a process of its own.
"""

from __future__ import annotations

import ast
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


def _import_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports, at the top or inside functions alike."""
    modules: dict[str, Path] = {}
    for path in SRC.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan), each one cycle or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_anywhere_under_src() -> None:
    """Not even through an import written inside a function to dodge the cycle at start."""
    graph = _import_graph()
    assert len(graph) > 100
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_layer_contracts_hold() -> None:
    """import-linter's contracts in pyproject.toml: each layer imports only the layers below
    it, and only the gateway imports the stripe SDK."""
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--config", str(SRC.parent / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=SRC.parent,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "2 kept, 0 broken" in result.stdout


TESTS = Path(__file__).resolve().parent


def test_helpers_shared_by_tests_live_outside_test_modules() -> None:
    """A test module or a conftest is never imported by another file: shared steps live in
    tests/support/ (or a support module beside the tests that use them), so running one test
    file never collects another's tests and fixtures come from conftest/plugins only."""
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                last = node.module.rsplit(".", 1)[-1]
                if node.module.startswith("tests.") and (
                    last.startswith("test_") or last == "conftest"
                ):
                    offenders.append(f"{path.relative_to(TESTS)} imports {node.module}")
    assert offenders == []
