#!/usr/bin/env bash
# The test command (README command two; .ci/run calls exactly this): set up, lint, check the wheel, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

bash scripts/setup.sh
echo "[test] ruff"
"$PY" -m ruff check .
echo "[test] wheel install in a fresh venv"
bash scripts/check-wheel.sh
echo "[test] pytest"
"$PY" -m pytest -m "not gpu" "$@"
