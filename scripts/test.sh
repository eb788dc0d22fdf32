#!/usr/bin/env bash
# The test command (README command two; .ci/run calls exactly this): set up, lint, type-check, check the wheel, run pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

bash scripts/setup.sh
echo "[test] installing the ray extra (tests/test_ray_executor.py runs a local Ray cluster)"
"$PY" -m pip install -q -e ".[ray]"
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "[test] installing Debian's chromium (the report test renders the HTML report headless)"
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
fi
echo "[test] ruff"
"$PY" -m ruff check .
echo "[test] mypy (the stage packages, through the swesrl/<stage> links)"
"$PY" -m mypy -p swesrl
echo "[test] wheel install in a fresh venv"
bash scripts/check-wheel.sh
echo "[test] pytest"
"$PY" -m pytest -m "not gpu" "$@"
