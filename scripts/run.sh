#!/usr/bin/env bash
# Set up and run AgentBox Telemetry: virtual environment, install, migrate, the ingestor in
# watch mode and the dashboard at http://127.0.0.1:8501 (TELEMETRY_ADDRESS/TELEMETRY_PORT).
#
#   bash scripts/run.sh                      # reads $OPENCLAW_STATE_DIR or ~/.openclaw (and friends)
#   bash scripts/run.sh --source /path/to/state-dir [--source ...]
#   bash scripts/run.sh --demo               # generate a demo state dir first and read that
#
# Stops both processes on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import ingestor, webapp, dash" 2>/dev/null || [ pyproject.toml -nt .venv/.installed ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e .
  touch .venv/.installed
fi
BIN=.venv/bin/agentbox-telemetry

args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --demo)
      demo_dir=${DEMO_DIR:-./openclaw-demo}
      if [ ! -d "$demo_dir/agents" ]; then "$BIN" demo --out "$demo_dir"; fi
      # its gateway logs sit in logs/ (OpenClaw's own go to /tmp/openclaw, read by default)
      args+=(--source "$demo_dir" --source "$demo_dir/logs")
      shift ;;
    *) args+=("$1"); shift ;;
  esac
done

"$BIN" db upgrade
"$BIN" ingest --watch ${args[@]+"${args[@]}"} &
ingest_pid=$!
trap 'kill -TERM $ingest_pid 2>/dev/null; wait $ingest_pid 2>/dev/null' EXIT INT TERM
echo "dashboard: http://${TELEMETRY_ADDRESS:-127.0.0.1}:${TELEMETRY_PORT:-8501}"
"$BIN" serve
