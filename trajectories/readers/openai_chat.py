"""OpenAI chat with native ``tool_calls``: OpenHands fncall logs and SWE-Gym rows.

OpenHands' LLM-completion logs keep the conversation in ``fncall_messages`` and the model's last
turn in ``fncall_response`` (appended here); SWE-Gym rows keep ``messages`` plus ``tools``. One Step
per assistant turn; its observation is the ``role: tool`` turns answering its calls (ordered by
``tool_call_id``), or, for a turn without calls, the user turns that followed (OpenHands' "please
continue" nudge is what the environment answered). A turn with several calls gets ``action=None``
(one step imitates one action) and keeps them in ``calls``, so later prompts still show them.
"""

from __future__ import annotations

from typing import Any

from ..actions import Action, ActionError, from_openai
from ..schema import Step, Trajectory
from .common import (
    Where,
    chat_style,
    dict_at,
    instance_from_filename,
    issue_text,
    make_trajectory,
    nonempty,
    outcome_of,
    reader_for,
    strip_observation_label,
)

NAME = "openai-chat"
STEPS_FIELD = "messages"


def sniff(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("fncall_messages"), list):
        return True
    return isinstance(obj.get("messages"), list) and chat_style(obj["messages"]) == "tool_calls"


def parse(obj: dict[str, Any], where: Where) -> Trajectory:
    key = "fncall_messages" if "fncall_messages" in obj else "messages"
    messages = list(where.get(obj, key, list))
    final = _response_message(obj.get("fncall_response"))
    if final is not None:
        messages.append(final)
    for i, m in enumerate(messages):
        where.obj(m, f"{key}[{i}]")

    steps: list[Step] = []
    task = ""
    i = 0
    while i < len(messages):
        m = messages[i]
        if m.get("role") == "user" and not task and not steps:
            task = where.text(m.get("content"), f"{key}[{i}].content")
        if m.get("role") != "assistant":
            i += 1
            continue
        j = i + 1
        while j < len(messages) and messages[j].get("role") != "assistant":
            j += 1
        steps.append(_step(m, messages[i + 1 : j], f"{key}[{i}]", i + 1, key, where))
        i = j

    instance_id = nonempty(obj.get("instance_id")) or instance_from_filename(where.path)
    test_result = dict_at(obj, "test_result")
    report = dict_at(test_result, "report")
    resolved = obj.get("resolved") if "resolved" in obj else report.get("resolved")
    metadata = {k: obj[k] for k in ("run_id",) if isinstance(obj.get(k), str)}
    if isinstance(obj.get("fncall_response"), dict) and isinstance(obj["fncall_response"].get("model"), str):
        metadata["model"] = obj["fncall_response"]["model"]
    return make_trajectory(
        NAME, where, instance_id, issue_text(task), steps, task,
        final_patch=nonempty(test_result.get("git_patch")), outcome=outcome_of(resolved), metadata=metadata,
    )


def _step(message: dict[str, Any], answers: list[dict[str, Any]], field: str, first: int, key: str, where: Where) -> Step:
    thought = where.text(message.get("content"), f"{field}.content")
    calls = where.get(message, "tool_calls", list, f"{field}.tool_calls", required=False) or []
    if len(calls) == 1:
        try:
            action, error = from_openai(where.obj(calls[0], f"{field}.tool_calls[0]")), None
        except ActionError as e:
            action, error = None, str(e)
    else:
        action, error = None, "no action" if not calls else f"{len(calls)} actions"
    executed = _all_calls(calls, field, where) if len(calls) > 1 else []

    texts = {id(a): where.text(a.get("content"), f"{key}[{first + n}].content") for n, a in enumerate(answers)}
    if calls:
        order = {c.get("id"): n for n, c in enumerate(calls) if isinstance(c, dict)}
        replies = sorted((a for a in answers if a.get("role") == "tool"), key=lambda a: order.get(a.get("tool_call_id"), len(order)))
    else:
        replies = [a for a in answers if a.get("role") == "user"]
    observation = "\n".join(strip_observation_label(texts[id(a)]) for a in replies)
    return Step(thought.strip(), action, observation, error, [message, *answers], executed)


def _all_calls(calls: list[Any], field: str, where: Where) -> list[Action]:
    """Every call of a turn that made several, when all of them are well formed."""
    try:
        return [from_openai(where.obj(c, f"{field}.tool_calls[{k}]")) for k, c in enumerate(calls)]
    except ActionError:
        return []


def _response_message(response: Any) -> dict[str, Any] | None:
    """The assistant message of a chat-completion response, if there is one."""
    if not isinstance(response, dict) or not isinstance(response.get("choices"), list) or not response["choices"]:
        return None
    choice = response["choices"][0]
    message = choice.get("message") if isinstance(choice, dict) else None
    return message if isinstance(message, dict) else None


read = reader_for(NAME)
