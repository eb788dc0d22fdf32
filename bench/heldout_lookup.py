"""How much held-out reward conditioning is worth, measured without a model.

    python bench/heldout_lookup.py --train steps.jsonl --heldout heldout.jsonl

Scores two answer tables on the held-out steps, next to the best constant answer: the best training
target *per kind of previous expert action* (a lookup on the last action in the prompt: none, grep,
`python -c`, view, `str_replace`, pytest, ...), chosen on the training rows; and the best training target
per held-out row (an oracle: the most any answer copied from the training targets can score). A model
that conditions on the prompt should land between the best constant and the lookup; one that copies
training-task text (file contents, function names) lands below the constant (BENCHMARKS.md "Training").
"""

from __future__ import annotations

import argparse
from collections import defaultdict

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", required=True, help="training step examples (traj split output)")
    ap.add_argument("--heldout", required=True, help="held-out step examples")
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


if __name__ == "__main__":
    main()
