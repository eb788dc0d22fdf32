"""How much held-out reward conditioning is worth, measured without a model.

    python bench/heldout_lookup.py --train steps.jsonl --heldout heldout.jsonl [--model runs/srl ...]

Scores two answer tables on the held-out steps, next to the best constant answer: the best training
target *per kind of previous expert action* (a lookup on the last action in the prompt: none, grep,
`python -c`, view, `str_replace`, pytest, ...), chosen on the training rows; and the best training target
per held-out row (an oracle: the most any answer copied from the training targets can score). A model
that conditions on the prompt should land between the best constant and the lookup; one that copies
training-task text (file contents, function names) lands below the constant (BENCHMARKS.md "Training").
With ``--model``, each model's greedy answers are scored per kind of previous action next to the constant
and the lookup, with its most frequent answer there: where a model loses to the constant, and to what.
"""

from __future__ import annotations

import argparse
from collections import Counter, defaultdict

from swesrl.training.evaluation import (
    EMPTY_BASH,
    best_constant,
    previous_action,
    score_answers,
    step_rows,
)
from swesrl.training.rewards import _group_rewards, model_action_text
from swesrl.training.seqmatch import Similarity
from swesrl.trajectories.answer import render_answer

# Checked in this order: the first marker found in the previous action names its kind.
MARKERS = ("str_replace</", "view</", "git diff", "pytest", "python -c", "grep", "sed -n", "cat -n", "ls ", "submit")


def previous_kind(row: dict) -> str:
    answer = previous_action(row)
    if answer == EMPTY_BASH:
        return "start"
    return next((m for m in MARKERS if m in answer), "other")


def best_answer(candidates: list[str], rows: list[dict]) -> str:
    totals = [0.0] * len(candidates)
    for row in rows:
        for j, r in enumerate(_group_rewards(candidates, row["target"], Similarity.FAST)):
            totals[j] += r
    return candidates[max(range(len(candidates)), key=lambda j: (totals[j], -j))]


def per_kind(name: str, answers: list[str], heldout: list[dict], policies: dict[str, list[str]]) -> None:
    """Mean reward per kind of previous action: the model's, the constant's, the lookup's."""
    rows: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(heldout):
        rows[previous_kind(row)].append(i)
    print(f"{name}: reward per kind of previous action (model / best constant / lookup), most frequent answer")
    for kind, idx in sorted(rows.items()):
        means = [sum(_group_rewards([p[i]], heldout[i]["target"], Similarity.FAST)[0] for i in idx) / len(idx)
                 for p in (answers, *policies.values())]
        top, n = Counter((model_action_text(answers[i]) or "(malformed)") for i in idx).most_common(1)[0]
        print(f"  after {kind:<14} {len(idx):>3} rows  {means[0]:6.3f} / {means[1]:6.3f} / {means[2]:6.3f}  "
              f"{n}x {top[:70]!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, help="training step examples (traj split output)")
    ap.add_argument("--heldout", required=True, help="held-out step examples")
    ap.add_argument("--model", action="append", default=[], help="a trained model folder (repeatable)")
    args = ap.parse_args()
    train, heldout = step_rows(args.train), step_rows(args.heldout)
    candidates = [render_answer("", t) for t in sorted({r["target"] for r in train})]
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for row in train:
        by_kind[previous_kind(row)].append(row)
    table = {kind: best_answer(candidates, rows) for kind, rows in by_kind.items()}
    constant = best_constant(train)
    policies = {
        "best constant": [constant] * len(heldout),
        "lookup on the previous action's kind": [table.get(previous_kind(r), constant) for r in heldout],
        "oracle: best training target per row": [best_answer(candidates, [r]) for r in heldout],
    }
    print(f"{len(train)} training steps, {len(heldout)} held-out steps")
    for kind, answer in sorted(table.items()):
        print(f"  after {kind:<14} {len(by_kind[kind]):>3} rows -> {(model_action_text(answer) or '')[:90]!r}")
    for name, answers in policies.items():
        s = score_answers(answers, heldout)
        print(f"{name:<40} reward {s['reward_mean']:.3f}  distinct {s['distinct_answers']}")
    for path in args.model:
        answers = greedy_answers(path, heldout)
        per_kind(path, answers, heldout, {k: v for k, v in policies.items() if not k.startswith("oracle")})


def greedy_answers(path: str, rows: list[dict]) -> list[str]:
    from types import SimpleNamespace

    import torch

    from swesrl.training.evaluation import generate
    from swesrl.training.run import load_model

    torch.set_num_threads(1)
    model, tokenizer = load_model(SimpleNamespace(model=path, use_cpu=True, bf16=False, cpu_threads=1))
    return generate(model, tokenizer, rows, max_new_tokens=144)


if __name__ == "__main__":
    main()
