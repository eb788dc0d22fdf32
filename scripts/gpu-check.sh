#!/usr/bin/env bash
# The GPU check, one prepared script (about 3-5 minutes on one H200, 10 at most, offline): the gpu-marked tests,
# then bench/train_gpu.py (SRL training steps against plain TRL GRPO on a random Qwen2.5-0.5B-shaped model, as
# ratios). Figures: $OUT/gpu-check.md, to paste into BENCHMARKS.md (with train_gpu.json and gpu-check.log beside).
#
#   bash scripts/gpu-check.sh --prepare-wheels [PKG...]  # on a networked machine first: .carry/wheels (~20 MB)
#   bash scripts/gpu-check.sh                  # on the CUDA machine, with .carry carried; OUT defaults to runs/gpu-check
#   bash scripts/gpu-check.sh --dry-run        # on CPU: the same path with the tiny model, no timing claims
#
# An offline GPU machine may lack packages or hold other versions: --prepare-wheels downloads the versions
# installed here (trl, datasets, transformers, peft, accelerate and the pins datasets needs; PKG... adds more),
# for Python 3.12, into .carry/wheels (git-ignored), and older fallbacks that ask less of the machine into
# .carry/wheels/fallback. The check installs each carried wheel whose package is missing there or at another
# version into a scratch folder put first on PYTHONPATH (nothing of the machine's own install changes), taking
# a fallback where the tested version's requirements on uncarried packages fail (datasets 5.2 needs pyarrow>=24,
# and pyarrow's wheel alone is 55 MB, too big to carry), then names any requirement still unmet
# (scripts/carried_wheels.py).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-runs/gpu-check}
if [[ -z "${WORK:-}" ]]; then WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT; fi
WHEELS=.carry/wheels
CARRIED=(trl datasets transformers peft accelerate dill multiprocess fsspec)
# installed instead where the machine's pyarrow is older than datasets 5.2's >=24 (5.0.0 asks TRL's >=21; the
# bench and the data tests pass with it here)
FALLBACK=(datasets==5.0.0)

if [[ "${1:-}" == "--prepare-wheels" ]]; then
  shift
  CARRIED+=("$@")
  mkdir -p "$WHEELS"
  specs=$("$PY" - "${CARRIED[@]}" <<'PYEOF'
import importlib.metadata as m, sys
print(" ".join(f"{n}=={m.version(n)}" for n in sys.argv[1:]))
PYEOF
)
  fetch=("$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp
         --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --platform any)
  # shellcheck disable=SC2086
  "${fetch[@]}" -d "$WHEELS" $specs
  "${fetch[@]}" -d "$WHEELS/fallback" "${FALLBACK[@]}"
  du -sh "$WHEELS"
  exit 0
fi
mode=${1:-}
if [[ -n "$mode" && "$mode" != "--dry-run" ]]; then
  echo "usage: bash scripts/gpu-check.sh [--dry-run | --prepare-wheels [PKG...]]" >&2
  exit 2
fi
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-check.log") 2>&1

if compgen -G "$WHEELS/*.whl" >/dev/null; then
  mapfile -t install < <("$PY" scripts/carried_wheels.py choose "$WHEELS")
  if (( ${#install[@]} )); then
    echo "[gpu-check] installing carried wheels (missing here or another version): $(printf '%s ' "${install[@]##*/}")"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check --target "$WORK/site" "${install[@]}"
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
  fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
"$PY" - <<'PYEOF'
import importlib.util, sys

missing = [n for n in ("torch", "transformers", "accelerate", "peft", "trl", "datasets", "pandas", "pyarrow", "yaml")
           if importlib.util.find_spec(n) is None]
if missing:
    sys.exit(f"[gpu-check] missing: {', '.join(missing)}: bash scripts/gpu-check.sh --prepare-wheels on a networked "
             "machine (naming these packages), then carry .carry")
PYEOF
"$PY" scripts/carried_wheels.py check "${CARRIED[@]}"   # unmet requirements are reported, not fatal

# only the files that hold gpu tests: collecting the rest would import Docker's and SWE-bench's clients
mapfile -t gpu_tests < <(grep -l "pytest.mark.gpu" tests/test_*.py)
tests_status=0
if [[ "$mode" == "--dry-run" ]]; then
  summary=$("$PY" -m pytest -m gpu -q -p no:cacheprovider --collect-only "${gpu_tests[@]}" | tail -1)
  summary="dry run, collected only: $summary"
  "$PY" bench/train_gpu.py --dry-run --out "$OUT" --work "$WORK"
else
  "$PY" -c "import sys, torch; torch.cuda.is_available() or sys.exit('[gpu-check] no CUDA device here (torch ' + torch.__version__ + '): bash scripts/gpu-check.sh --dry-run runs the same path on CPU'); print('[gpu-check]', torch.cuda.get_device_name(), 'torch', torch.__version__)"
  echo "[gpu-check] gpu-marked tests"
  set +e
  timeout 200 "$PY" -m pytest -m gpu -q -p no:cacheprovider --basetemp "$WORK/pytest" "${gpu_tests[@]}" | tee "$WORK/tests.log"
  tests_status=${PIPESTATUS[0]}
  set -e
  summary="$(tail -1 "$WORK/tests.log") (exit $tests_status)"
  echo "[gpu-check] bench/train_gpu.py"
  timeout 300 "$PY" bench/train_gpu.py --out "$OUT" --work "$WORK"
fi
{
  echo "### GPU check, $(date -u +%F)"
  echo
  echo "\`bash scripts/gpu-check.sh${mode:+ $mode}\`: gpu-marked tests: $summary."
  echo
  cat "$OUT/train_gpu.md"
} > "$OUT/gpu-check.md"
echo "[gpu-check] wrote $OUT/gpu-check.md"
exit "$tests_status"
