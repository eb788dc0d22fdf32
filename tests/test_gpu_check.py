"""scripts/gpu-check.sh --dry-run: the GPU check's bench runs on CPU with the tiny model, so the script a
GPU machine will run is known to work end to end (its CPU figures measure nothing and are not claimed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")
ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_dry_run_trains_srl_and_trl_and_reports_ratios(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "out"), "OMP_NUM_THREADS": "1", "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh"), "--dry-run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "out" / "train_gpu.json").read_text())
    [run] = report["runs"]
    assert run["generation"] == "transformers" and report["device"] == "cpu"
    for kind in ("srl", "trl"):
        assert run[kind]["steps"] == 2 and run[kind]["step_s"] > 0 and run[kind]["tokens_per_s"] > 0
    assert 0 < run["srl"]["real_share_padded"] <= run["srl"]["real_share"] <= 1  # what the cuts kept of TRL's width
    assert set(run["ratios"]) == {"step_time_srl_over_trl", "tokens_per_s_srl_over_trl"}
    assert "SRL/TRL: step_time_srl_over_trl" in proc.stdout
    pasted = (tmp_path / "out" / "gpu-check.md").read_text()  # what goes into BENCHMARKS.md
    assert "gpu-marked tests: dry run, collected only:" in pasted and "| transformers | SRL |" in pasted
    assert "SRL / TRL, same run: transformers: step_time_srl_over_trl" in pasted
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["gpu-check.log", "gpu-check.md", "train_gpu.json",
                                                                   "train_gpu.md"]  # models and runs stay in WORK


def test_gpu_check_without_a_gpu_says_so_in_one_line(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("[gpu-check] no CUDA device here"), proc.stdout


def _wheel(folder: Path, name: str, version: str, *requires: str) -> Path:
    import zipfile

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    meta = "Metadata-Version: 2.1\n" + f"Name: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}-{version}.dist-info/METADATA", meta)
    return path


def test_carried_wheels_take_a_fallback_where_the_machine_misses_a_requirement(tmp_path):
    """What an offline GPU machine installs from .carry/wheels, decided against this machine's packages."""
    import importlib.metadata as m

    wheels = tmp_path / "wheels"
    trl = m.version("trl")
    _wheel(wheels, "trl", trl, "datasets>=4.7")  # installed at this version, needs a carried package: nothing to do
    _wheel(wheels, "datasets", "99.0.0", "pyarrow>=999", "huggingface-hub")  # the machine's pyarrow is too old for it
    fallback = _wheel(wheels / "fallback", "datasets", "98.0.0", "pyarrow>=1")
    _wheel(wheels / "fallback", "datasets", "97.0.0", "pyarrow>=1")  # an older fallback: never reached
    absent = _wheel(wheels, "no_such_package", "1.0", 'pyarrow>=1; extra == "arrow"')
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "carried_wheels.py"), "choose", str(wheels)],
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(fallback), str(absent)]
    check = subprocess.run([sys.executable, str(ROOT / "scripts" / "carried_wheels.py"), "check", "trl", "no-such-package"],
                           capture_output=True, text=True, check=True).stdout
    assert "requirement not met here: no-such-package: not installed" in check and f"trl {trl}" in check
