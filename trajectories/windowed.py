"""SWE-agent's windowed editor commands -> canonical actions, replaying what the scaffold tracked.

SWE-agent 0.x (``open``, ``goto``, ``scroll_up/down``, ``create``, ``edit a:b ... end_of_edit``,
``find_file``, ``search_dir``, ``search_file``) and 1.x's windowed tools (``edit SEARCH REPLACE``,
``insert TEXT [LINE]``) act on an open file and a window of it that the command itself does not
name. The log does show them: every window the scaffold printed (``[File: PATH (N lines total)]``
then ``LINE:TEXT`` rows) says which file is open, which lines were on screen and what they held.
``WindowedEditor`` follows those windows step by step and turns each command into the canonical
action that does the same thing:

- ``open``/``goto``/``scroll`` -> ``view`` of the lines the window showed;
- ``create F`` -> ``create`` with the one empty line the scaffold writes;
- ``edit a:b`` -> ``str_replace`` of lines a..b (widened by neighbouring lines until the old text is
  unique in what the log has shown), ``edit SEARCH REPLACE`` -> ``str_replace``, ``insert`` -> ``insert``;
  each is checked against the window the scaffold printed after the edit, and dropped on a mismatch;
- ``find_file``/``search_dir``/``search_file`` -> the shell commands they run.

A command that cannot be mapped exactly gives ``None`` and a reason, never a guess.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass, field

from .actions import Action, Bash, Create, Insert, StrReplace, ToolCall, UndoEdit, View

WINDOWED_TOOLS = frozenset(
    {"open", "goto", "scroll_up", "scroll_down", "create", "edit", "insert", "find_file", "search_dir", "search_file"}
)
_HEADER = re.compile(r"^\[File: (.+) \((\d+) lines total\)\]$")
_ROW = re.compile(r"^(\d+):(.*)$")
_OPEN_FILE = re.compile(r"^\(Open file: (.+)\)$", re.MULTILINE)
_NOT_APPLIED = "Your changes have NOT been applied"
_ORIGINAL = "This is the original code before your edit"
_MIN_DISTINCT = 20  # non-space characters an old_str needs when only part of the file was shown
_MAX_WIDEN = 40  # neighbouring lines an edit may borrow to make its old text unique


@dataclass(frozen=True)
class Window:
    path: str
    total: int
    lines: dict[int, str]


def windows(observation: str) -> list[Window]:
    """Every ``[File: ...]`` window printed in an observation, in order."""
    rows = observation.replace("\r\n", "\n").split("\n")
    found = []
    for i, row in enumerate(rows):
        m = _HEADER.match(row)
        if not m:
            continue
        lines: dict[int, str] = {}
        expected = None
        for r in rows[i + 1 :]:
            if expected is None and r.startswith("(") and r.endswith("more lines above)"):
                continue
            n = _ROW.match(r)
            if not n or (expected is not None and int(n.group(1)) != expected):
                break
            expected = int(n.group(1)) + 1
            lines[expected - 1] = n.group(2)
        found.append(Window(m.group(1), int(m.group(2)), lines))
    return found


@dataclass
class Known:
    """What the log has shown of one file: its length and the lines seen (1-based)."""

    total: int
    lines: dict[int, str] = field(default_factory=dict)

    @property
    def full(self) -> bool:
        return len(self.lines) == self.total and all(i in self.lines for i in range(1, self.total + 1))

    def blocks(self) -> list[tuple[int, str]]:
        """Runs of consecutive known lines: (first line number, their text)."""
        out: list[tuple[int, str]] = []
        run: list[str] = []
        start = prev = 0
        for i in sorted(self.lines):
            if run and i != prev + 1:
                out.append((start, "\n".join(run)))
                run = []
            if not run:
                start = i
            run.append(self.lines[i])
            prev = i
        if run:
            out.append((start, "\n".join(run)))
        return out

    def count(self, text: str) -> int:
        return sum(block.count(text) for _, block in self.blocks())

    def replaced(self, a: int, b: int, new: list[str]) -> Known:
        """A copy with lines a..b replaced by ``new`` (b = a - 1 inserts before line a)."""
        delta = len(new) - (b - a + 1)
        lines = {i if i < a else i + delta: t for i, t in self.lines.items() if i < a or i > b}
        lines.update({a + k: t for k, t in enumerate(new)})
        return Known(self.total + delta, lines)

    def agrees(self, window: Window) -> bool:
        return window.total == self.total and all(self.lines.get(i, t) == t for i, t in window.lines.items())


@dataclass
class WindowedEditor:
    """Replays one run's windowed-editor state; ``root`` is the folder the scaffold worked in."""

    root: str
    files: dict[str, Known] = field(default_factory=dict)
    current: str | None = None

    def resolve(self, path: str) -> str:
        return posixpath.normpath(path if posixpath.isabs(path) else posixpath.join(self.root, path))

    def step(self, action: Action | None, observation: str) -> tuple[Action | None, str | None]:
        """The canonical action for one step (or None and why), then the state after it.

        ``action`` None: a turn the scaffold did not execute; its observation may still show windows.
        """
        shown = windows(observation)
        if isinstance(action, ToolCall) and action.name in WINDOWED_TOOLS:
            result = self._map(action, observation, shown)
        else:
            if action is not None:
                self._forget(action)
            result = (action, None)
        self._see(observation, shown)
        return result

    # ------------------------------------------------------------ state

    def _see(self, observation: str, shown: list[Window]) -> None:
        if _NOT_APPLIED in observation:  # only the "original code" window is the file as it is
            at = observation.find(_ORIGINAL)
            shown = windows(observation[at:]) if at != -1 else []
        for w in shown:
            path = self.resolve(w.path)
            known = self.files.get(path)
            if known is None or known.total != w.total or not known.agrees(w):
                known = Known(w.total)
            known.lines.update(w.lines)
            self.files[path] = known
            self.current = path
        m = _OPEN_FILE.findall(observation)
        if m and m[-1] != "n/a":
            self.current = self.resolve(m[-1])

    def _forget(self, action: Action) -> None:
        """A canonical edit or a shell command may change a file behind the windows' back."""
        if isinstance(action, (Create, StrReplace, Insert, UndoEdit)):
            self.files.pop(self.resolve(action.path), None)
        elif isinstance(action, Bash):
            for path in [p for p in self.files if posixpath.basename(p) in action.command]:
                if not _READ_ONLY.match(action.command):
                    del self.files[path]

    # ------------------------------------------------------------ commands

    def _map(self, call: ToolCall, observation: str, shown: list[Window]) -> tuple[Action | None, str | None]:
        args = call.args
        name = call.name
        if name in ("open", "goto", "scroll_up", "scroll_down"):
            if not shown:
                return None, "window_not_shown"
            w = shown[-1]
            if not w.lines:
                return None, "window_not_shown"
            return View(self.resolve(w.path), (min(w.lines), max(w.lines))), None
        if name == "create":
            if "already exists" in observation or not shown:
                return None, "create_failed"
            return Create(self.resolve(args.get("filename", "")), "\n"), None
        if name == "find_file":
            return Bash(f"find {_q(args.get('dir') or '.')} -type f -name {_q(args.get('file_name', ''))}"), None
        if name == "search_dir":
            term, folder = _q(args.get("search_term", "")), _q(args.get("dir") or ".")
            return Bash(f"grep -rnIc -- {term} {folder} | grep -v ':0$'"), None
        if name == "search_file":
            target = args.get("file") or self.current
            if not target:
                return None, "no_open_file"
            return Bash(f"grep -n -- {_q(args.get('search_term', ''))} {_q(self.resolve(target))}"), None
        if self.current is None:
            return None, "no_open_file"
        if self.current not in self.files:
            return None, "lines_not_shown"
        known = self.files[self.current]
        if name == "edit" and "start" in args:
            mapped = _edit_lines(self.current, known, int(args["start"]), int(args["end"]), args.get("replacement", ""))
        elif name == "edit":
            if args.get("replace-all", "").lower() in ("true", "1"):
                return None, "edit_replace_all"
            mapped = _edit_search(self.current, known, args.get("search", ""), args.get("replace", ""))
        else:
            mapped = _insert(self.current, known, args)
        action, after, reason = mapped
        if action is None or after is None:
            return None, reason
        check = shown[0] if _NOT_APPLIED in observation and shown else (shown[-1] if shown else None)
        if check is None or not after.agrees(check):
            return None, "edit_mismatch"
        if _NOT_APPLIED not in observation:
            self.files[self.current] = after
        return action, None


