"""Benchmark: split a SWE-smith-scale corpus (5,000 runs, ~27 steps each) into Parquet step examples.

The corpus is built by resampling real steps (thought, action, observation) and issues from the
shared sample trajectories, written as swesrl-format JSONL. Each measurement runs in its own
subprocess, and its peak RSS is the child's own (os.wait4's rusage). The baseline, measured in the
same run on the same file, is the least any splitter must do: read the lines and json-parse them.
Peak RSS is the child's own high-water mark (VmHWM): getrusage's ru_maxrss of a child started by
vfork+exec is floored at the parent's peak, which would hide a lean child behind its parent.

    python bench/split.py                # 1k and 5k runs
    python bench/split.py --runs 1000    # one size only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLES = Path(os.environ.get("SWESRL_SHARED", REPO.parent / "shared")) / "data" / "trajectories"
MEAN_STEPS = 27


def build_corpus(path: Path, runs: int, seed: int = 0) -> tuple[int, int]:
    """Write ``runs`` synthetic-but-real-looking runs; returns (runs, steps)."""
    from swesrl.trajectories import Step, Submit, Trajectory
    from swesrl.trajectories.readers import read_trajectories

    rng = random.Random(seed)
    samples = list(read_trajectories(SAMPLES, on_error=lambda e: None))
    steps = [s for t in samples for s in t.steps if s.action is not None]
    issues = [t.problem_statement for t in samples if t.problem_statement.strip()]
    n_steps = 0
    with path.open("w", encoding="utf-8") as f:
        for i in range(runs):
            n = max(3, round(rng.gauss(MEAN_STEPS, 8)))
            body = [Step(s.thought, s.action, s.observation) for s in rng.choices(steps, k=n - 1)]
            traj = Trajectory(
                id=f"bench-{i:05d}",
                problem_statement=rng.choice(issues),
                steps=[*body, Step("The fix works; submitting.", Submit(), "")],
                instance_id=f"bench__repo-{i % 500}",
                outcome="resolved" if rng.random() < 0.8 else "unresolved",
            )
            f.write(json.dumps(traj.to_dict(), ensure_ascii=False) + "\n")
            n_steps += n
    return runs, n_steps


# ---------------------------------------------------------------- what each child process does


def child_baseline(corpus: str) -> dict:
    n = 0
    with open(corpus, encoding="utf-8") as f:
        for line in f:
            n += len(json.loads(line)["steps"])
    return {"steps": n}


def child_read(corpus: str) -> dict:
    from swesrl.trajectories.readers import read_trajectories

    return {"steps": sum(len(t.steps) for t in read_trajectories(corpus))}


def child_split(corpus: str, out: str) -> dict:
    from swesrl.trajectories.readers import read_trajectories
    from swesrl.trajectories.split import SplitConfig, SplitStats, split_all, write_examples

    stats = SplitStats()
    n = write_examples(split_all(read_trajectories(corpus), SplitConfig(), stats), out)
    return {"examples": n, "steps": n + stats.steps_without_action, "out_mb": round(os.path.getsize(out) / 1e6, 1)}


def peak_rss_mb() -> float:
    """This process's own RSS high-water mark (Linux VmHWM; ru_maxrss elsewhere)."""
    try:
        line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith("VmHWM:"))
        return round(int(line.split()[1]) / 1024, 1)
    except (OSError, StopIteration):
        import resource

        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def measure(kind: str, *args: str) -> dict:
    """Run one child; wall time from the parent, CPU time from its rusage, peak RSS its own."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", kind, *args], stdout=subprocess.PIPE, text=True)
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{kind} child failed ({status})")
    r = json.loads(stdout.strip().splitlines()[-1])
    r.update(wall_s=round(wall, 2), cpu_s=round(usage.ru_utime + usage.ru_stime, 2))
    r["steps_per_s"] = round(r["steps"] / wall)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="*", default=[1000, 5000])
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        fn = {"baseline": child_baseline, "read": child_read, "split": child_split}[a.child[0]]
        print(json.dumps(fn(*a.child[1:]) | {"peak_rss_mb": peak_rss_mb()}))
        return

    print(f"# {platform.platform()}, python {platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="swesrl-bench-split-") as tmp:
        for runs in a.runs:
            corpus = Path(tmp) / f"corpus-{runs}.jsonl"
            t0 = time.perf_counter()
            _, steps = build_corpus(corpus, runs)
            mb = corpus.stat().st_size / 1e6
            print(f"\n## {runs} runs, {steps} steps, corpus {mb:.0f} MB (built in {time.perf_counter() - t0:.1f} s)")
            base = measure("baseline", str(corpus))
            read = measure("read", str(corpus))
            out = measure("split", str(corpus), str(Path(tmp) / f"steps-{runs}.parquet"))
            for name, r in (("read + json.loads (baseline)", base), ("read_trajectories", read), ("split -> parquet", out)):
                print(f"{name:30s} {r['wall_s']:7.2f} s  {r['steps_per_s']:>8d} steps/s  peak RSS {r['peak_rss_mb']:7.1f} MB  cpu {r['cpu_s']:.1f} s")
            print(f"split: {out['examples']} examples, parquet {out['out_mb']} MB; ratio split/baseline wall {out['wall_s'] / base['wall_s']:.1f}x, cpu {out['cpu_s'] / base['cpu_s']:.1f}x")


if __name__ == "__main__":
    main()
