"""Where every expert step went in a split, per source format: the split report.

Per format: runs read, steps, examples written, steps dropped by reason (the reasons ``normalize``
gives, plus the split's own: ``over_budget``, ``duplicate``, ``submit_dropped``, ``last_dropped``),
target kinds, examples whose context the token budget cut, and steps whose expert answer would not
score 1.0 (``answer_not_exact``: dropped, so never a -1 target; on good data 0).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# The split's own reasons; every other reason comes from normalize (the step is no target at all).
SPLIT_REASONS = frozenset({"over_budget", "duplicate", "submit_dropped", "last_dropped"})


@dataclass
class FormatReport:
    runs: int = 0
    unresolved_skipped: int = 0  # whole runs skipped by only_resolved
    steps: int = 0
    examples: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    target_kinds: Counter[str] = field(default_factory=Counter)
    context_cut: int = 0  # examples whose last context_steps turns did not all fit the token budget

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "unresolved_skipped": self.unresolved_skipped,
            "steps": self.steps,
            "examples": self.examples,
            "dropped": dict(self.dropped.most_common()),
            "target_kinds": dict(self.target_kinds.most_common()),
            "context_cut": self.context_cut,
            "answer_not_exact": self.dropped["answer_not_exact"],
        }


@dataclass
class SplitStats:
    """The split report, filled while the split streams."""

    formats: dict[str, FormatReport] = field(default_factory=dict)
    id_collisions: int = 0  # runs whose id was already taken (same file name in two inputs): renamed ID~N

    def of(self, source_format: str) -> FormatReport:
        report = self.formats.get(source_format)
        if report is None:
            report = self.formats[source_format] = FormatReport()
        return report

    def _sum(self, name: str) -> int:
        return sum(getattr(r, name) for r in self.formats.values())

    def _dropped(self, reason: str) -> int:
        return sum(r.dropped[reason] for r in self.formats.values())

    @property
    def trajectories(self) -> int:
        return self._sum("runs")

    @property
    def unresolved_skipped(self) -> int:
        return self._sum("unresolved_skipped")

    @property
    def examples(self) -> int:
        return self._sum("examples")

    @property
    def steps(self) -> int:
        return self._sum("steps")

    @property
    def context_cut(self) -> int:
        return self._sum("context_cut")

    @property
    def steps_without_action(self) -> int:
        """Steps that are no target at all (no usable or representable action), whatever the options."""
        return sum(n for r in self.formats.values() for reason, n in r.dropped.items() if reason not in SPLIT_REASONS)

    @property
    def over_budget(self) -> int:
        return self._dropped("over_budget")

    @property
    def duplicates(self) -> int:
        return self._dropped("duplicate")

    @property
    def submit_dropped(self) -> int:
        return self._dropped("submit_dropped")

    @property
    def last_dropped(self) -> int:
        return self._dropped("last_dropped")

    @property
    def answer_not_exact(self) -> int:
        return self._dropped("answer_not_exact")

    def dropped(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for r in self.formats.values():
            total.update(r.dropped)
        return total

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.trajectories,
            "unresolved_skipped": self.unresolved_skipped,
            "steps": self.steps,
            "examples": self.examples,
            "dropped": dict(self.dropped().most_common()),
            "context_cut": self.context_cut,
            "answer_not_exact": self.answer_not_exact,
            "id_collisions": self.id_collisions,
            "formats": {name: r.to_dict() for name, r in sorted(self.formats.items())},
        }
