"""The default training run learns: README command one's training stages on the bundled expert runs
(split -> tiny model -> SFT warm start -> SRL, the same `swesrl` commands the quickstart runs) end,
and SRL's mean reward rises while format errors fall. The curve is printed (run pytest with -s or
-rA to see it) and plotted to .pytest_artifacts/srl_reward_mean.png.

Seeds are fixed and the tiny model runs on one thread, so the curve is the same from run to run on
one machine; the margins leave room for other CPUs' float rounding.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXPERT_RUNS = ROOT / "examples" / "trajectories" / "expert_runs.jsonl"
ARTIFACTS = ROOT / ".pytest_artifacts"
MIN_RISE = 0.15  # mean reward, last third of the steps minus first third (rewards lie in [-1, 1])


def swesrl(*args: str) -> float:
    """Run one `swesrl` command like a user would; returns its wall time. Fails with its output."""
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "swesrl", *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"swesrl {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return time.monotonic() - start


def third_means(rows: list[dict], key: str) -> tuple[float, float]:
    third = len(rows) // 3
    first, last = rows[:third], rows[-third:]
    return sum(m[key] for m in first) / third, sum(m[key] for m in last) / third


@pytest.mark.slow
def test_srl_reward_rises_on_the_bundled_expert_runs(tmp_path):
    steps, tiny, sft, srl = tmp_path / "steps.jsonl", tmp_path / "tiny", tmp_path / "sft", tmp_path / "srl"
    times = {
        "split": swesrl("traj", "split", str(EXPERT_RUNS), "-o", str(steps)),
        "init-tiny": swesrl("model", "init-tiny", str(tiny), "--corpus", str(steps)),
        "sft": swesrl("train", "sft", "--recipe", "tiny-cpu-sft", "--data", str(steps), "--model", str(tiny), "-o", str(sft)),
        "srl": swesrl("train", "srl", "--recipe", "tiny-cpu", "--data", str(steps), "--model", str(sft), "-o", str(srl)),
    }
    swesrl("train", "plot", str(srl), "--key", "reward_mean")
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(srl / "reward_mean.png", ARTIFACTS / "srl_reward_mean.png")

    rows = [json.loads(line) for line in (srl / "metrics.jsonl").read_text().splitlines()]
    print("\nSRL on the bundled expert runs (tiny-cpu-sft -> tiny-cpu):")
    print(f"{'step':>4}  reward_mean  format_error_rate  groups_kept_frac")
    for m in rows:
        print(f"{m['step']:>4}  {m['reward_mean']:>11.3f}  {m['format_error_rate']:>17.3f}  {m['groups_kept_frac']:>16.3f}")
    print("wall seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))

    assert [m["step"] for m in rows] == list(range(1, 31))
    first, last = third_means(rows, "reward_mean")
    errors_first, errors_last = third_means(rows, "format_error_rate")
    print(f"mean reward, first third {first:.3f} -> last third {last:.3f}; "
          f"format errors {errors_first:.3f} -> {errors_last:.3f}")
    assert last - first >= MIN_RISE, f"reward did not rise: {first:.3f} -> {last:.3f}"
    assert errors_last < errors_first
    # Most steps trained on informative groups; late in the run a sharpened policy may answer a prompt the
    # same way G times (a flat group, dropped), which is what dynamic sampling is for.
    assert sum(m["groups_kept_frac"] > 0 for m in rows) >= 0.8 * len(rows)
