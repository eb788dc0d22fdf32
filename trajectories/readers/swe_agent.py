"""SWE-agent ``.traj`` files, 1.x and 0.x: one Step per ``trajectory[i]``.

Both versions keep ``trajectory`` (thought/action/observation), ``history`` (the chat) and ``info``
(submission, exit status), so one reader serves both; ``metadata["swe_agent_version"]`` records
which it was. 1.x function-calling runs also keep the model's structured call in
``history[].tool_calls``: it is used when its message is this step's (same ``action`` text), because
it carries arguments exactly, where the flat ``action`` string must be re-split from shell quoting.

A log written by several sub-agents (each history message names its ``agent``, e.g. CodeR's Manager,
Reproducer, Fault Localizer, Editor, Verifier) is read as one run per sub-agent, built from that
agent's own messages: its own task message as the issue, and nothing another agent wrote, so no
prompt holds what a later agent wrote. Their ids end in ``#AGENT``.
"""

from __future__ import annotations

import json
from typing import Any

from ..actions import ActionError, from_openai
from ..schema import Step, Trajectory
from .commands import Parsed, parse_command
from .common import (
    Where,
    dict_at,
    instance_from_filename,
    issue_text,
    kind,
    make_trajectory,
    nonempty,
    reader_for,
)

NAME = "swe-agent"
STEPS_FIELD = "trajectory"
_LOOKAHEAD = 4  # history messages searched for a step's own message: keeps alignment linear


def sniff(obj: Any) -> bool:
    if not isinstance(obj, dict) or not isinstance(obj.get("trajectory"), list):
        return False
    if not ("history" in obj or "info" in obj):
        return False
    steps = obj["trajectory"]
    return not steps or (isinstance(steps[0], dict) and "action" in steps[0])


def parse(obj: dict[str, Any], where: Where) -> Trajectory | list[Trajectory]:
    raw_steps = where.get(obj, "trajectory", list)
    history = where.get(obj, "history", list, required=False) or []
    info = where.get(obj, "info", dict, required=False) or {}
    agents = _agents(history)
    if len(agents) > 1:
        return [_sub_agent(obj, history, name, agents, where) for name in agents]
    replay = _replay_config(obj)
    version = "1.x" if replay or any(isinstance(m, dict) and "message_type" in m for m in history) else "0.x"
    calls = [m for m in history if isinstance(m, dict) and m.get("role") == "assistant" and "action" in m]

    steps, next_call = [], 0
    for i, raw in enumerate(raw_steps):
        field = f"trajectory[{i}]"
        raw = where.obj(raw, field)
        if not isinstance(raw.get("action"), str):
            raise where.error(f"{field}.action", f"expected a string, got {kind(raw.get('action'))}")
        action_text = raw["action"]
        message = None
        for k in range(next_call, min(next_call + _LOOKAHEAD, len(calls))):
            if calls[k].get("action") == action_text:
                message, next_call = calls[k], k + 1
                break
        action, error = _action(action_text, message)
        thought = where.text(raw.get("thought"), f"{field}.thought")
        observation = where.text(raw.get("observation"), f"{field}.observation")
        steps.append(Step(thought.strip(), action, observation, error, [raw] if message is None else [raw, message]))

    statement = dict_at(replay, "problem_statement")
    instance_id = nonempty(statement.get("id")) or nonempty(obj.get("instance_id"))
    task = _first_task_message(history, where)
    problem = (nonempty(statement.get("text")) or issue_text(task)).strip()
    repo_cfg = (replay.get("env") or {}).get("repo") if isinstance(replay.get("env"), dict) else None
    base_commit = nonempty(repo_cfg.get("base_commit")) if isinstance(repo_cfg, dict) else None
    model = ((replay.get("agent") or {}).get("model") or {}) if isinstance(replay.get("agent"), dict) else {}
    metadata = {"swe_agent_version": version, "exit_status": info.get("exit_status")}
    if isinstance(model, dict) and model.get("name"):
        metadata["model"] = model["name"]
    return make_trajectory(
        NAME, where, instance_id, problem, steps, task,
        base_commit=base_commit, final_patch=nonempty(info.get("submission")), metadata=metadata,
    )


def _action(text: str, message: dict[str, Any] | None) -> Parsed:
    action, error = _structured(message) if message is not None else (None, None)
    return (action, error) if action is not None else parse_command(text)


def _agents(history: list[Any]) -> list[str]:
    """The sub-agents that wrote a log, in order of appearance (SWE-agent itself writes one)."""
    names: list[str] = []
    for m in history:
        name = m.get("agent") if isinstance(m, dict) and not m.get("is_demo") else None
        if isinstance(name, str) and name not in names:
            names.append(name)
    return names


def _sub_agent(obj: dict[str, Any], history: list[Any], name: str, agents: list[str], where: Where) -> Trajectory:
    """One sub-agent of a multi-agent log (CodeR's Manager, Reproducer, ...): its own task message
    and its own turns only, so no prompt sees what another agent wrote later."""
    own = [(i, m) for i, m in enumerate(history) if isinstance(m, dict) and m.get("agent") == name and not m.get("is_demo")]
    task = ""
    steps: list[Step] = []
    for k, (i, m) in enumerate(own):
        field = f"history[{i}]"
        if m.get("role") == "user" and not steps and not task:
            task = where.text(m.get("content"), f"{field}.content")
        if m.get("role") != "assistant":
            continue
        content = where.text(m.get("content"), f"{field}.content")
        written, said = m.get("action"), m.get("thought")
        text = written if isinstance(written, str) else content
        action, error = _action(text, m)
        reply = own[k + 1][1] if k + 1 < len(own) and own[k + 1][1].get("role") == "user" else None
        observation = where.text(reply.get("content"), f"history[{own[k + 1][0]}].content") if reply else ""
        thought = said if isinstance(said, str) else content
        steps.append(Step(thought.strip(), action, observation, error, [m] if reply is None else [m, reply]))
    instance_id = nonempty(obj.get("instance_id")) or instance_from_filename(where.path)
    traj = make_trajectory(NAME, where, instance_id, issue_text(task), steps, task,
                           metadata={"swe_agent_version": "0.x", "agent": name, "agents": agents})
    traj.id = f"{traj.id}#{name}"
    return traj


def _structured(message: dict[str, Any]) -> Parsed:
    calls = message.get("tool_calls")
    if not isinstance(calls, list) or len(calls) != 1 or not isinstance(calls[0], dict):
        return None, None
    try:
        return from_openai(calls[0]), None
    except ActionError as e:
        return None, str(e)


def _replay_config(obj: dict[str, Any]) -> dict[str, Any]:
    """1.x stores its run config as an object or as a JSON string; it only supplies optional fields."""
    config = obj.get("replay_config")
    if isinstance(config, str):
        try:
            config = json.loads(config)
        except ValueError:
            return {}
    return config if isinstance(config, dict) else {}


def _first_task_message(history: list[Any], where: Where) -> str:
    """The first user turn that is not a demonstration: it holds the issue."""
    for i, m in enumerate(history):
        if isinstance(m, dict) and m.get("role") == "user" and not m.get("is_demo"):
            return where.text(m.get("content"), f"history[{i}].content")
    return ""


read = reader_for(NAME)
