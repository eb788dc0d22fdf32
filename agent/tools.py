"""Run one Action in a Sandbox and say what happened, as the observation text the model reads.

Bash goes through ``Sandbox.exec``; the editor commands (view, create, str_replace, insert,
undo_edit) are file operations over ``read_file``/``write_file`` with SWE-agent's semantics, so
expert runs recorded with SWE-agent's editor replay to the same files. A tool that cannot do what
was asked (no match, a missing file) answers with an error observation: the model can recover.
"""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from swesrl.sandbox.base import FileTooLargeError, Sandbox
from swesrl.trajectories.actions import (
    Action,
    Bash,
    Create,
    Insert,
    StrReplace,
    Submit,
    ToolCall,
    UndoEdit,
    View,
)

SNIPPET_LINES = 4  # context shown around an edit, as SWE-agent's editor does
LARGE_FILE_LINES = 2000  # a file too large for the editor is viewed this many lines at a time


class ToolError(Exception):
    """The action was well formed but could not be carried out; the message becomes the observation."""


class _TooLarge(ToolError):
    """The file is too large to read into the host; `view` shows it in parts instead."""


@dataclass
class Editor:
    """Per-run editor state: the earlier contents of each edited file, newest last (None: did not exist)."""

    workdir: str = "/testbed"
    history: dict[str, list[str | None]] = field(default_factory=dict)

    def resolve(self, path: str) -> str:
        return posixpath.normpath(path if posixpath.isabs(path) else posixpath.join(self.workdir, path))


def execute(action: Action, sandbox: Sandbox, editor: Editor, timeout: float) -> str:
    """The observation for one action (Submit is handled by the loop, not here)."""
    try:
        match action:
            case Bash(command):
                return run_bash(sandbox, command, timeout, editor.workdir)
            case View(path, view_range):
                return view(sandbox, editor.resolve(path), view_range, timeout)
            case Create(path, file_text):
                return create(sandbox, editor, editor.resolve(path), file_text)
            case StrReplace(path, old_str, new_str):
                return str_replace(sandbox, editor, editor.resolve(path), old_str, new_str)
            case Insert(path, insert_line, new_str):
                return insert(sandbox, editor, editor.resolve(path), insert_line, new_str)
            case UndoEdit(path):
                return undo_edit(sandbox, editor, editor.resolve(path), timeout)
            case ToolCall(name):
                raise ToolError(f"unknown tool {name!r}: use bash, str_replace_editor or submit")
            case Submit():
                raise ToolError("submit ends the run; it has no observation")
    except ToolError as e:
        return f"ERROR: {e}"
    raise TypeError(f"not an Action: {action!r}")


def run_bash(sandbox: Sandbox, command: str, timeout: float, workdir: str) -> str:
    result = sandbox.exec(command, timeout=timeout, workdir=workdir)
    out = result.output
    if result.timed_out:
        return f"{out}\n[command timed out after {timeout:g} s and was killed]".lstrip("\n")
    if result.exit_code != 0:
        return f"{out}\n[exit code {result.exit_code}]".lstrip("\n")
    return out if out.strip() else "Your command ran successfully and did not produce any output."


def _read(sandbox: Sandbox, path: str) -> str | None:
    """The file's text, or None when it does not exist. One round trip: both sandboxes raise
    FileNotFoundError for a missing path and IsADirectoryError for a folder."""
    try:
        return sandbox.read_file(path)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ToolError(f"{path} is a directory; this command needs a file") from None
    except FileTooLargeError as e:
        raise _TooLarge(f"{e}; view it in parts (view_range) or edit it with bash (sed, python)") from None
    except OSError as e:  # permissions, a dangling link: the model can try another path
        raise ToolError(str(e)) from None


def _require_file(sandbox: Sandbox, path: str) -> str:
    text = _read(sandbox, path)
    if text is None:
        raise ToolError(f"the path {path} does not exist")
    return text


def file_lines(text: str) -> list[str]:
    """Lines as `cat -n` counts them: a final newline ends the last line, it does not start another."""
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def numbered(lines: list[str], first_line: int = 1) -> str:
    """``cat -n`` style: right-aligned line numbers, a tab, the line."""
    return "\n".join(f"{i:6}\t{line}" for i, line in enumerate(lines, start=first_line))


def view(sandbox: Sandbox, path: str, view_range: tuple[int, int] | None, timeout: float) -> str:
    try:
        text = _require_file(sandbox, path)
    except _TooLarge:
        return view_large(sandbox, path, view_range, timeout)
    except ToolError:
        if sandbox.exec(f"test -d {shlex.quote(path)}", timeout=timeout).exit_code != 0:
            raise
        if view_range is not None:
            raise ToolError("view_range is not allowed when path points to a directory") from None
        listing = sandbox.exec(f"find {shlex.quote(path)} -maxdepth 2 -not -path '*/.*' | sort", timeout=timeout).output
        return f"Here's the files and directories up to 2 levels deep in {path}, excluding hidden items:\n{listing}"
    lines = file_lines(text)
    first, last = 1, len(lines)
    if view_range is not None:
        first, last = view_range
        if not 1 <= first <= len(lines):
            raise ToolError(f"view_range start {first} is outside the file's lines [1, {len(lines)}]")
        if last == -1:
            last = len(lines)
        elif not first <= last <= len(lines):
            raise ToolError(f"view_range end {last} must be -1 or within [{first}, {len(lines)}]")
    body = numbered(lines[first - 1 : last], first)
    return f"Here's the result of running `cat -n` on {path}:\n{body}"


