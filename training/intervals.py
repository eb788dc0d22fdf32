"""How sure a held-out score is: 95% bootstrap intervals that resample tasks, not steps.

The steps of one task share its issue, its code and the expert's plan, so they are far from independent:
an interval over steps would claim a precision 78 steps of 2 tasks do not have. A comparison is paired
(both policies scored on the same resampled tasks), which is what "A beats B" needs: the per-task
difficulty that moves both scores cancels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RESAMPLES = 2000


def task_groups(rows: Sequence[dict]) -> np.ndarray:
    """Each row's task as a small integer (its ``instance_id``; a row without one is its own task)."""
    ids: dict[str, int] = {}
    return np.array([ids.setdefault(str(r.get("instance_id") or f"row {i}"), len(ids)) for i, r in enumerate(rows)])


def interval(values: Sequence[float], groups: np.ndarray, minus: Sequence[float] | None = None,
             seed: int = 0) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of the row-weighted mean of ``values`` (less ``minus``, row by
    row) over ``RESAMPLES`` draws of the tasks with replacement."""
    v = np.asarray(values, dtype=float) - (np.asarray(minus, dtype=float) if minus is not None else 0.0)
    sums, counts = np.bincount(groups, weights=v), np.bincount(groups).astype(float)
    draws = np.random.default_rng(seed).integers(0, len(sums), size=(RESAMPLES, len(sums)))
    means = sums[draws].sum(axis=1) / counts[draws].sum(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return round(float(lo), 4), round(float(hi), 4)


def add_intervals(result: dict, rows: Sequence[dict]) -> None:
    """Give every scored policy of ``result`` (``swesrl train evaluate``'s) its ``reward_ci``, and add
    ``paired``: each model's reward less the strongest trivial answer's, and each model's greedy reward
    less each other model's, with their intervals."""
    groups = task_groups(rows)
    result["tasks"] = int(groups.max()) + 1 if len(groups) else 0
    scored = {name: b for name, b in result["baselines"].items()}
    scored.update({f"{name} {mode}": m[mode] for name, m in result["models"].items() for mode in ("greedy", "sampled") if mode in m})
    for s in scored.values():
        s["reward_ci"] = interval(s["row_rewards"], groups)
    pairs = []
    if result["baselines"]:
        strongest = max(result["baselines"], key=lambda n: result["baselines"][n]["reward_mean"])
        pairs += [(name, strongest) for name in scored if name not in result["baselines"]]
    models = list(result["models"])
    pairs += [(f"{b} greedy", f"{a} greedy") for i, a in enumerate(models) for b in models[i + 1:]]
    result["paired"] = [
        {"policy": a, "against": b, "difference": round(scored[a]["reward_mean"] - scored[b]["reward_mean"], 4),
         "ci": interval(scored[a]["row_rewards"], groups, minus=scored[b]["row_rewards"])}
        for a, b in pairs
    ]
