"""The one action language shared by expert trajectories, training targets and the agent loop.

Every scaffold's tool calls (SWE-agent, OpenHands, mini-swe-agent, ...) are normalized into these
small frozen dataclasses. Two text forms exist: the SWE-agent XML function-call text that the SRL
paper's data uses (the canonical form: training targets and rewards compare it), and OpenAI
tool-call JSON. Both round-trip: ``parse_xml(render_xml(a)) == a``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Bash:
    command: str
    kind = "bash"


@dataclass(frozen=True)
class View:
    path: str
    view_range: tuple[int, int] | None = None
    kind = "view"


@dataclass(frozen=True)
class Create:
    path: str
    file_text: str
    kind = "create"


@dataclass(frozen=True)
class StrReplace:
    path: str
    old_str: str
    new_str: str = ""
    kind = "str_replace"


@dataclass(frozen=True)
class Insert:
    path: str
    insert_line: int
    new_str: str
    kind = "insert"


@dataclass(frozen=True)
class UndoEdit:
    path: str
    kind = "undo_edit"


@dataclass(frozen=True)
class Submit:
    kind = "submit"


@dataclass(frozen=True)
class ToolCall:
    """Any other tool, kept as its name and string arguments (non-strings are JSON-encoded)."""

    name: str
    arguments: tuple[tuple[str, str], ...] = field(default=())
    kind = "tool"

    @classmethod
    def make(cls, name: str, arguments: dict[str, Any] | None = None) -> ToolCall:
        args = tuple((k, v if isinstance(v, str) else json.dumps(v)) for k, v in (arguments or {}).items())
        return cls(name, args)

    @property
    def args(self) -> dict[str, str]:
        return dict(self.arguments)


Action = Bash | View | Create | StrReplace | Insert | UndoEdit | Submit | ToolCall

ACTION_KINDS = ("bash", "view", "create", "str_replace", "insert", "undo_edit", "submit", "tool")
EDITOR = "str_replace_editor"
DEFAULT_TOOLS = frozenset({"bash", EDITOR, "submit"})


class ActionError(ValueError):
    """A tool call that cannot become an Action (unknown editor command, missing parameter, ...)."""


# ---------------------------------------------------------------- tool name + arguments <-> Action


def to_tool_call(action: Action) -> tuple[str, dict[str, Any]]:
    """The (function name, arguments) pair in SWE-agent's tool vocabulary, canonical order."""
    match action:
        case Bash(command):
            return "bash", {"command": command}
        case View(path, view_range):
            args: dict[str, Any] = {"command": "view", "path": path}
            if view_range is not None:
                args["view_range"] = list(view_range)
            return EDITOR, args
        case Create(path, file_text):
            return EDITOR, {"command": "create", "path": path, "file_text": file_text}
        case StrReplace(path, old_str, new_str):
            return EDITOR, {"command": "str_replace", "path": path, "old_str": old_str, "new_str": new_str}
        case Insert(path, insert_line, new_str):
            return EDITOR, {"command": "insert", "path": path, "insert_line": insert_line, "new_str": new_str}
        case UndoEdit(path):
            return EDITOR, {"command": "undo_edit", "path": path}
        case Submit():
            return "submit", {}
        case ToolCall(name, arguments):
            return name, dict(arguments)
    raise TypeError(f"not an Action: {action!r}")


def _require(args: dict[str, Any], key: str, tool: str) -> Any:
    if key not in args or args[key] is None:
        raise ActionError(f"{tool}: missing parameter '{key}'")
    return args[key]


