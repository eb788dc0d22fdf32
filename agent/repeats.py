"""Noticing a run that goes round in circles: one action with the same output three times in a row, or a
few in turn twice (A, B, A, B or A, A, B, A, A, B). A model whose next answer depends on what it last saw
is at a fixed point there and would spend the rest of its step budget on it. The loop (agent/loop.py)
tells it, and counts such steps over the whole run: a small model told once steps aside for a step or
two and comes back, so only a count that does not start over catches it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# One step as the detector sees it: (the action as the model wrote it, its output with elapsed times
# masked); None for a step whose action did not run (a malformed answer, a refused action): it repeats nothing.
Key = tuple[str, str] | None
# "in 0.25s", "0.003 seconds": test runners print how long they took, so a rerun's output is never
# byte-identical (a greedy run went round 5 commands, pytest among them, for 15 steps unseen).
ELAPSED = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|sec|secs|seconds)\b")


def key(action: str, output: str) -> Key:
    """What must be the same for a step to repeat another: the action and its output but for elapsed times."""
    return action, ELAPSED.sub("<time>", output)


def repeating(history: Sequence[Key]) -> tuple[int, int] | None:
    """(times, period) when the last steps are one step done 3 times or more in a row, or ``period`` steps
    done twice or more, with the same outputs each time (the shortest such period); None otherwise."""
    n = len(history)
    for period in range(1, n // 2 + 1):
        run = period
        while run < n and history[-1 - run] is not None and history[-1 - run] == history[-1 - run + period]:
            run += 1
        if run // period >= (3 if period == 1 else 2):
            return run // period, period
    return None


def note(times: int, period: int, left: int) -> str:
    """What the model is told under an output it has seen ``times`` times in a row; ``left``: how many
    more such steps end the run."""
    what = "this action" if period == 1 else f"these {period} actions in turn"
    return (f"\n\n[Note: you have run {what} {times} times in a row and got the same output each time. Doing it "
            f"again will not tell you anything new: try something different. The run ends after {left} more "
            f"step{'s' if left != 1 else ''} that repeat{'' if left != 1 else 's'} what you just did.]")
