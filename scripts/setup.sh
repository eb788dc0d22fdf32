#!/usr/bin/env bash
# Install swesrl and what it needs on a fresh machine (idempotent): torch (CPU wheel unless one is
# already installed), the package with its train/eval/dev extras, and a running Docker daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if ! "$PY" -c "import torch" 2>/dev/null; then
  echo "[setup] installing torch==2.13.0 (CPU)"
  "$PY" -m pip install -q torch==2.13.0
fi
echo "[setup] installing swesrl[train,eval,dev]"
"$PY" -m pip install -q -e ".[train,eval,dev]"
bash scripts/setup-docker.sh
