"""Trajectory and Step: the schema every reader produces and every later stage consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .actions import Action, action_from_dict, action_to_dict

Outcome = Literal["resolved", "unresolved", "unknown"]


class TrajectoryError(ValueError):
    """A malformed record: names the file, the record (line or index) and the field."""

    def __init__(self, path: str, record: str | int | None, field_name: str | None, problem: str):
        self.path, self.record, self.field, self.problem = str(path), record, field_name, problem
        where = str(path)
        if record is not None:
            where += f", record {record}"
        if field_name:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {problem}")


@dataclass
class Step:
    """One expert turn. ``action`` is None when the turn held no usable action; ``action_error`` says why.

    ``calls``: the actions of a turn that made several tool calls at once (parallel calls, all
    executed); such a turn is no target (one step imitates one action), but later prompts show it.
    """

    thought: str
    action: Action | None
    observation: str = ""
    action_error: str | None = None
    raw: Any = None
    calls: list[Action] = field(default_factory=list)

    def to_dict(self, with_raw: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "thought": self.thought,
            "action": action_to_dict(self.action) if self.action is not None else None,
            "observation": self.observation,
            "action_error": self.action_error,
        }
        if self.calls:
            d["calls"] = [action_to_dict(c) for c in self.calls]
        if with_raw:
            d["raw"] = self.raw
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        action = action_from_dict(d["action"]) if d.get("action") else None
        calls = [action_from_dict(c) for c in d.get("calls") or []]
        return cls(d.get("thought", ""), action, d.get("observation", ""), d.get("action_error"), d.get("raw"), calls)


@dataclass
class Trajectory:
    id: str
    problem_statement: str
    steps: list[Step]
    instance_id: str | None = None
    repo: str | None = None
    base_commit: str | None = None
    final_patch: str | None = None
    outcome: Outcome = "unknown"
    source_format: str = "swesrl"
    source_path: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, with_raw: bool = False) -> dict[str, Any]:
        return {
            "format": "swesrl.trajectory/1",
            "id": self.id,
            "instance_id": self.instance_id,
            "repo": self.repo,
            "base_commit": self.base_commit,
            "problem_statement": self.problem_statement,
            "final_patch": self.final_patch,
            "outcome": self.outcome,
            "source_format": self.source_format,
            "source_path": self.source_path,
            "metadata": self.metadata,
            "steps": [s.to_dict(with_raw) for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trajectory:
        return cls(
            id=d["id"],
            problem_statement=d.get("problem_statement") or "",
            steps=[Step.from_dict(s) for s in d.get("steps") or []],
            instance_id=d.get("instance_id"),
            repo=d.get("repo"),
            base_commit=d.get("base_commit"),
            final_patch=d.get("final_patch"),
            outcome=d.get("outcome") or "unknown",
            source_format=d.get("source_format") or "swesrl",
            source_path=d.get("source_path") or "",
            metadata=d.get("metadata") or {},
        )
