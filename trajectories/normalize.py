"""One action space for every scaffold: which expert turns are targets, as which canonical action.

Readers are faithful: a Step holds what the scaffold logged, in the scaffold's own vocabulary. A
target must be an action the model can write and the agent can run (bash, the editor, submit), so
``normalize`` decides, turn by turn:

- canonical actions stay; SWE-agent's windowed commands become the canonical actions that do the
  same (``windowed``); mini-swe-agent's ``echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT`` is its submit;
- ``think`` changes nothing in the environment: its text joins the next turn's thought;
- anything else (keystrokes sent to a running process, scaffold control commands such as CodeR's
  ``plan``/``succeed``/``fail``, tools no agent here has, turns with no call or several) is not a
  target, and ``reason`` says why, so the split can count every dropped step by reason;
- the folder the scaffold worked in (``metadata["workdir"]``, e.g. OpenHands' ``/workspace/repo__1.0``)
  becomes the task's workdir in targets, thoughts, observations and the issue alike;
- a target whose expert answer (thought + action text) would not parse back to it, so would not
  score 1.0 (a thought holding ``</think>``, a value holding a tag), is dropped as ``answer_not_exact``.

Every turn the scaffold executed keeps an ``answer``: how it shows in later prompts' history, so a
turn that is not a target still gives later turns their context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .actions import (
    Action,
    Bash,
    Submit,
    ToolCall,
    from_tool_call,
    render_call,
    render_xml,
    to_tool_call,
)
from .answer import FormatError, parse_answer, render_answer
from .schema import Step, Trajectory
from .windowed import WINDOWED_TOOLS, WindowedEditor

DEFAULT_WORKDIR = "/testbed"
_MINI_SUBMIT = ("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT", "echo MINI_SWE_AGENT_FINAL_OUTPUT")
_SEVERAL = re.compile(r"^\d+ actions$")
_SWE_AGENT = frozenset({"swe-agent", "nebius"})  # the formats whose tools are SWE-agent's windowed editor


@dataclass(slots=True)
class Decision:
    """One expert turn: its target (or why it has none) and how later prompts show it."""

    index: int  # into Trajectory.steps
    thought: str
    action: Action | None  # canonical target; None: not a target
    reason: str | None  # why it is not a target (a short key, counted by the split)
    answer: str | None  # the turn's text in later prompts; None: it does not appear (a folded think)
    observation: str


@dataclass(frozen=True)
class Normalized:
    problem_statement: str
    turns: list[Decision]


def normalize(traj: Trajectory, workdir: str | None = DEFAULT_WORKDIR) -> Normalized:
    """Decide every turn of ``traj``; ``workdir=None`` keeps the scaffold's own folder names."""
    root = traj.metadata.get("workdir") if isinstance(traj.metadata.get("workdir"), str) else None
    remap = _remapper(root, workdir) or _same
    windowed = traj.source_format in _SWE_AGENT and any(
        isinstance(s.action, ToolCall) and s.action.name in WINDOWED_TOOLS for s in traj.steps
    )
    editor = WindowedEditor(root or workdir or DEFAULT_WORKDIR) if windowed else None
    mini = traj.source_format == "mini-swe-agent"
    turns: list[Decision] = []
    pending: list[str] = []  # think texts waiting for the next turn
    for i, step in enumerate(traj.steps):
        action, reason = _decide(step, editor, mini)
        if reason == "think":
            pending += [t for t in (step.thought.strip(), _think_text(step.action)) if t]
            turns.append(Decision(i, "", None, reason, None, ""))
            continue
        thought = "\n\n".join([*pending, step.thought.strip()]).strip() if pending else step.thought
        pending = []
        thought = remap(thought)
        if action is None:
            answer = remap(_answer(step))
        else:
            if remap is not _same:
                action = _remap_action(action, remap)
            name, args = to_tool_call(action)
            answer = render_call(name, args)
            if not expert_answer_exact(thought, answer, len(args)):
                action, reason = None, "answer_not_exact"
        turns.append(Decision(i, thought, action, reason, answer, remap(step.observation)))
    return Normalized(remap(traj.problem_statement), turns)


def expert_turns(norm: Normalized) -> list[tuple[str, str]]:
    """A normalized run's target turns as (expert answer, observation), in order: what replay plays
    back and whole-run SFT trains on. Turns that are no target are left out, since the model must
    never learn (nor the agent run) an answer the parser refuses."""
    return [(render_answer(d.thought, d.answer or ""), d.observation) for d in norm.turns if d.action is not None]


def expert_answer_exact(thought: str, target: str, parameters: int) -> bool:
    """Does the expert's own answer (thought + target) parse back to the target? Then it scores 1.0.

    ``target`` is a canonical action's text with ``parameters`` parameters. When no tag the parser
    looks for occurs where it should not (no ``</think>`` in the thought, one ``<function=``, one
    ``</function>``, one ``<parameter=``/``</parameter>`` pair per parameter), the parser cuts the
    answer exactly where the rendering put the tags, so the answer is exact without parsing it.
    """
    if (
        "</think>" not in thought
        and target.count("<function=") == 1
        and target.count("</function>") == 1
        and target.count("<parameter=") == target.count("</parameter>") == parameters
    ):
        return True
    try:
        return render_xml(parse_answer(render_answer(thought, target))[1]) == target
    except FormatError:
        return False


def _decide(step: Step, editor: WindowedEditor | None, mini: bool) -> tuple[Action | None, str | None]:
    action = step.action
    if action is None:
        if editor is not None:
            editor.step(None, step.observation)  # still follow the windows it printed
        return None, _reader_reason(step.action_error)
    if isinstance(action, ToolCall):
        if action.name == "think":
            return None, "think"
        if action.name == "send_keys":
            return None, "keystroke_input"
        if editor is not None and action.name in WINDOWED_TOOLS:
            return editor.step(action, step.observation)
        return None, f"tool:{action.name}"
    if editor is not None:
        editor.step(action, step.observation)
    if mini and isinstance(action, Bash) and action.command.lstrip().startswith(_MINI_SUBMIT):
        return Submit(), None
    return action, None


def _reader_reason(error: str | None) -> str:
    if not error or error == "no action":
        return "no_action"
    return "several_actions" if _SEVERAL.match(error) else "invalid_call"


def _think_text(action: Action | None) -> str:
    args = action.args if isinstance(action, ToolCall) else {}
    return (args.get("thought") or args.get("content") or "").strip()


def _answer(step: Step) -> str:
    """How a turn that is no target shows in later prompts: the call(s) it made, or its words."""
    calls = step.calls or ([step.action] if step.action is not None else [])
    return "\n".join(render_xml(c) for c in calls) if calls else step.thought


def _same(text: str) -> str:
    return text


def _remapper(root: str | None, workdir: str | None) -> Callable[[str], str] | None:
    if not root or workdir is None or root.rstrip("/") == workdir.rstrip("/"):
        return None
    pattern = re.compile(re.escape(root.rstrip("/")) + r"(?![\w.-])")
    target = workdir.rstrip("/")
    return lambda text: pattern.sub(target, text) if text else text


def _remap_action(action: Action, remap: Callable[[str], str]) -> Action:
    name, args = to_tool_call(action)
    changed = {k: remap(v) if isinstance(v, str) else v for k, v in args.items()}
    return action if changed == args else from_tool_call(name, changed)
