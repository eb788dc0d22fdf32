"""Noticing a run that goes round in circles: one action with the same output again and again, or two
in turn (A, B, A, B). A model whose next answer depends on what it last saw is at a fixed point there
and would spend the rest of its step budget on it; the loop tells it, then ends the run (agent/loop.py).
"""

from __future__ import annotations

from collections.abc import Sequence

# One step as the detector sees it: (the action as the model wrote it, its full output); None for a
# step whose action did not run (a malformed answer, a refused action): it repeats nothing.
Key = tuple[str, str] | None


def repeats(history: Sequence[Key]) -> tuple[int, int]:
    """(times, period): the last steps are one step (period 1) or two different steps in turn (period 2)
    done ``times`` times in a row, each with the same output every time; (0, 1) after a step that did not run."""
    n = len(history)
    if n == 0 or history[-1] is None:
        return 0, 1
    period = 2 if n >= 2 and history[-2] is not None and history[-2] != history[-1] else 1
    run = period
    while run < n and history[n - 1 - run] is not None and history[n - 1 - run] == history[n - 1 - run + period]:
        run += 1
    return run // period, period


def note(times: int, period: int, left: int) -> str:
    """What the model is told under an output it has seen ``times`` times in a row; ``left``: repeats before the run ends."""
    what = "this action" if period == 1 else "these two actions in turn"
    return (f"\n\n[Note: you have run {what} {times} times in a row and got the same output each time. Doing it "
            f"again will not tell you anything new: try something different. The run ends if you repeat it "
            f"{left} more time{'s' if left != 1 else ''}.]")
