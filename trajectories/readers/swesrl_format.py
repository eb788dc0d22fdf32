"""swesrl's own format: JSONL (or JSON) of ``Trajectory.to_dict()`` records tagged ``swesrl.trajectory/1``.

What ``swesrl traj convert`` and the agent write. Writing appends one record a line and first ends a
line left unfinished by an interrupted writer, so an interrupted run costs at most the one record
it was writing, which the reader then reports as a bad line, and the next append stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, get_args

from ..actions import ActionError
from ..schema import Outcome, Step, Trajectory
from .common import Where, reader_for

NAME = "swesrl"
STEPS_FIELD = "steps"
FORMAT_TAG = "swesrl.trajectory/1"


def sniff(obj: Any) -> bool:
    return isinstance(obj, dict) and str(obj.get("format", "")).startswith("swesrl.trajectory/")


def parse(obj: dict[str, Any], where: Where) -> Trajectory:
    if obj.get("format") != FORMAT_TAG:
        raise where.error("format", f"unsupported version {obj.get('format')!r}, expected {FORMAT_TAG!r}")
    where.get(obj, "id", str)
    for key in ("problem_statement", "instance_id", "repo", "base_commit", "final_patch", "source_path"):
        where.get(obj, key, str, required=False)
    if obj.get("outcome") not in (None, *get_args(Outcome)):
        raise where.error("outcome", f"expected one of {get_args(Outcome)}, got {obj.get('outcome')!r}")
    where.get(obj, "metadata", dict, required=False)
    steps = []
    for i, raw in enumerate(where.get(obj, "steps", list)):
        if not _well_typed(raw):  # the common case is checked in one go; the slow path names the field
            _check_step(raw, where, f"steps[{i}]")
        try:
            steps.append(Step.from_dict(raw))
        except ActionError as e:
            raise where.error(f"steps[{i}].action", str(e)) from None
    return replace(Trajectory.from_dict({**obj, "steps": []}), steps=steps)


_TEXT = (str, type(None))


def _action_ok(action: Any) -> bool:
    return type(action) is dict and type(action.get("name")) is str and isinstance(action.get("arguments"), (dict, type(None)))


def _well_typed(raw: Any) -> bool:
    if type(raw) is not dict:
        return False
    get = raw.get
    action, calls = get("action"), get("calls")
    return (
        isinstance(get("thought"), _TEXT) and isinstance(get("observation"), _TEXT) and isinstance(get("action_error"), _TEXT)
        and (action is None or _action_ok(action))
        and (not calls or (type(calls) is list and all(_action_ok(c) for c in calls)))
    )


def _check_step(raw: Any, where: Where, field: str) -> None:
    raw = where.obj(raw, field)
    for key in ("thought", "observation", "action_error"):
        where.get(raw, key, str, f"{field}.{key}", required=False)
    action = where.get(raw, "action", dict, f"{field}.action", required=False)
    if action is not None:
        _check_action(action, where, f"{field}.action")
    for k, call in enumerate(where.get(raw, "calls", list, f"{field}.calls", required=False) or []):
        _check_action(where.obj(call, f"{field}.calls[{k}]"), where, f"{field}.calls[{k}]")


def _check_action(action: dict[str, Any], where: Where, field: str) -> None:
    where.get(action, "name", str, f"{field}.name")
    where.get(action, "arguments", dict, f"{field}.arguments", required=False)


def write_trajectories(trajectories: Iterable[Trajectory], path: str | Path) -> int:
    """Append each trajectory as one JSON line; returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("a+b") as f:
        if f.tell() > 0:
            f.seek(-1, 2)
            if f.read(1) != b"\n":
                f.write(b"\n")
        for trajectory in trajectories:
            # ASCII escapes keep any string (even a lone surrogate from a JSON escape) writable.
            f.write(json.dumps(trajectory.to_dict()).encode("ascii") + b"\n")
            f.flush()
            count += 1
    return count


read = reader_for(NAME)