def _as_int(value: Any, what: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ActionError(f"{what} must be an integer, got {value!r}") from None


def _as_range(value: Any) -> tuple[int, int] | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ActionError(f"view_range must be a list of two integers, got {value!r}") from None
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ActionError(f"view_range must be a list of two integers, got {value!r}")
    return (_as_int(value[0], "view_range"), _as_int(value[1], "view_range"))


_ALIASES = {"execute_bash": "bash", "finish": "submit"}


def from_tool_call(name: str, arguments: dict[str, Any]) -> Action:
    """Normalize one tool call (any scaffold's vocabulary) into an Action."""
    name = _ALIASES.get(name, name)
    if name == "bash":
        command = str(_require(arguments, "command", name))
        if arguments.get("is_input") and str(arguments["is_input"]).lower() == "true":  # keys for a running process (OpenHands)
            return ToolCall.make("send_keys", {"keys": command})
        return Bash(command)
    if name == "submit":
        return Submit()
    if name in (EDITOR, "str_replace_based_edit_tool"):
        cmd = _require(arguments, "command", EDITOR)
        path = str(_require(arguments, "path", f"{EDITOR} {cmd}"))
        tool = f"{EDITOR} {cmd}"
        if cmd == "view":
            return View(path, _as_range(arguments.get("view_range")))
        if cmd == "create":
            return Create(path, str(_require(arguments, "file_text", tool)))
        if cmd == "str_replace":
            new = arguments.get("new_str")
            return StrReplace(path, str(_require(arguments, "old_str", tool)), "" if new is None else str(new))
        if cmd == "insert":
            line = _as_int(_require(arguments, "insert_line", tool), "insert_line")
            return Insert(path, line, str(_require(arguments, "new_str", tool)))
        if cmd == "undo_edit":
            return UndoEdit(path)
        raise ActionError(f"{EDITOR}: unknown command {cmd!r}")
    return ToolCall.make(name, arguments)


# ---------------------------------------------------------------- SWE-agent XML function-call text


def _xml_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render_xml(action: Action) -> str:
    """Canonical text of an action: what training targets hold and what rewards compare."""
    return render_call(*to_tool_call(action))


def render_call(name: str, args: dict[str, Any]) -> str:
    """``render_xml`` of the action whose ``to_tool_call`` is (name, args)."""
    params = [f"<function={name}>\n"]
    for k, v in args.items():
        params.append(f"<parameter={k}>{v if type(v) is str else _xml_value(v)}</parameter>\n")
    params.append("</function>")
    return "".join(params)


_FUNCTION_RE = re.compile(r"<function=([^>\s]+)>(.*?)</function>", re.DOTALL)
_PARAM_RE = re.compile(r"<parameter=([^>\s]+)>(.*?)</parameter>", re.DOTALL)


def parse_xml_params(body: str) -> dict[str, str]:
    """Parameters of one function body, values taken exactly (no stripping keeps round trips exact)."""
    return {m.group(1): m.group(2) for m in _PARAM_RE.finditer(body)}


def parse_xml(text: str) -> Action:
    """Exactly one ``<function=...>`` call -> Action; raises ActionError otherwise."""
    calls = _FUNCTION_RE.findall(text)
    if len(calls) != 1:
        raise ActionError(f"expected one <function=...> call, found {len(calls)}")
    name, body = calls[0]
    return from_tool_call(name, parse_xml_params(body))


# ---------------------------------------------------------------- OpenAI tool-call JSON


def to_openai(action: Action, call_id: str = "call_0") -> dict[str, Any]:
    name, args = to_tool_call(action)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def from_openai(call: dict[str, Any]) -> Action:
    """One OpenAI ``tool_calls`` entry (or its ``function`` part) -> Action."""
    fn = call.get("function", call)
    if not isinstance(fn, dict) or "name" not in fn:
        raise ActionError("tool call has no function name")
    raw = fn.get("arguments") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as e:
            raise ActionError(f"{fn['name']}: arguments are not valid JSON ({e.msg})") from None
    if not isinstance(raw, dict):
        raise ActionError(f"{fn['name']}: arguments must be a JSON object")
    return from_tool_call(fn["name"], raw)


# ---------------------------------------------------------------- plain dicts (our own JSONL schema)


def action_to_dict(action: Action) -> dict[str, Any]:
    name, args = to_tool_call(action)
    return {"kind": action.kind, "name": name, "arguments": args}


def action_from_dict(data: dict[str, Any]) -> Action:
    return from_tool_call(data["name"], data.get("arguments") or {})
