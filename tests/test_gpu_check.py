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
