"""OpenHands event streams: an evaluation ``output.jsonl`` run (``history``) or a bare event list.

Which events are Steps, and why:

- an agent *action* event that touches the environment (``run``, ``read``, ``edit``, ``finish``,
  ``browse``, ...) is a Step; its observation is the event whose ``cause`` is the action's ``id``;
- an agent ``message`` (the model answered without a tool call) is a Step with ``action=None``
  ("no action"), its observation the user message that followed: the same turn read from the chat
  log of the same run gives the same Step;
- ``think`` is not a Step: it changes nothing in the environment and swesrl's action language has
  no think tool, so its text is carried into the thought of the next Step, where it belongs;
- ``system`` (the system prompt), user ``message`` (the task) and ``recall`` (retrieval of workspace
  context) are not the expert's turns, so they are not Steps.

The action is taken from ``tool_call_metadata`` (the model's own tool call) when present: ``args``
is OpenHands' internal form and can differ from what the model wrote (an editor ``create`` is logged
as an ``edit`` with empty ``content``). ``args`` is the fallback for runs without tool calls.
"""

from __future__ import annotations

from typing import Any

from ..actions import EDITOR, Action, ActionError, Submit, ToolCall, from_openai, from_tool_call
from ..schema import Step, Trajectory
from .common import (
    Where,
    dict_at,
    issue_text,
    make_trajectory,
    nonempty,
    outcome_of,
    reader_for,
    repo_of,
)

NAME = "openhands-events"
STEPS_FIELD = "history"
_NOT_STEPS = frozenset({"system", "recall", "think"})
_EDITOR_ARGS = ("command", "path", "file_text", "old_str", "new_str", "insert_line", "view_range")
_INTERNAL_ARGS = frozenset({"thought", "impl_source", "security_risk", "confirmation_state", "is_confirmed", "blocking"})


def _is_event(value: Any) -> bool:
    return isinstance(value, dict) and "source" in value and ("action" in value or "observation" in value)


def sniff(obj: Any) -> bool:
    if isinstance(obj, list):
        return bool(obj) and _is_event(obj[0])
    if not isinstance(obj, dict) or not isinstance(obj.get("history"), list):
        return False
    events = obj["history"]
    return (not events and "instance_id" in obj) or (bool(events) and _is_event(events[0]))


def parse(obj: dict[str, Any] | list[Any], where: Where) -> Trajectory:
    events = obj if isinstance(obj, list) else where.get(obj, "history", list)
    key = "events" if isinstance(obj, list) else "history"
    for i, e in enumerate(events):
        where.obj(e, f"{key}[{i}]")
    observations = {e["cause"]: e for e in events if "observation" in e and e.get("cause") is not None}

    steps: list[Step] = []
    pending: list[str] = []  # think texts waiting for the next step
    task = ""
    for i, e in enumerate(events):
        act = e.get("action")
        if not isinstance(act, str):
            continue
        field = f"{key}[{i}]"
        args = where.get(e, "args", dict, f"{field}.args", required=False) or {}
        thought = where.text(args.get("thought"), f"{field}.args.thought")
        if act == "message" and e.get("source") != "agent":
            task = task or where.text(args.get("content", e.get("message")), f"{field}.args.content")
            continue
        if act in _NOT_STEPS:
            if act == "think" and thought.strip():
                pending.append(thought.strip())
            continue
        action: Action | None
        error: str | None
        if act == "message":
            action, error = None, "no action"
            thought = where.text(args.get("content", e.get("message")), f"{field}.args.content")
            reply = events[i + 1] if i + 1 < len(events) and events[i + 1].get("action") == "message" else None
            obs_event = reply if reply is not None and reply.get("source") == "user" else None
            observation = where.text((obs_event or {}).get("message"), f"{key}[{i + 1}].message")
        else:
            action, error = _action(e, act, args)
            obs_event = observations.get(e.get("id"))
            observation = _observation_text(obs_event, where, field) if obs_event is not None else ""
        thought = "\n\n".join([*pending, thought.strip()]) if pending else thought.strip()
        pending = []
        steps.append(Step(thought.strip(), action, observation, error, [e] if obs_event is None else [e, obs_event]))

    run = {} if isinstance(obj, list) else obj
    instance = dict_at(run, "instance")
    instance_id = nonempty(run.get("instance_id")) or nonempty(instance.get("instance_id"))
    task = nonempty(run.get("instruction")) or task
    problem = nonempty(instance.get("problem_statement")) or issue_text(task)
    test_result = dict_at(run, "test_result")
    report = dict_at(test_result, "report")
    meta = dict_at(run, "metadata")
    llm = dict_at(meta, "llm_config")
    metadata = {k: v for k, v in (("agent_class", meta.get("agent_class")), ("model", llm.get("model"))) if isinstance(v, str)}
    if run.get("error"):
        metadata["error"] = str(run["error"])
    return make_trajectory(
        NAME, where, instance_id, problem, steps, task,
        repo=nonempty(instance.get("repo")) or repo_of(instance_id),
        base_commit=nonempty(instance.get("base_commit")),
        final_patch=nonempty(test_result.get("git_patch")),
        outcome=outcome_of(report.get("resolved")),
        metadata=metadata,
    )


def _observation_text(event: dict[str, Any], where: Where, field: str) -> str:
    content = event.get("content")
    return where.text(content if content is not None else event.get("message"), f"observation of {field}")


def _action(event: dict[str, Any], act: str, args: dict[str, Any]) -> tuple[Action | None, str | None]:
    call = _model_call(event.get("tool_call_metadata"))
    try:
        if call is not None:
            return from_openai(call), None
        return _from_args(act, args), None
    except ActionError as e:
        return None, str(e)


def _model_call(metadata: Any) -> dict[str, Any] | None:
    """The tool call in the logged model response whose id this event carries."""
    if not isinstance(metadata, dict):
        return None
    response = metadata.get("model_response")
    choices = response.get("choices") if isinstance(response, dict) else None
    message = choices[0].get("message") if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
    calls = message.get("tool_calls") if isinstance(message, dict) else None
    for call in calls if isinstance(calls, list) else []:
        if isinstance(call, dict) and call.get("id") == metadata.get("tool_call_id"):
            return call
    return None


def _from_args(act: str, args: dict[str, Any]) -> Action:
    if act == "run":
        return from_tool_call("bash", args)
    if act == "finish":
        return Submit()
    if act == "read":
        return from_tool_call(EDITOR, {"command": "view", "path": args.get("path"), "view_range": args.get("view_range")})
    if act == "edit" and args.get("command"):
        return from_tool_call(EDITOR, {k: args[k] for k in _EDITOR_ARGS if args.get(k) is not None})
    return ToolCall.make(act, {k: v for k, v in args.items() if k not in _INTERNAL_ARGS and v is not None})


read = reader_for(NAME)
