"""How much the default run's held-out table depends on the seed: the quickstart's training stages, once per seed.

    python bench/srl_seeds.py -o runs/seeds --seeds 0 1 2 [--set stage.key=value ...]

For each seed, runs the quickstart's own commands (split -> tiny model -> SFT -> SRL and SFT given SRL's
compute -> `swesrl train evaluate` on the held-out steps) with ``--set seed=S`` on the three training
stages (`model init-tiny` has its own fixed seed: the same tiny model for every seed), then prints each policy's
greedy held-out reward, format errors and distinct answers per seed, with the mean and range, next to the
trivial answers (which do not depend on the seed). ``--set sft.learning_rate=6e-3`` passes an override to
one stage (sft, srl, sft-more). Seeds run one after another, each as the quickstart runs it (SRL beside
SFT-more); a finished seed's folder is kept and read again. The same models are also scored on the 25
held-out mutation tasks (examples/training/heldout_mutation_runs.jsonl), and for both held-out sets the
paired differences that matter are printed with their 95% intervals over tasks.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from swesrl.quickstart import Stage, examples_dir, run_stages, stages

TRAINING = ("sft", "srl", "sft-more")


HELDOUT_SETS = {"heldout_eval.json": "2 hand-written held-out tasks", "heldmut_eval.json": "25 held-out mutation tasks"}
# (policy, against): None is the strongest trivial answer, what `train evaluate` pairs every model with
PAIRS = (("srl greedy", "sft-more greedy"), ("srl greedy", None), ("srl sampled", None))


def on_mutation_tasks(plan: list[Stage], out: Path) -> list[Stage]:
    """The quickstart's held-out split and evaluation stages again, on the held-out mutation tasks."""
    by_name = {s.name: s for s in plan}
    swap = {"heldout_runs.jsonl": "heldout_mutation_runs.jsonl", "heldout.jsonl": "heldmut.jsonl",
            "heldout_eval.json": "heldmut_eval.json"}
    moved = lambda args: [str(Path(a).with_name(swap[Path(a).name])) if Path(a).name in swap else a for a in args]  # noqa: E731
    return [replace(by_name["split-heldout"], name="split-heldmut", args=moved(by_name["split-heldout"].args)),
            replace(by_name["evaluate"], name="evaluate-heldmut", args=moved(by_name["evaluate"].args),
                    done=lambda: (out / "heldmut_eval.json").is_file(), needs=("split-heldmut", "srl", "sft-more"))]


def run_seed(root: Path, seed: int, overrides: dict[str, list[str]]) -> dict[str, dict]:
    """The seed's results on each held-out set (file name -> `train evaluate` JSON); stages already done are skipped."""
    out = root / f"seed-{seed}"
    plan = [replace(s, args=[*s.args, "--set", f"seed={seed}", *(a for kv in overrides.get(s.name, []) for a in ("--set", kv))])
            if s.name in TRAINING else s
            for s in stages(out, examples_dir(), workers=1) if s.args[0] in ("traj", "model", "train")]
    run_stages([*plan, *on_mutation_tasks(plan, out)], out, Console(stderr=True))  # logs, skips, stops on failure
    return {name: json.loads((out / name).read_text()) for name in HELDOUT_SETS}


def show(results: dict[int, dict], title: str) -> None:
    """Each model's greedy reward per seed with mean and range, the trivial answers, then PAIRS per seed."""
    first = next(iter(results.values()))
    print(f"\n{title}: {first['rows']} steps, greedy; seeds {' '.join(map(str, results))}")
    print(f"{'policy':<10} {'reward per seed':<26} {'mean':>6} {'range':>14}  format errors    distinct answers")
    for name in [n for n in first["models"] if all(n in r["models"] for r in results.values())]:
        runs = [r["models"][name]["greedy"] for r in results.values()]
        rewards = [g["reward_mean"] for g in runs]
        per_seed = " ".join(f"{x:6.3f}" for x in rewards)
        errors = " ".join(f"{g['format_error_rate']:.2f}" for g in runs)
        distinct = " ".join(str(g["distinct_answers"]) for g in runs)
        print(f"{name:<10} {per_seed:<26} {statistics.mean(rewards):6.3f} {min(rewards):6.3f}..{max(rewards):6.3f}  "
              f"{errors:<16} {distinct}")
    for name, b in first["baselines"].items():
        print(f"{name:<24} {b['reward_mean']:.3f}")
    print("paired differences per seed, [95% interval over tasks]:")
    for a, b in PAIRS:
        cells = []
        for r in results.values():
            against = [b] if b else list(r["baselines"])
            found = [p for p in r.get("paired", []) if p["policy"] == a and p["against"] in against]
            named = "" if b else f" ({found[0]['against']})" if found else ""
            cells.append(f"{found[0]['difference']:+.3f} [{found[0]['ci'][0]:+.2f}, {found[0]['ci'][1]:+.2f}]{named}" if found else "-")
        print(f"  {a} less {b or 'the strongest trivial answer'}: " + " / ".join(cells))


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
    for name, title in HELDOUT_SETS.items():
        show({seed: r[name] for seed, r in results.items()}, title)

if __name__ == "__main__":
    main()
