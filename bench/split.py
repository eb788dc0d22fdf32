"""Benchmark: split a SWE-smith-scale corpus (5,000 runs, ~27 steps each) into step examples.

The corpus is built by resampling real steps (thought, canonical action, observation) and issues
from the shared sample trajectories, written as swesrl-format JSONL. Each measurement runs in its own
subprocess. Baselines measured in the same run on the same file:

- read + json.loads: the least any splitter must do;
- the floor: a minimal hand-written splitter (plain dicts, string templates, no schema, no checks)
  whose JSONL output is byte-identical to swesrl's (the bench checks it): what a split must cost.

Both swesrl writers (JSONL, Parquet) are reported against the floor. Peak RSS is the child's own
high-water mark (VmHWM): getrusage's ru_maxrss of a child started by vfork+exec is floored at the
parent's peak, which would hide a lean child behind its parent.

Every child runs ``--repeat`` times, all kinds interleaved round-robin so load on a shared machine
hits them alike; the table shows medians.

    python bench/split.py                # 1k and 5k runs, 3 repeats
    python bench/split.py --runs 1000 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
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
    # canonical actions only: a windowed SWE-agent command means nothing out of its run's order
    steps = [s for t in samples for s in t.steps if s.action is not None and s.action.kind != "tool"]
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


def child_floor(corpus: str, out: str) -> dict:
    """A minimal splitter: swesrl's default split of canonical runs, by hand, with the same output."""
    from swesrl.trajectories.context import template

    system = {"role": "system", "content": template("system.md")}
    issue_t, obs_t = template("issue.md"), template("observation.md")
    budget, keep, max_obs = 8192, 2, 8000

    def est(text: str) -> int:
        return (len(text) * 2 + 6) // 7

    def cut(text: str) -> str:
        if len(text) <= max_obs:
            return text
        head = max_obs * 2 // 3
        tail = max_obs - head
        return f"{text[:head]}\n[... {len(text) - max_obs} characters truncated ...]\n{text[len(text) - tail:]}"

    def xml(action: dict) -> str:
        params = "".join(f"<parameter={k}>{v if isinstance(v, str) else json.dumps(v)}</parameter>\n" for k, v in action["arguments"].items())
        return f"<function={action['name']}>\n{params}</function>"

    n = steps = 0
    encode = json.JSONEncoder(ensure_ascii=False).encode
    with open(corpus, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as o:
        for line in f:
            run = json.loads(line)
            issue = {"role": "user", "content": issue_t.format(problem_statement=run["problem_statement"].strip())}
            room = budget - est(system["content"]) - est(issue["content"])
            history: list[tuple[list[dict], int]] = []
            for i, step in enumerate(run["steps"]):
                steps += 1
                target = xml(step["action"])
                recent = history[-keep:]
                while recent and sum(c for _, c in recent) > room:
                    recent = recent[1:]
                messages = [system, issue, *(m for pair, _ in recent for m in pair)]
                tokens = budget - room + sum(c for _, c in recent)
                if tokens <= budget:
                    row = {"id": f"{run['id']}/{i}", "trajectory_id": run["id"], "instance_id": run["instance_id"], "step_index": i,
                           "messages": messages, "target": target, "thought": step["thought"], "action_kind": step["action"]["kind"],
                           "prompt_tokens": tokens, "source_format": run["source_format"]}
                    o.write(encode(row) + "\n")
                    n += 1
                reply = {"role": "user", "content": obs_t.format(observation=cut(step["observation"]))}
                history.append(([{"role": "assistant", "content": target}, reply], est(target) + est(reply["content"])))
    return {"examples": n, "steps": steps, "out_mb": round(os.path.getsize(out) / 1e6, 1)}


def child_split(corpus: str, out: str) -> dict:
    from swesrl.trajectories.readers import read_trajectories
    from swesrl.trajectories.split import SplitConfig, SplitStats, split_all, write_examples

    stats = SplitStats()
    n = write_examples(split_all(read_trajectories(corpus), SplitConfig(), stats), out)
    return {"examples": n, "steps": stats.steps, "out_mb": round(os.path.getsize(out) / 1e6, 1)}


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


def median_of(runs: list[dict]) -> dict:
    """The first run's counts with the median wall, CPU and peak RSS of all runs."""
    keys = ("wall_s", "cpu_s", "peak_rss_mb")
    r = runs[0] | {k: round(statistics.median(x[k] for x in runs), 2) for k in keys}
    r["steps_per_s"] = round(r["steps"] / r["wall_s"])
    return r


def same_bytes(a: Path, b: Path) -> bool:
    import hashlib

    def digest(p: Path) -> bytes:
        h = hashlib.blake2b()
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.digest()

    return digest(a) == digest(b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="*", default=[1000, 5000])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each child; medians are shown")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        fn = {"baseline": child_baseline, "floor": child_floor, "read": child_read, "split": child_split}[a.child[0]]
        print(json.dumps(fn(*a.child[1:]) | {"peak_rss_mb": peak_rss_mb()}))
        return

    print(f"# {platform.platform()}, python {platform.python_version()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="swesrl-bench-split-") as tmp:
        for runs in a.runs:
            corpus = Path(tmp) / f"corpus-{runs}.jsonl"
            t0 = time.perf_counter()
            _, steps = build_corpus(corpus, runs)
            mb = corpus.stat().st_size / 1e6
            print(f"\n## {runs} runs, {steps} steps, corpus {mb:.0f} MB (built in {time.perf_counter() - t0:.1f} s); medians of {a.repeat}")
            outs = {k: Path(tmp) / f"{k}-{runs}.{ext}" for k, ext in (("floor", "jsonl"), ("jsonl", "jsonl"), ("parquet", "parquet"))}
            children = {
                "read + json.loads (baseline)": ("baseline", str(corpus)),
                "read_trajectories": ("read", str(corpus)),
                "floor: minimal splitter -> JSONL": ("floor", str(corpus), str(outs["floor"])),
                "split -> JSONL": ("split", str(corpus), str(outs["jsonl"])),
                "split -> Parquet": ("split", str(corpus), str(outs["parquet"])),
            }
            runs_of: dict[str, list[dict]] = {name: [] for name in children}
            for _ in range(a.repeat):
                for name, args in children.items():
                    runs_of[name].append(measure(*args))
            results = {name: median_of(rs) for name, rs in runs_of.items()}
            for name, r in results.items():
                print(f"{name:34s} {r['wall_s']:7.2f} s  {r['steps_per_s']:>8d} steps/s  peak RSS {r['peak_rss_mb']:7.1f} MB  cpu {r['cpu_s']:.2f} s")
            floor = results["floor: minimal splitter -> JSONL"]
            print(f"JSONL output identical to the floor's: {same_bytes(outs['floor'], outs['jsonl'])}")
            for name in ("split -> JSONL", "split -> Parquet"):
                r = results[name]
                print(f"{name}: {r['examples']} examples, {r['out_mb']} MB; vs floor wall {r['wall_s'] / floor['wall_s']:.2f}x, "
                      f"cpu {r['cpu_s'] / floor['cpu_s']:.2f}x")


if __name__ == "__main__":
    main()