_READ_ONLY = re.compile(r"^\s*(cat|head|tail|grep|ls|find|wc|nl|python3?|pytest|diff|git (diff|status|log|show))\b")


def _q(text: str) -> str:
    return shlex.quote(text)


Mapped = tuple[Action | None, Known | None, str | None]


def _edit_lines(path: str, known: Known, a: int, b: int, replacement: str) -> Mapped:
    """``edit a:b``: lines a..b become the replacement's lines (an empty replacement deletes them)."""
    if not 1 <= a <= b or b > known.total:
        return None, None, "edit_bad_range"
    if any(i not in known.lines for i in range(a, b + 1)):
        return None, None, "lines_not_shown"
    new = replacement.split("\n") if replacement else []
    after = known.replaced(a, b, new)
    lo, hi = a, b
    for _ in range(_MAX_WIDEN + 1):
        old = "\n".join(known.lines[i] for i in range(lo, hi + 1))
        # a deletion needs a neighbour: "x\ny" -> "" would leave the line break behind
        if (new or lo < a or hi > b) and _distinct(old, known) and known.count(old) == 1:
            keep = [known.lines[i] for i in range(lo, a)] + new + [known.lines[i] for i in range(b + 1, hi + 1)]
            return StrReplace(path, old, "\n".join(keep)), after, None
        if lo - 1 in known.lines:
            lo -= 1
        elif hi + 1 in known.lines:
            hi += 1
        else:
            break
    if known.full and known.total == b - a + 1 and new:  # a whole file shown, e.g. just created
        old = "\n".join(known.lines[i] for i in range(1, known.total + 1)) + "\n"
        return StrReplace(path, old, "\n".join(new) + "\n"), after, None
    return None, None, "edit_not_unique"