def view_large(sandbox: Sandbox, path: str, view_range: tuple[int, int] | None, timeout: float) -> str:
    """A file too large to read into the host: the lines asked for (at most LARGE_FILE_LINES) are
    numbered inside the sandbox, and the command's output cap bounds what comes back."""
    first, last = view_range or (1, LARGE_FILE_LINES)
    if first < 1 or (last != -1 and last < first):
        raise ToolError(f"view_range {[first, last]} is not a valid range")
    shown_last = first + LARGE_FILE_LINES - 1 if last == -1 else min(last, first + LARGE_FILE_LINES - 1)
    awk = f"NR>={first} && NR<={shown_last} {{printf \"%6d\\t%s\\n\", NR, $0}} NR>{shown_last} {{exit}}"
    quoted = shlex.quote(path)
    res = sandbox.exec(f"test -f {quoted} || exit 66; awk {shlex.quote(awk)} {quoted}", timeout=timeout)
    if res.exit_code == 66:
        raise ToolError(f"{path} is not a regular file; the editor views files")
    body = res.output.rstrip("\n")
    return (f"Here's the result of running `cat -n` on {path} (a large file: lines {first}-{shown_last} shown; "
            f"view other parts with view_range):\n{body}")


def _snippet(path: str, text: str, center_first: int, center_last: int) -> str:
    lines = file_lines(text)
    start = max(1, center_first - SNIPPET_LINES)
    end = min(len(lines), center_last + SNIPPET_LINES)
    body = numbered(lines[start - 1 : end], start)
    return (
        f"The file {path} has been edited. Here's the result of running `cat -n` on a snippet of {path}:\n"
        f"{body}\nReview the changes and make sure they are as expected. Edit the file again if necessary."
    )


def _write(sandbox: Sandbox, editor: Editor, path: str, old: str | None, new: str) -> None:
    try:
        sandbox.write_file(path, new)
    except OSError as e:
        raise ToolError(str(e)) from None
    editor.history.setdefault(path, []).append(old)


def create(sandbox: Sandbox, editor: Editor, path: str, file_text: str) -> str:
    if _read(sandbox, path) is not None:
        raise ToolError(f"{path} already exists; `create` cannot overwrite files (use str_replace)")
    _write(sandbox, editor, path, None, file_text)  # sandboxes create missing parent folders
    return f"File created successfully at: {path}"


def str_replace(sandbox: Sandbox, editor: Editor, path: str, old_str: str, new_str: str) -> str:
    text = _require_file(sandbox, path)
    count = text.count(old_str) if old_str else 0
    if count == 0:
        raise ToolError(f"no replacement was performed: old_str did not appear verbatim in {path}")
    if count > 1:
        starts, i = [], text.find(old_str)
        while i != -1:
            starts.append(text.count("\n", 0, i) + 1)
            i = text.find(old_str, i + 1)
        raise ToolError(f"no replacement was performed: old_str occurs {count} times in {path} (lines {starts}); make it unique")
    at = text.index(old_str)
    new_text = text[:at] + new_str + text[at + len(old_str) :]
    _write(sandbox, editor, path, text, new_text)
    first = text.count("\n", 0, at) + 1
    return _snippet(path, new_text, first, first + new_str.count("\n"))


def insert(sandbox: Sandbox, editor: Editor, path: str, insert_line: int, new_str: str) -> str:
    text = _require_file(sandbox, path)
    lines = text.split("\n")
    n = len(file_lines(text))
    if not 0 <= insert_line <= n:
        raise ToolError(f"insert_line {insert_line} is outside the file's lines [0, {n}]")
    new_lines = new_str.split("\n")
    new_text = "\n".join(lines[:insert_line] + new_lines + lines[insert_line:])
    _write(sandbox, editor, path, text, new_text)
    return _snippet(path, new_text, insert_line + 1, insert_line + len(new_lines))


def undo_edit(sandbox: Sandbox, editor: Editor, path: str, timeout: float) -> str:
    stack = editor.history.get(path)
    if not stack:
        raise ToolError(f"no edit history for {path}")
    previous = stack.pop()
    if previous is None:
        sandbox.exec(f"rm -f {shlex.quote(path)}", timeout=timeout)
        return f"Last edit to {path} undone: the file it created was removed."
    sandbox.write_file(path, previous)
    return f"Last edit to {path} undone successfully. Here's the result of running `cat -n` on {path}:\n{numbered(file_lines(previous))}"
