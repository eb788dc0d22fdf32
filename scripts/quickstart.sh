#!/usr/bin/env bash
# README command one: set everything up (packages, Docker) and run the default pipeline on the bundled data.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
bash scripts/setup.sh
"$PY" -m swesrl quickstart "$@"