def _distinct(old: str, known: Known) -> bool:
    return bool(old.strip()) and (known.full or len("".join(old.split())) >= _MIN_DISTINCT)


def _edit_search(path: str, known: Known, search: str, replace: str) -> Mapped:
    """1.x ``edit SEARCH REPLACE``: the first occurrence in the window; exact when it occurs once."""
    if not search or known.count(search) != 1 or not _distinct(search, known):
        return None, None, "edit_not_unique"
    for block_start, block in known.blocks():
        at = block.find(search)
        if at == -1:
            continue
        first = block_start + block.count("\n", 0, at)
        last = block_start + block.count("\n", 0, at + len(search))
        text = "\n".join(known.lines[i] for i in range(first, last + 1))
        offset = at - sum(len(known.lines[i]) + 1 for i in range(block_start, first))
        new = (text[:offset] + replace + text[offset + len(search) :]).split("\n")
        return StrReplace(path, search, replace), known.replaced(first, last, new), None
    return None, None, "edit_not_unique"


def _insert(path: str, known: Known, args: dict[str, str]) -> Mapped:
    """1.x ``insert TEXT [LINE]``: after LINE, or at the end of the file."""
    line = args.get("line")
    try:
        after_line = int(line) if line not in (None, "") else known.total
    except ValueError:
        return None, None, "edit_bad_range"
    if not 0 <= after_line <= known.total:
        return None, None, "edit_bad_range"
    new = args.get("text", "").split("\n")
    return Insert(path, after_line, args.get("text", "")), known.replaced(after_line + 1, after_line, new), None
