"""Plumbing every reader shares: errors that say where, typed field access, issue text, ids, chat steps.

Readers see third-party JSON whose shape drifts between versions, so every field access goes
through ``Where`` and a wrong type becomes a TrajectoryError naming the file, record and field
instead of a KeyError or TypeError deep inside a reader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..actions import Action
from ..schema import Step, Trajectory, TrajectoryError

OnError = Callable[[TrajectoryError], None]

_KINDS = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "an integer", float: "a number"}


def kind(value: Any) -> str:
    """A JSON-flavoured name of a value's type, for error messages."""
    return "null" if value is None else _KINDS.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class Where:
    """The file and record being read; makes errors that name them."""

    path: str
    record: int | None = None
    name: str | None = None  # the file as ids name it: its path under the folder being read, no suffix

    def error(self, field: str | None, problem: str) -> TrajectoryError:
        return TrajectoryError(self.path, self.record, field, problem)

    def obj(self, value: Any, field: str | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.error(field, f"expected an object, got {kind(value)}")
        return value

    def get(self, obj: dict[str, Any], key: str, typ: type | tuple[type, ...], field: str | None = None,
            required: bool = True) -> Any:
        """``obj[key]`` checked against ``typ``; missing or null is an error only when required."""
        value = obj.get(key)
        name = field or key
        if value is None:
            if required:
                raise self.error(name, "missing")
            return None
        if not isinstance(value, typ) or (isinstance(value, bool) and bool not in _as_tuple(typ)):
            expected = " or ".join(_KINDS.get(t, t.__name__) for t in _as_tuple(typ))
            raise self.error(name, f"expected {expected}, got {kind(value)}")
        return value

    def text(self, value: Any, field: str) -> str:
        """Message content as text: a string, null, or a list of ``{"type": "text", "text": ...}`` parts."""
        if isinstance(value, str):
            return value
        if value is None:
            return ""
        if isinstance(value, list):
            parts = []
            for i, part in enumerate(value):
                if isinstance(part, str):
                    parts.append(part)
                elif isinstance(part, dict) and isinstance(part.get("text"), str):
                    parts.append(part["text"])
                elif not (isinstance(part, dict) and part.get("type") not in (None, "text")):
                    raise self.error(f"{field}[{i}]", f"expected a text part, got {kind(part)}")
            return "\n".join(parts)
        raise self.error(field, f"expected text (a string or a list of text parts), got {kind(value)}")


def dict_at(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """``obj[key]`` when it is an object, else an empty one: for optional metadata whose shape varies."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _as_tuple(typ: type | tuple[type, ...]) -> tuple[type, ...]:
    return typ if isinstance(typ, tuple) else (typ,)


# ---------------------------------------------------------------- issue text, repo, ids

# SWE-Play puts the task in <task_description> after in-context examples that carry their own
# <pr_description>, so it is looked for first.
_ISSUE_TAGS = ("task_description", "pr_description", "issue_description", "issue")
_PR_LEAD = "Consider the following PR description:"
_INSTRUCTIONS = re.compile(r"\n\s*INSTRUCTIONS?:")  # SWE-agent writes INSTRUCTIONS:, CodeR INSTRUCTION:
_UPLOADED = re.compile(r"<uploaded_files>\s*(/[^\s<]*)\s*</uploaded_files>")
_CURRENT_DIR = re.compile(r"^\(Current directory: (/[^)\n]*)\)$", re.MULTILINE)


def workdir_of(message: str) -> str | None:
    """The folder a task prompt says the repository is in: OpenHands' ``<uploaded_files>``, SWE-agent 0.x's prompt footer."""
    m = _UPLOADED.search(message)
    if m:
        return m.group(1).rstrip("/") or "/"
    found = _CURRENT_DIR.findall(message)
    return found[-1].rstrip("/") or "/" if found else None


def issue_text(message: str) -> str:
    """The issue inside a task prompt: a ``<pr_description>``-style tag, SWE-agent's ``ISSUE:`` block, or all of it."""
    for tag in _ISSUE_TAGS:
        start = message.find(f"<{tag}>")
        if start != -1:
            end = message.find(f"</{tag}>", start)
            if end != -1:
                inner = message[start + len(tag) + 2 : end].strip()
                return inner[len(_PR_LEAD) :].strip() if inner.startswith(_PR_LEAD) else inner
    start = message.find("ISSUE:\n")
    if start != -1:
        instructions = _INSTRUCTIONS.search(message, start)
        return message[start + len("ISSUE:\n") : instructions.start() if instructions else None].strip()
    return message.strip()


_SWE_SMITH_TAIL = re.compile(r"\.[0-9a-f]{8}\.[\w.-]*$")
_SWE_BENCH_TAIL = re.compile(r"-\d+(?:_\d+)?$")
_INSTANCE_ID = re.compile(r"^[\w.-]+__[\w.-]+$")


def repo_of(instance_id: str | None) -> str | None:
    """``owner/name`` from a SWE-bench (``owner__name-123``) or SWE-smith (``owner__name.1a2b3c4d.pr_5``) id."""
    if not instance_id or len(instance_id) > 200 or not _INSTANCE_ID.match(instance_id):
        return None
    owner, rest = instance_id.split("__", 1)
    name = _SWE_SMITH_TAIL.sub("", rest)
    if name == rest:
        name = _SWE_BENCH_TAIL.sub("", rest)
    return f"{owner}/{name}" if owner and name and name != rest else None


def instance_from_filename(path: str) -> str | None:
    """Logs stored one run per file are named after their instance; used only when the content has no id."""
    stem = file_stem(path)
    return stem if repo_of(stem) else None


_SUFFIXES = (".json", ".jsonl", ".traj")


def file_stem(path: str) -> str:
    name = Path(path).name
    trimmed = True
    while trimmed:
        trimmed = False
        for suffix in _SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix):
                name, trimmed = name[: -len(suffix)], True
    return name


def trajectory_id(instance_id: str | None, where: Where) -> str:
    """Deterministic: the same file read twice gives the same ids (resume and dedup rely on it).

    Files of one folder are named by their path under it, so same-named files in two subfolders differ.
    """
    return f"{instance_id or 'run'}:{where.name or file_stem(where.path)}:{where.record or 0}"


def make_trajectory(source_format: str, where: Where, instance_id: str | None, problem: str, steps: list[Step],
                    task_message: str = "", **fields: Any) -> Trajectory:
    """A Trajectory whose id, repo and source are derived the same way by every reader.

    ``repo`` defaults to the one the instance id names; a reader whose data states it passes it.
    ``task_message``: the prompt that gave the task; the folder it names goes to ``metadata["workdir"]``.
    """
    fields.setdefault("repo", repo_of(instance_id))
    workdir = workdir_of(task_message) if task_message else None
    if workdir:
        fields["metadata"] = {**(fields.get("metadata") or {}), "workdir": workdir}
    return Trajectory(
        id=trajectory_id(instance_id, where),
        problem_statement=problem,
        steps=steps,
        instance_id=instance_id,
        source_format=source_format,
        source_path=where.path,
        **fields,
    )


_OBSERVATION_LABELS = ("OBSERVATION:\n", "OBSERVATION: ", "Observation: ", "Observation:\n")


def strip_observation_label(text: str) -> str:
    """Drop a scaffold's ``OBSERVATION:`` label; swesrl's own prompt template adds its own."""
    for label in _OBSERVATION_LABELS:
        if text.startswith(label):
            return text[len(label) :]
    return text


def strip_thought_label(text: str) -> str:
    text = text.strip()
    return text[len("THOUGHT:") :].strip() if text.startswith("THOUGHT:") else text


def nonempty(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def outcome_of(resolved: Any) -> str:
    """Only a boolean the data states becomes resolved/unresolved; anything else is unknown."""
    return "unknown" if not isinstance(resolved, bool) else ("resolved" if resolved else "unresolved")


# ---------------------------------------------------------------- chat message styles

FENCE = re.compile(r"```(?:bash|mswea_bash_command)\s*\n(.*?)\n```", re.DOTALL)


def chat_style(messages: list[Any]) -> str | None:
    """How a chat log writes its actions: native ``tool_calls``, XML ``<function=``, or a fenced block.

    Decided by the first assistant turn that shows any of the three, so sniffing stays cheap.
    """
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in ("assistant", "ai"):
            continue
        if m.get("tool_calls"):
            return "tool_calls"
        content = m.get("content")
        if isinstance(content, str):
            if "<function=" in content:
                return "xml"
            if FENCE.search(content):
                return "fence"
    return None


def reader_for(name: str) -> Callable[..., Iterator[Trajectory]]:
    """``read(path, on_error)`` for one format, skipping the sniffing."""

    def read(path: str | Path, on_error: OnError | None = None) -> Iterator[Trajectory]:
        from . import read_trajectories

        return read_trajectories(path, on_error, format=name)

    read.__doc__ = f"Read {name} trajectories from a file or directory (no sniffing)."
    return read


# ---------------------------------------------------------------- chat logs with actions in the text

SplitTurn = Callable[[str], tuple[str, Action | None, str | None]]


def chat_steps(turns: list[Any], where: Where, *, list_name: str, text_key: str, assistant_role: str,
               observation_roles: tuple[str, ...], split_turn: SplitTurn,
               clean_observation: Callable[[str], str] | None = None) -> tuple[str, list[Step]]:
    """(task message, steps) of a chat log whose assistant turns write their action in their text.

    The task message is the first user turn before any step (``issue_text`` finds the issue in it). Each assistant turn is one
    Step: ``split_turn`` (the format's own) cuts its text into (thought, action, error); its
    observation is the turn right after it when that turn's role is in ``observation_roles``, and
    ``raw`` keeps both turns, so a step can be traced back to what the scaffold logged.
    """
    for i, turn in enumerate(turns):
        where.obj(turn, f"{list_name}[{i}]")
    steps: list[Step] = []
    task = ""
    for i, turn in enumerate(turns):
        role = turn.get("role")
        if role == "user" and not task and not steps:
            task = where.text(turn.get(text_key), f"{list_name}[{i}].{text_key}")
        if role != assistant_role:
            continue
        text = where.text(turn.get(text_key), f"{list_name}[{i}].{text_key}")
        following = turns[i + 1] if i + 1 < len(turns) and turns[i + 1].get("role") in observation_roles else None
        observation = where.text(following.get(text_key), f"{list_name}[{i + 1}].{text_key}") if following else ""
        if clean_observation is not None:
            observation = clean_observation(observation)
        thought, action, error = split_turn(text)
        steps.append(Step(thought.strip(), action, observation, error, [turn] if following is None else [turn, following]))
    return task, steps
