"""SWE-agent command lines -> Action: 1.x ``str_replace_editor`` flags, 0.x ACI commands, submit, bash.

Used for SWE-agent ``.traj`` actions when no structured tool call is recorded, and for the nebius
rows (SWE-agent 0.x runs). ACI commands (open, goto, edit a:b ... end_of_edit, ...) work on an
editor window the command does not name, so they are read as ``ToolCall``s with their own
arguments; ``windowed`` maps them onto canonical actions by following the windows the log shows.
"""

from __future__ import annotations

import shlex

from ..actions import EDITOR, Action, ActionError, Bash, Submit, ToolCall, from_tool_call

Parsed = tuple[Action | None, str | None]

_EDITOR_FLAGS = frozenset({"--view_range", "--file_text", "--old_str", "--new_str", "--insert_line"})

# name -> (required count, argument names); the names follow SWE-agent's own command docs, which are
# also the argument names of its function-calling tools, so flat and structured calls agree.
_ACI: dict[str, tuple[int, tuple[str, ...]]] = {
    "open": (1, ("path", "line_number")),
    "goto": (1, ("line_number",)),
    "scroll_up": (0, ()),
    "scroll_down": (0, ()),
    "create": (1, ("filename",)),
    "find_file": (1, ("file_name", "dir")),
    "search_dir": (1, ("search_term", "dir")),
    "search_file": (1, ("search_term", "file")),
}
_INT_ARGS = frozenset({"line_number"})
# Multi-agent scaffolds built on SWE-agent 0.x (CodeR) add commands that steer the agents, not the
# repository: a manager's ``plan``, a sub-agent's ``succeed``/``fail``. None is a shell command.
_CONTROL = frozenset({"plan", "succeed", "fail"})


def parse_command(text: str) -> Parsed:
    """(action, None) or (None, why the command is unusable)."""
    command = text.strip()
    if not command:
        return None, "no action"
    head = command.split(None, 1)[0]
    if head == EDITOR:
        return _editor(command)
    if head == "submit":
        return Submit(), None
    if head == "edit":
        return _edit(command)
    if head in _ACI:
        return _aci(head, command)
    if head in _CONTROL:
        rest = command[len(head) :].strip()
        return ToolCall.make(head, {"argument": rest} if rest else {}), None
    return Bash(command), None


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:  # unbalanced quotes: SWE-agent passes such lines on as they are
        return text.split()


def _editor(command: str) -> Parsed:
    try:
        tokens = shlex.split(command)
    except ValueError as e:
        return None, f"{EDITOR}: cannot split the command line ({e})"
    if len(tokens) < 3:
        return None, f"{EDITOR}: expected a command and a path"
    args: dict[str, object] = {"command": tokens[1], "path": tokens[2]}
    key: str | None = None
    values: list[str] = []
    for token in [*tokens[3:], None]:
        if token is None or token in _EDITOR_FLAGS:
            if key is not None:
                args[key] = values if key == "view_range" else " ".join(values)
            key, values = (token[2:] if token else None), []
        elif key is None:
            return None, f"{EDITOR}: unexpected argument {token!r}"
        else:
            values.append(token)
    try:
        return from_tool_call(EDITOR, args), None
    except ActionError as e:
        return None, str(e)


def _edit(command: str) -> Parsed:
    """``edit a:b`` then the replacement lines then ``end_of_edit`` (SWE-agent 0.x)."""
    first, _, body = command.partition("\n")
    span = first[len("edit") :].strip().split(":")
    if len(span) != 2 or not all(s.strip().isdigit() for s in span):
        return None, "edit: expected 'edit <start>:<end>'"
    lines = body.split("\n")
    if lines[-1].strip() != "end_of_edit":
        return None, "edit: the replacement does not end with end_of_edit"
    replacement = "\n".join(lines[:-1])
    return ToolCall.make("edit", {"start": int(span[0]), "end": int(span[1]), "replacement": replacement}), None


def _aci(name: str, command: str) -> Parsed:
    if "\n" in command:
        return None, f"{name}: unexpected extra lines"
    required, names = _ACI[name]
    values = _split(command)[1:]
    if not required <= len(values) <= len(names):
        return None, f"{name}: expected {required} to {len(names)} arguments, got {len(values)}"
    args: dict[str, object] = {}
    for key, value in zip(names, values, strict=False):
        if key in _INT_ARGS:
            if not value.isdigit():
                return None, f"{name}: {key} must be an integer, got {value!r}"
            args[key] = int(value)
        else:
            args[key] = value
    return ToolCall.make(name, args), None
