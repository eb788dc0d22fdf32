#!/usr/bin/env bash
# Build the wheel, install it (no deps beyond the core ones) into a fresh venv, and run `swesrl --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PY" -m build --wheel --outdir "$tmp/dist" . >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
"$PY" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q "$tmp"/dist/swesrl-*.whl 2>&1 | grep -v "^WARNING: Location" || true
cd "$tmp"  # away from the source tree, so only site-packages can answer imports
"$tmp/venv/bin/swesrl" --help >/dev/null
"$tmp/venv/bin/python" - <<'PY'
import importlib.util, swesrl
for bare in ("agent", "eval", "sandbox", "training", "trajectories"):
    assert importlib.util.find_spec(bare) is None, f"bare package {bare!r} leaked into site-packages"
import swesrl.trajectories, swesrl.cli
print("[wheel] ok:", swesrl.__version__)
PY
# The report's templates ship in the wheel and render on a core install (no matplotlib needed without plots).
mkdir "$tmp/empty"
"$tmp/venv/bin/swesrl" report "$tmp/empty" >/dev/null && grep -q "No training metrics" "$tmp/empty/report/report.html" \
  || { echo "[wheel] swesrl report failed on a core install"; exit 1; }
# Core install only: commands that need an extra say which, in one line, before any work.
touch "$tmp/preds.jsonl"
set +e
msg=$("$tmp/venv/bin/swesrl" eval patches --tasks "$tmp/none.jsonl" --predictions "$tmp/preds.jsonl" --run-id r 2>&1)
rc=$?
set -e
[ "$rc" = 3 ] && [ "$(printf '%s\n' "$msg" | wc -l)" = 1 ] && printf '%s\n' "$msg" | grep -q "swesrl\[eval\]" \
  || { echo "[wheel] a missing extra should be one line naming swesrl[eval] (exit 3), got exit $rc: $msg"; exit 1; }
echo "[wheel] missing extra: $msg"
