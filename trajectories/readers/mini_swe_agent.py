"""mini-swe-agent ``.traj.json``: ``{"info", "messages"}`` or a bare message list.

One Step per assistant turn: THOUGHT text, then exactly one fenced ```` ```bash ```` (1.x) or
```` ```mswea_bash_command ```` (newer) block; the observation is the next user turn. A turn with
zero or several blocks is what mini-swe-agent itself rejected as a format error: the Step keeps the
turn with ``action=None`` and ``action_error`` "no action" / "N actions" rather than guessing.
"""

from __future__ import annotations

from typing import Any

from ..actions import Action, Bash
from ..schema import Trajectory
from .common import (
    FENCE,
    Where,
    chat_steps,
    chat_style,
    issue_text,
    make_trajectory,
    nonempty,
    reader_for,
    strip_thought_label,
)

NAME = "mini-swe-agent"
STEPS_FIELD = "messages"


def sniff(obj: Any) -> bool:
    if isinstance(obj, list):
        return chat_style(obj) == "fence"
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        return False
    return str(obj.get("trajectory_format", "")).startswith("mini-swe-agent") or chat_style(obj["messages"]) == "fence"


def parse(obj: dict[str, Any] | list[Any], where: Where) -> Trajectory:
    messages = obj if isinstance(obj, list) else where.get(obj, "messages", list)
    info = {} if isinstance(obj, list) else where.get(obj, "info", dict, required=False) or {}
    task, steps = chat_steps(
        messages, where, list_name="messages", text_key="content",
        assistant_role="assistant", observation_roles=("user",), split_turn=_split_turn,
    )
    instance_id = None if isinstance(obj, list) else nonempty(obj.get("instance_id"))
    final_patch = nonempty(info.get("submission"))
    if final_patch is None and isinstance(obj, list) and messages and messages[-1].get("role") == "user":
        last = messages[-1].get("content")
        final_patch = last if isinstance(last, str) and last.startswith("diff --git") else None
    metadata = {k: info[k] for k in ("exit_status", "mini_version") if isinstance(info.get(k), str)}
    if not isinstance(obj, list) and isinstance(obj.get("trajectory_format"), str):
        metadata["trajectory_format"] = obj["trajectory_format"]
    return make_trajectory(NAME, where, instance_id, issue_text(task), steps, task, final_patch=final_patch, metadata=metadata)


def _split_turn(content: str) -> tuple[str, Action | None, str | None]:
    blocks = list(FENCE.finditer(content))
    if len(blocks) == 1:
        action, error = Bash(blocks[0].group(1).strip()), None
    else:
        action, error = None, "no action" if not blocks else f"{len(blocks)} actions"
    thought = content[: blocks[0].start()] if blocks else content
    return strip_thought_label(thought), action, error


read = reader_for(NAME)
