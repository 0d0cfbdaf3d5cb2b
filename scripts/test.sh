#!/usr/bin/env bash
# Set up and run every test: virtual environment, install with dev extras, Debian's chromium
# for the browser tests (when root and missing), then ruff, mypy, import-linter and pytest.
#
# PostgreSQL tests use $TELEMETRY_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test);
# without a server they are skipped with the reason shown, unless TELEMETRY_REQUIRE_PG=1.
# Browser tests need /usr/bin/chromium; without it they are skipped with the reason shown,
# unless TELEMETRY_REQUIRE_BROWSER=1. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import ingestor, webapp, pytest, playwright" 2>/dev/null || [ pyproject.toml -nt .venv/.installed-dev ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".[dev]"
  touch .venv/.installed-dev
fi

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy"; .venv/bin/mypy
echo "== import-linter"; .venv/bin/lint-imports
echo "== pytest"; .venv/bin/pytest "$@"
