"""SWE-smith fine-tuning JSONL: chat ``messages`` whose assistant turns end in an XML tool call.

``<function=NAME><parameter=P>V</parameter>...</function>`` is the SRL paper's action text, so it is
parsed with the same helpers the answer parser uses. Thought = the text before ``<function=``;
observation = the next user turn, without its ``OBSERVATION:`` label. Rows of the SWE-smith
trajectories dataset also carry ``resolved`` (the outcome) and ``patch`` (the final patch).

The format writes multi-line parameters (file_text, old_str, new_str) wrapped in one newline each
side, ``<parameter=old_str>\nVALUE\n</parameter>``: the same runs logged by SWE-agent show VALUE
without them (all 20 differing parameters in the shared pandas/pydantic runs), so one wrapping
newline pair is removed.
"""

from __future__ import annotations

import re
from typing import Any

from ..actions import Action, ActionError, from_tool_call, parse_xml_params
from ..schema import Trajectory
from .common import (
    Where,
    chat_steps,
    chat_style,
    issue_text,
    make_trajectory,
    nonempty,
    outcome_of,
    reader_for,
    strip_observation_label,
)

NAME = "swe-smith"
STEPS_FIELD = "messages"
_OPEN = re.compile(r"<function=([^>\s]*)>")
_CLOSE = "</function>"


def sniff(obj: Any) -> bool:
    if not isinstance(obj, dict) or "fncall_messages" in obj or not isinstance(obj.get("messages"), list):
        return False
    if "target" in obj and "step_index" in obj:  # a step example swesrl wrote, not a run
        return False
    return chat_style(obj["messages"]) == "xml"


def parse(obj: dict[str, Any], where: Where) -> Trajectory:
    task, steps = chat_steps(
        where.get(obj, "messages", list), where, list_name="messages", text_key="content",
        assistant_role="assistant", observation_roles=("user", "tool"), split_turn=_split_call,
        clean_observation=strip_observation_label,
    )
    return make_trajectory(
        NAME, where, nonempty(obj.get("instance_id")), issue_text(task), steps, task,
        final_patch=nonempty(obj.get("patch")), outcome=outcome_of(obj.get("resolved")),
    )


def _split_call(content: str) -> tuple[str, Action | None, str | None]:
    """(thought, action, error) of one assistant turn."""
    opens = list(_OPEN.finditer(content))
    if not opens:
        return content, None, "no action"
    first = opens[0]
    thought = content[: first.start()]
    if len(opens) > 1:
        return thought, None, f"{len(opens)} actions"
    close = content.find(_CLOSE, first.end())
    if close == -1:
        return thought, None, f"unclosed <function={first.group(1)}>"
    try:
        params = {k: _unwrap(v) for k, v in parse_xml_params(content[first.end() : close]).items()}
        return thought, from_tool_call(first.group(1), params), None
    except ActionError as e:
        return thought, None, str(e)


def _unwrap(value: str) -> str:
    return value[1:-1] if len(value) >= 2 and value[0] == "\n" and value[-1] == "\n" else value


read = reader_for(NAME)
