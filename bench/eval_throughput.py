"""Evaluation throughput: instances/hour at 1 and 2 workers, split into image build, container start,
patch apply and tests. Gold patches on the bundled tasks (examples/tasks/tasks.jsonl), or on the two
shared SWE-bench instances with --shared.

Two cache states: cold (instance images built anew on the cached base and environment images:
what a new batch of tasks costs) and warm (every image cached: what re-evaluating costs, e.g. RLVR).
The baseline is the 1-worker run in the same cache state, measured in the same process.

    python bench/eval_throughput.py            # bundled tasks
    python bench/eval_throughput.py --shared   # the two shared SWE-bench instances
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import docker

from swesrl.eval.environment import ensure_task_image, image_identity
from swesrl.eval.evaluate import EvalOptions, evaluate_predictions
from swesrl.eval.predictions import Prediction
from swesrl.eval.tasks import load_tasks

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "swebench"
PHASES = ("image_build", "container_start", "patch_and_tests", "total")


def fresh_instances(tasks, nonce: str):
    """The same tasks with one extra ENV line in their instance layer: new instance images to build on the
    cached environment images, without touching images that other runs may be using."""
    return [replace(t, environment=replace(t.environment, env=(*t.environment.env, ("SWESRL_BENCH_NONCE", nonce)))) for t in tasks]


def remove_images(tasks, options: EvalOptions) -> None:
    client = docker.from_env()
    for t in tasks:
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove("swesrl/instance:" + image_identity(t, options.repos_dir, options.base_image))
    client.close()


def run(tasks, options: EvalOptions, workers: int, cold: bool) -> dict:
    if cold:
        tasks = fresh_instances(tasks, f"{time.time_ns()}-w{workers}")
    preds = [Prediction(t.instance_id, t.patch, "gold") for t in tasks]
    try:
        with tempfile.TemporaryDirectory(prefix="swesrl-bench-") as runs:
            t0 = time.monotonic()
            report = evaluate_predictions(tasks, preds, f"bench-w{workers}", workers=workers, runs_dir=runs, options=options)
            wall = time.monotonic() - t0
    finally:
        if cold:
            remove_images(tasks, options)
    phases = {p: [r.timings.get(p, 0.0) for r in report.results.values()] for p in PHASES}
    return {
        "workers": workers, "cache": "cold" if cold else "warm", "wall": wall, "n": len(tasks),
        "resolved": report.summary["resolved_instances"], "per_hour": 3600 * len(tasks) / wall,
        "median": {p: statistics.median(v) for p, v in phases.items()}, "sum": {p: sum(v) for p, v in phases.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", action="store_true", help="the two shared SWE-bench instances instead of the bundled tasks")
    args = ap.parse_args()
    if args.shared:
        tasks, options = load_tasks(SHARED / "instances.jsonl"), EvalOptions(repos_dir=str(SHARED / "repos"))
    else:
        tasks, options = load_tasks(ROOT / "examples" / "tasks" / "tasks.jsonl"), EvalOptions()
    for t in tasks:  # base and environment images exist before any timing starts
        ensure_task_image(t, repos_dir=options.repos_dir)
    rows = [run(tasks, options, w, cold) for cold in (True, False) for w in (1, 2)]
    base = {r["cache"]: r["per_hour"] for r in rows if r["workers"] == 1}
    print(f"{len(tasks)} tasks, gold patches; medians per instance in seconds; ratio = instances/h vs 1 worker, same cache")
    print(f"{'cache':5} {'workers':>7} {'wall s':>7} {'inst/h':>7} {'ratio':>6} {'resolved':>8} "
          + " ".join(f"{p:>15}" for p in PHASES))
    for r in rows:
        print(f"{r['cache']:5} {r['workers']:>7} {r['wall']:>7.1f} {r['per_hour']:>7.0f} {r['per_hour'] / base[r['cache']]:>5.2f}x "
              f"{r['resolved']:>4}/{r['n']:<3} " + " ".join(f"{r['median'][p]:>15.2f}" for p in PHASES))
    print("phase share of summed instance time (cold, 1 worker): " + ", ".join(
        f"{p} {100 * rows[0]['sum'][p] / rows[0]['sum']['total']:.0f}%" for p in PHASES[:-1]))


if __name__ == "__main__":
    main()
