# Shared by scripts/run and scripts/test: a project-local virtual environment,
# (re)installed whenever pyproject.toml changes. Needs only Python 3.11.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info < (3, 14) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  echo "Storeplex needs Python 3.11 to 3.13 (for example: apt-get install python3.11)" >&2
  return 1
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

ensure_venv() {
  local python stamp want
  python="$(find_python)"
  if [ ! -x "$VENV/bin/python" ]; then
    echo "Creating the virtual environment in .venv ..."
    if ! "$python" -m venv "$VENV" 2>/dev/null; then
      rm -rf "$VENV"
      echo "python venv is missing; installing it with apt-get" >&2
      as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv >/dev/null
      "$python" -m venv "$VENV"
    fi
  fi
  stamp="$VENV/.storeplex-installed"
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing Storeplex and its dependencies into .venv ..."
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e "$ROOT[dev]"
    echo "$want" > "$stamp"
  fi
}

ensure_chromium() {
  # Browser tests drive Debian's Chromium; never a downloaded browser build.
  if [ -x /usr/bin/chromium ]; then return 0; fi
  echo "Installing Chromium for the browser tests (apt-get install chromium) ..."
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; then
    echo "Could not install Chromium; browser tests will be skipped." >&2
  fi
}

ensure_pgbouncer() {
  # With PostgreSQL, the money, reliability and webhook tests also run through Debian's
  # pgbouncer in transaction pooling mode (tests/support/pgbouncer.py starts it).
  if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then return 0; fi
  echo "Installing pgbouncer for the pooled PostgreSQL tests (apt-get install pgbouncer) ..."
  if ! { as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; }; then
    echo "Could not install pgbouncer; the tests through it will be skipped." >&2
  fi
}

ensure_axe() {
  # The accessibility checks of the browser tests inject axe-core from the npm registry.
  if [ -f "$ROOT/.cache/npm/node_modules/axe-core/axe.min.js" ]; then return 0; fi
  if ! command -v npm >/dev/null; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null || true
  fi
  echo "Installing axe-core for the browser tests (npm install axe-core@4) ..."
  if ! npm install --silent --prefix "$ROOT/.cache/npm" axe-core@4 >/dev/null; then
    echo "Could not install axe-core; accessibility checks will be skipped." >&2
  fi
}
