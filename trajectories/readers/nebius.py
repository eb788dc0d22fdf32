"""Rows of nebius' SWE-agent trajectories dataset: ``trajectory`` turns with roles system/user/ai.

Each ``ai`` turn is one SWE-agent 0.x step: its command is the last top-level fenced block (the block
SWE-agent itself executed), the thought is the text around it, the observation the next ``user``
turn. ``target`` says whether the generated patch passed the tests.
"""

from __future__ import annotations

from typing import Any

from ..schema import Step, Trajectory
from .commands import parse_command
from .common import Where, issue_text, nonempty, outcome_of, reader_for, repo_of, trajectory_id

NAME = "nebius"
STEPS_FIELD = "trajectory"


def sniff(obj: Any) -> bool:
    if not isinstance(obj, dict) or not isinstance(obj.get("trajectory"), list) or not obj["trajectory"]:
        return False
    first = obj["trajectory"][0]
    return isinstance(first, dict) and "role" in first and "text" in first


def parse(obj: dict[str, Any], where: Where) -> Trajectory:
    turns = where.get(obj, "trajectory", list)
    for i, turn in enumerate(turns):
        where.obj(turn, f"trajectory[{i}]")
    steps, problem = [], ""
    for i, turn in enumerate(turns):
        role = turn.get("role")
        if role == "user" and not problem and not steps:
            problem = issue_text(where.text(turn.get("text"), f"trajectory[{i}].text"))
        if role != "ai":
            continue
        text = where.text(turn.get("text"), f"trajectory[{i}].text")
        following = turns[i + 1] if i + 1 < len(turns) and turns[i + 1].get("role") == "user" else None
        observation = where.text(following.get("text"), f"trajectory[{i + 1}].text") if following else ""
        block = last_fenced_block(text)
        if block is None:
            action, error, thought = None, "no action", text
        else:
            (start, body_start, body_end, end) = block
            action, error = parse_command(text[body_start:body_end])
            thought = text[:start] + text[end:]
        steps.append(Step(thought.strip(), action, observation, error, [turn] if following is None else [turn, following]))

    instance_id = nonempty(obj.get("instance_id"))
    return Trajectory(
        id=trajectory_id(instance_id, where),
        problem_statement=problem,
        steps=steps,
        instance_id=instance_id,
        repo=repo_of(instance_id),
        final_patch=nonempty(obj.get("generated_patch")),
        outcome=outcome_of(obj.get("target")),
        source_format=NAME,
        source_path=where.path,
        metadata={k: obj[k] for k in ("model_name", "exit_status") if isinstance(obj.get(k), str)},
    )


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
