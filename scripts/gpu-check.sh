#!/usr/bin/env bash
# The GPU check (under 8 minutes on one GPU): the gpu-marked tests, then bench/train_gpu.py
# (SRL training steps against plain TRL GRPO on a random Qwen2.5-0.5B-shaped model, as ratios).
#
#   bash scripts/gpu-check.sh                  # on a CUDA machine; results in $OUT (default runs/gpu-check)
#   bash scripts/gpu-check.sh --dry-run        # on CPU: the same script path with the tiny model, no timing claims
#   bash scripts/gpu-check.sh --prepare-wheels [PKG...]  # here, before carrying the tree to an offline GPU machine
#
# An offline GPU machine may lack packages (trl, datasets, ...): --prepare-wheels downloads the versions
# installed here, for Python 3.12, into .carry/wheels (git-ignored; carry it with the tree: ~6 MB for the
# default list), and the check installs from there, offline, whichever of them the machine lacks. trl and
# datasets also import pandas and pyarrow: name them too if the machine lacks them (pyarrow's wheel is 55 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-runs/gpu-check}
WHEELS=.carry/wheels
CARRIED=(trl datasets dill multiprocess xxhash rapidfuzz unidiff typer rich shellingham pyyaml)

if [[ "${1:-}" == "--prepare-wheels" ]]; then
  shift
  [[ $# -gt 0 ]] && CARRIED=("$@")
  mkdir -p "$WHEELS"
  specs=$("$PY" - "${CARRIED[@]}" <<'PYEOF'
import importlib.metadata as m, sys
print(" ".join(f"{n}=={m.version(n)}" for n in sys.argv[1:]))
PYEOF
)
  # shellcheck disable=SC2086
  "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --platform any -d "$WHEELS" $specs
  du -sh "$WHEELS"
  exit 0
fi

if compgen -G "$WHEELS/*.whl" >/dev/null; then
  missing=$("$PY" - "$WHEELS" <<'PYEOF'
import importlib.metadata as m, pathlib, sys
for wheel in sorted(pathlib.Path(sys.argv[1]).glob("*.whl")):
    name = wheel.name.split("-")[0]
    try:
        m.version(name)
    except m.PackageNotFoundError:
        print(wheel)
PYEOF
)
  if [[ -n "$missing" ]]; then
    echo "[gpu-check] installing carried wheels: $(echo "$missing" | xargs -n1 basename | tr '\n' ' ')"
    # shellcheck disable=SC2086
    "$PY" -m pip install -q --no-index --no-deps $missing
  fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" - <<'PYEOF'
import importlib.util, sys
missing = [m for m in ("torch", "transformers", "accelerate", "peft", "trl", "datasets", "pandas", "pyarrow", "yaml")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"[gpu-check] missing: {', '.join(missing)}: bash scripts/gpu-check.sh --prepare-wheels on a networked "
             "machine (name these packages), then carry .carry/wheels")
PYEOF

# only the files that hold gpu tests: collecting the rest would import Docker's and SWE-bench's clients
mapfile -t gpu_tests < <(grep -l "pytest.mark.gpu" tests/test_*.py)

if [[ "${1:-}" == "--dry-run" ]]; then
  "$PY" -m pytest -m gpu -q -p no:cacheprovider --collect-only "${gpu_tests[@]}" >/dev/null
  "$PY" bench/train_gpu.py --dry-run --out "$OUT"
  exit 0
fi
"$PY" -c "import torch; assert torch.cuda.is_available(), 'no CUDA device: use --dry-run'; print('[gpu-check]', torch.cuda.get_device_name(), 'torch', torch.__version__)"
echo "[gpu-check] gpu-marked tests"
timeout 240 "$PY" -m pytest -m gpu -q -p no:cacheprovider "${gpu_tests[@]}"
echo "[gpu-check] bench/train_gpu.py"
timeout 300 "$PY" bench/train_gpu.py --out "$OUT"
