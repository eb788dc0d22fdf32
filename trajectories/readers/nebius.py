"""Rows of nebius' SWE-agent trajectories dataset: ``trajectory`` turns with roles system/user/ai.

Each ``ai`` turn is one SWE-agent 0.x step: its command is the last top-level fenced block (the block
SWE-agent itself executed), the thought is the text around it, the observation the next ``user``
turn. ``target`` says whether the generated patch passed the tests.
"""

from __future__ import annotations

from typing import Any

from ..actions import Action
from ..schema import Trajectory
from .commands import parse_command
from .common import Where, chat_steps, issue_text, make_trajectory, nonempty, outcome_of, reader_for

NAME = "nebius"
STEPS_FIELD = "trajectory"


def sniff(obj: Any) -> bool:
    if not isinstance(obj, dict) or not isinstance(obj.get("trajectory"), list) or not obj["trajectory"]:
        return False
    first = obj["trajectory"][0]
    return isinstance(first, dict) and "role" in first and "text" in first


def parse(obj: dict[str, Any], where: Where) -> Trajectory:
    task, steps = chat_steps(
        where.get(obj, "trajectory", list), where, list_name="trajectory", text_key="text",
        assistant_role="ai", observation_roles=("user",), split_turn=_split_turn,
    )
    return make_trajectory(
        NAME, where, nonempty(obj.get("instance_id")), issue_text(task), steps, task,
        final_patch=nonempty(obj.get("generated_patch")),
        outcome=outcome_of(obj.get("target")),
        metadata={k: obj[k] for k in ("model_name", "exit_status") if isinstance(obj.get(k), str)},
    )


def _split_turn(text: str) -> tuple[str, Action | None, str | None]:
    block = last_fenced_block(text)
    if block is None:
        return text, None, "no action"
    (start, body_start, body_end, end) = block
    action, error = parse_command(text[body_start:body_end])
    return text[:start] + text[end:], action, error


def last_fenced_block(text: str) -> tuple[int, int, int, int] | None:
    """(block start, body start, body end, block end) of the last top-level ``` block, as SWE-agent 0.x picks it.

    A line ```` ```lang ```` always opens; a bare ```` ``` ```` closes the innermost open block or
    opens one. Line-based, so no regex backtracking over long turns.
    """
    stack: list[tuple[int, int]] = []
    last = None
    pos = 0
    while pos <= len(text):
        end = text.find("\n", pos)
        end = len(text) if end == -1 else end
        if text.startswith("```", pos):
            rest = text[pos + 3 : end].strip()
            if " " in rest or "\t" in rest:
                pass  # not a fence line
            elif stack and not rest:
                start, body = stack.pop()
                if not stack:
                    last = (start, body, max(body, pos - 1), end)
            else:
                stack.append((pos, min(end + 1, len(text))))
        pos = end + 1
    return last


read = reader_for(NAME)
