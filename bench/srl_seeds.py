"""How much the default run's held-out table depends on the seed: the quickstart's training stages, once per seed.

    python bench/srl_seeds.py -o runs/seeds --seeds 0 1 2 [--set stage.key=value ...]

For each seed, runs the quickstart's own commands (split -> tiny model -> SFT -> SRL and SFT given SRL's
compute -> `swesrl train evaluate` on the held-out steps) with ``--set seed=S`` on the three training
stages (`model init-tiny` has its own fixed seed: the same tiny model for every seed), then prints each policy's
greedy held-out reward, format errors and distinct answers per seed, with the mean and range, next to the
trivial answers (which do not depend on the seed). ``--set sft.learning_rate=6e-3`` passes an override to
one stage (sft, srl, sft-more). Seeds run one after another, each as the quickstart runs it (SRL beside
SFT-more); a finished seed's folder is kept and read again.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from swesrl.quickstart import examples_dir, run_stages, stages

TRAINING = ("sft", "srl", "sft-more")


def run_seed(root: Path, seed: int, overrides: dict[str, list[str]]) -> dict:
    out = root / f"seed-{seed}"
    result = out / "heldout_eval.json"
    if result.is_file():
        return json.loads(result.read_text())
    plan = [replace(s, args=[*s.args, "--set", f"seed={seed}", *(a for kv in overrides.get(s.name, []) for a in ("--set", kv))])
            if s.name in TRAINING else s
            for s in stages(out, examples_dir(), workers=1) if s.args[0] in ("traj", "model", "train")]
    run_stages(plan, out, Console(stderr=True))  # the quickstart's runner: logs, skips, stops on failure
    return json.loads(result.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="STAGE.KEY=VALUE")
    args = ap.parse_args()
    overrides: dict[str, list[str]] = {}
    for item in args.sets:
        stage, _, kv = item.partition(".")
        if stage not in TRAINING or "=" not in kv:
            raise SystemExit(f"--set {item}: expected STAGE.KEY=VALUE with STAGE one of {', '.join(TRAINING)}")
        overrides.setdefault(stage, []).append(kv)
    results = {seed: run_seed(args.out, seed, overrides) for seed in args.seeds}
    first = next(iter(results.values()))
    print(f"{first['rows']} held-out steps, greedy; seeds {' '.join(map(str, args.seeds))}")
    print(f"{'policy':<10} {'reward per seed':<26} {'mean':>6} {'range':>14}  format errors    distinct answers")
    for name in first["models"]:
        runs = [r["models"][name]["greedy"] for r in results.values()]
        rewards = [g["reward_mean"] for g in runs]
        per_seed = " ".join(f"{x:6.3f}" for x in rewards)
        errors = " ".join(f"{g['format_error_rate']:.2f}" for g in runs)
        distinct = " ".join(str(g["distinct_answers"]) for g in runs)
        print(f"{name:<10} {per_seed:<26} {statistics.mean(rewards):6.3f} {min(rewards):6.3f}..{max(rewards):6.3f}  "
              f"{errors:<16} {distinct}")
    for name, b in first["baselines"].items():
        print(f"{name:<24} {b['reward_mean']:.3f}")


if __name__ == "__main__":
    main()
