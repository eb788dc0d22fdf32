"""Localization, the first stage of the end-to-end pipeline (Agentless-mini, srl-method.md section 5).

The model sees the issue and the repository's file paths (paths only, within a character budget)
and names the files to edit. Its answer is read leniently: a fenced block of paths, or any lines
after the ``</think>``; the named paths that are repository files are kept, in order. Scoring
against the gold patch's files tells a localization miss from a repair miss.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from swesrl.sandbox.base import Sandbox
from swesrl.trajectories.context import Message
from swesrl.trajectories.edits import normalize_path

_FENCE_RE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
_PATH_RE = re.compile(r"^[\w.\-/]*\w\.[A-Za-z][A-Za-z0-9]+$")  # reads as a file path (not "e.g", not "3.11")
_TEST_RE = re.compile(r"(^|/)(tests?|testing)/|(^|/)test_[^/]*$|_tests?\.py$")


@cache
def prompt_template(name: str) -> str:
    """A prompt template shipped in ``swesrl/agent/prompts``."""
    return (resources.files(__package__) / "prompts" / name).read_text(encoding="utf-8")


def repo_files(sandbox: Sandbox, workdir: str, timeout: float = 60.0) -> list[str]:
    """The repository's tracked files at the sandbox's state (repository-relative paths)."""
    r = sandbox.exec("git -c core.quotepath=off ls-files", timeout, workdir=workdir)
    if r.exit_code != 0:
        raise RuntimeError(f"git ls-files in {workdir} failed (exit {r.exit_code}): {r.output[-2000:]}")
    return [line for line in r.output.splitlines() if line.strip()]


def shown_files(paths: list[str], globs: tuple[str, ...], max_chars: int) -> tuple[list[str], int]:
    """The paths the prompt lists: those matching ``globs`` (all when empty); past ``max_chars``,
    test files go first, then the tail. Returns (shown paths, number left out)."""
    kept = [p for p in paths if not globs or any(fnmatch.fnmatch(p, g) for g in globs)]
    if sum(len(p) + 1 for p in kept) > max_chars:
        kept = [p for p in kept if not _TEST_RE.search(p)]
    shown, used = [], 0
    for p in kept:
        if used + len(p) + 1 > max_chars:
            break
        shown.append(p)
        used += len(p) + 1
    return shown, len(paths) - len(shown)


def localize_messages(problem_statement: str, paths: list[str], left_out: int, max_files: int) -> list[Message]:
    listing = "\n".join(paths)
    if left_out:
        listing += f"\n[... {left_out} more paths not shown ...]"
    user = prompt_template("localize_user.md").format(problem_statement=problem_statement.strip(), files=listing)
    system = prompt_template("localize_system.md").format(max_files=max_files)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class Localization:
    """What a localization answer names: repository files (in order, at most ``max_files``), and
    path-like names that are not repository files."""

    thought: str
    files: list[str]
    unknown: list[str]


def parse_localization(answer: str, known: set[str], max_files: int) -> Localization:
    """Read the named paths; an answer that names no path at all is the caller's format error."""
    thought, sep, body = answer.partition("</think>")
    thought = thought.replace("<think>", "").strip() if sep else ""
    body = body if sep else answer
    blocks = _FENCE_RE.findall(body)
    lines = "\n".join(blocks).splitlines() if blocks else body.splitlines()
    files: list[str] = []
    unknown: list[str] = []
    for line in lines:
        for token in re.split(r"[\s`'\",;:()\[\]]+", line):
            token = token.strip("*-").rstrip(".")
            if not token:
                continue
            path = normalize_path(token)
            if path in known:
                if path not in files:
                    files.append(path)
            elif _PATH_RE.match(token) and path not in unknown:
                unknown.append(path)
    return Localization(thought, files[:max_files], unknown)


def localization_score(localized: list[str], gold: list[str]) -> dict[str, object]:
    """``hit``: every gold file was localized; ``recall``: the share of gold files localized."""
    found = [g for g in gold if g in localized]
    return {"gold_files": list(gold), "hit": bool(gold) and len(found) == len(gold),
            "recall": round(len(found) / len(gold), 3) if gold else None}
