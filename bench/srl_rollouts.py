"""What SRL's rollouts are and what the gradient favours: an SRL run with every rollout recorded.

    python bench/srl_rollouts.py --data steps.jsonl --model runs/sft -o runs/srl-diag [--set key=value ...]

Trains with the tiny-cpu recipe (plus overrides) through the same ``train`` as `swesrl train srl`, with the
step reward wrapped so each rollout's action kind, reward, length and truncation are written to
``<out>.rollouts.jsonl``. Then prints, per third of the run: each kind's share and mean reward, and its
mean GRPO advantage ((r - group mean) / group std) in the groups dynamic sampling keeps; and which kinds
the kept groups mix. That is where a collapse shows: the kind whose advantage is positive grows.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter, defaultdict
from pathlib import Path

from swesrl.training.recipes import build_config
from swesrl.training.rewards import completion_text, srl_reward_func
from swesrl.training.run import train
from swesrl.trajectories.answer import FormatError, parse_answer


def kind(text: str) -> str:
    try:
        return parse_answer(text)[1].kind
    except FormatError:
        return "malformed"


def record(data: str, model: str, out: str, overrides: list[str]) -> Path:
    config = build_config("tiny-cpu", overrides, method="srl", model=model, output_dir=out, data=data)
    log_path = Path(f"{out}.rollouts.jsonl")
    log = log_path.open("w", encoding="utf-8")

    def srl_reward_recorded(prompts, completions, target, completion_ids, trainer_state, **kw):
        rewards = srl_reward_func(prompts, completions, target, **kw)
        for i, (c, ids) in enumerate(zip(completions, completion_ids, strict=True)):
            log.write(json.dumps({"step": trainer_state.global_step, "call_row": i, "kind": kind(completion_text(c)),
                                  "reward": rewards[i], "tokens": len(ids),
                                  "truncated": len(ids) >= config.max_completion_length}) + "\n")
        log.flush()
        return rewards

    train(config, reward_funcs=[srl_reward_recorded])
    log.close()
    return log_path


def summarize(path: Path, g: int, eps: float = 1e-4) -> None:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    groups = [rows[i : i + g] for i in range(0, len(rows), g)]  # each reward call holds whole groups, in order
    steps = sorted({r["step"] for r in rows})
    n = len(steps)
    for name, phase in (("first", steps[: n // 3]), ("middle", steps[n // 3 : 2 * n // 3]), ("last", steps[2 * n // 3 :])):
        phase = set(phase)
        chosen = [grp for grp in groups if grp[0]["step"] in phase]
        by_kind, adv, mixes, kept = defaultdict(list), defaultdict(list), Counter(), 0
        for grp in chosen:
            rewards = [r["reward"] for r in grp]
            for r in grp:
                by_kind[r["kind"]].append(r)
            sd = statistics.pstdev(rewards)
            if sd > eps:
                kept += 1
                mean = statistics.fmean(rewards)
                mixes[" + ".join(sorted({r["kind"] for r in grp}))] += 1
                for r in grp:
                    adv[r["kind"]].append((r["reward"] - mean) / sd)
        total = sum(len(v) for v in by_kind.values())
        print(f"{name} third (steps {min(phase)}-{max(phase)}): {total} rollouts, {kept}/{len(chosen)} groups kept")
        for k, v in sorted(by_kind.items(), key=lambda kv: -len(kv[1])):
            a = adv.get(k, [])
            print(f"  {k:12s} share {len(v) / total:.2f}  reward {statistics.fmean(r['reward'] for r in v):+.3f}  "
                  f"tokens {statistics.fmean(r['tokens'] for r in v):5.1f}  truncated {sum(r['truncated'] for r in v) / len(v):.2f}  "
                  f"advantage in kept groups {statistics.fmean(a) if a else float('nan'):+.2f} (n={len(a)})")
        print("  kept groups mix: " + ", ".join(f"{m} {c}" for m, c in mixes.most_common(4)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("-o", "--output-dir", required=True)
    p.add_argument("--set", action="append", default=[], dest="overrides")
    p.add_argument("--summarize-only", action="store_true", help="Only print the summary of an earlier run's rollouts.")
    args = p.parse_args()
    config = build_config("tiny-cpu", args.overrides, method="srl", output_dir=args.output_dir)
    path = Path(f"{args.output_dir}.rollouts.jsonl")
    if not args.summarize_only:
        path = record(args.data, args.model, args.output_dir, args.overrides)
    summarize(path, config.num_generations, config.dynamic_sampling_epsilon)


if __name__ == "__main__":
    main()
