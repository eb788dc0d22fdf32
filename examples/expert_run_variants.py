"""Varied expert runs for training: each hand-written run of make_expert_runs.py rewritten the ways
engineers differ (reproduce before or after locating the code, read it with the editor or with
``sed``/``cat -n``, a narrower or wider window, run the selected tests or the whole file, look at the
repository or the diff first). Every variant still fixes the bug the same way, and its observations
are recorded for real by make_expert_runs.py, which also checks that each variant resolves the task.

Only the hand-written run has hand-written reasoning everywhere; a step a rewrite changes or adds gets
a short plain thought saying what it does (SFT trains on the action only, and SRL's reward never
reads the thought).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from swesrl.trajectories.actions import Action, Bash, Submit, View

Run = list[tuple[str, Action]]
Rewrite = Callable[[Run], Run]

_REPRODUCE, _GREP, _PYTEST = "python -c", "grep ", "-m pytest"


def _is(action: Action, marker: str) -> bool:
    return isinstance(action, Bash) and marker in action.command


def reproduce_first(run: Run) -> Run:
    """Run the reproducer before locating the code (when the run starts with grep then the reproducer)."""
    if len(run) > 1 and _is(run[0][1], _GREP) and _is(run[1][1], _REPRODUCE):
        return [("First I'll reproduce what the issue reports.", run[1][1]),
                ("Reproduced. Now let me find where this is implemented.", run[0][1]), *run[2:]]
    return run


def read_with_sed(run: Run) -> Run:
    """Read the code with ``sed -n`` (no line numbers) instead of the editor's view."""
    return [("Let me print that part of the file.", Bash(f"sed -n '{a.view_range[0]},{a.view_range[1]}p' {a.path}"))
            if isinstance(a, View) and a.view_range else (t, a) for t, a in run]


def read_with_cat_n(run: Run) -> Run:
    """Read the code with ``cat -n | sed -n`` (line numbers, through the shell)."""
    return [("Let me print that part of the file with line numbers.",
             Bash(f"cat -n {a.path} | sed -n '{a.view_range[0]},{a.view_range[1]}p'"))
            if isinstance(a, View) and a.view_range else (t, a) for t, a in run]


def wider_view(run: Run) -> Run:
    """View ten more lines on each side of the function."""
    return [("Let me read the function with some surrounding code.", View(a.path, (max(1, a.view_range[0] - 10), a.view_range[1] + 10)))
            if isinstance(a, View) and a.view_range else (t, a) for t, a in run]


def whole_test_file(run: Run) -> Run:
    """Run the whole test file(s), stopping at the first failure, instead of a ``-k`` selection."""
    out = []
    for t, a in run:
        if _is(a, _PYTEST):
            command = re.sub(r" -k ('[^']*'|\S+)", "", a.command).replace(" -q ", " -x -q ", 1)
            out.append(("Run the whole test file, stopping at the first failure.", Bash(command)))
        else:
            out.append((t, a))
    return out


def grep_relative(run: Run) -> Run:
    """Search from inside the repository with relative paths."""
    return [("Search the repository for the code in question.", Bash("cd /testbed && " + a.command.replace(" /testbed/", " ./").replace(" /testbed ", " . ")))
            if _is(a, _GREP) and not a.command.startswith("cd ") else (t, a) for t, a in run]


def look_around_first(run: Run) -> Run:
    """List the repository before anything else."""
    return [("Let me look at the repository layout first.", Bash("ls /testbed")), *run]


def review_diff(run: Run) -> Run:
    """Look at the whole diff before submitting."""
    return [*run[:-1], ("Review the change before submitting.", Bash("cd /testbed && git diff")), run[-1]] if isinstance(run[-1][1], Submit) else run


VARIANTS: tuple[tuple[Rewrite, ...], ...] = (
    (reproduce_first, read_with_sed, review_diff),
    (grep_relative, wider_view, whole_test_file),
    (look_around_first, reproduce_first, read_with_cat_n, review_diff),
    (grep_relative, reproduce_first, wider_view, whole_test_file, review_diff),
)


def variants(run: Run) -> list[Run]:
    """The hand-written run first, then one run per rewrite combination in VARIANTS (duplicates dropped)."""
    out = [run]
    for rewrites in VARIANTS:
        new = run
        for rewrite in rewrites:
            new = rewrite(new)
        if new not in out:
            out.append(new)
    return out
