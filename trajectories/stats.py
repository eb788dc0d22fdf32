"""Corpus statistics: what a set of expert runs holds before anyone trains on it.

Streams like the splitter: one pass, counters and one int per step example (for token
percentiles), never the runs themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .schema import Trajectory
from .split import SplitConfig, SplitStats, split_all


@dataclass
class CorpusStats:
    runs: int = 0
    runs_per_format: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    steps: int = 0
    min_steps: int | None = None
    max_steps: int | None = None
    action_kinds: Counter[str] = field(default_factory=Counter)
    turns_without_action: int = 0
    prompt_tokens: list[int] = field(default_factory=list)  # one per step example
    split: SplitStats = field(default_factory=SplitStats)

    def add(self, traj: Trajectory) -> Trajectory:
        n = len(traj.steps)
        self.runs += 1
        self.runs_per_format[traj.source_format] += 1
        self.outcomes[traj.outcome] += 1
        self.steps += n
        self.min_steps = n if self.min_steps is None else min(self.min_steps, n)
        self.max_steps = n if self.max_steps is None else max(self.max_steps, n)
        for s in traj.steps:
            if s.action is None:
                self.turns_without_action += 1
            else:
                self.action_kinds[s.action.kind] += 1
        return traj

    def resolved_share(self) -> float | None:
        """Resolved among the runs whose outcome the data states; None when no run states one."""
        known = self.outcomes["resolved"] + self.outcomes["unresolved"]
        return round(self.outcomes["resolved"] / known, 4) if known else None

    def to_dict(self) -> dict[str, Any]:
        toks = sorted(self.prompt_tokens)
        return {
            "runs": self.runs,
            "runs_per_format": dict(self.runs_per_format.most_common()),
            "steps_per_run": {
                "mean": round(self.steps / self.runs, 2) if self.runs else None,
                "min": self.min_steps,
                "max": self.max_steps,
            },
            "steps": self.steps,
            "action_kinds": dict(self.action_kinds.most_common()),
            "turns_without_action": self.turns_without_action,
            "resolved_share": self.resolved_share(),
            "outcomes": dict(self.outcomes.most_common()),
            "examples": len(toks),
            "prompt_tokens": {
                "p50": percentile(toks, 50),
                "p90": percentile(toks, 90),
                "p99": percentile(toks, 99),
                "max": toks[-1] if toks else None,
            },
            "split": self.split.to_dict(),
        }


_DEFAULT = SplitConfig()


def percentile(sorted_values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def corpus_stats(trajectories: Iterable[Trajectory], config: SplitConfig = _DEFAULT) -> CorpusStats:
    """Counts over the runs, and prompt sizes of the step examples ``config`` would produce."""
    stats = CorpusStats()
    for ex in split_all((stats.add(t) for t in trajectories), config, stats.split):
        stats.prompt_tokens.append(ex.prompt_tokens)
    return stats
