"""Readable terminal views (rich) of a trajectory and of one step example, for `swesrl traj inspect`."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.text import Text

from swesrl.util import terminal_safe, truncate_middle

from .actions import render_xml
from .schema import Trajectory
from .split import StepExample


def render_trajectory(traj: Trajectory, max_observation_chars: int = 1500) -> RenderableType:
    """The issue, then every step: thought, action (canonical XML), observation (cut in the middle)."""
    head = Text.assemble(
        (terminal_safe(traj.id), "bold"),
        terminal_safe(f"  instance={traj.instance_id}  format={traj.source_format}  outcome={traj.outcome}  steps={len(traj.steps)}"),
    )
    parts: list[RenderableType] = [head, Panel(Text(terminal_safe(traj.problem_statement.strip())), title="issue", border_style="blue")]
    for i, step in enumerate(traj.steps):
        body: list[RenderableType] = []
        if step.thought.strip():
            body.append(Text(terminal_safe(step.thought.strip()), style="italic"))
        if step.action is None:
            body.append(Text(f"no action: {step.action_error or 'unknown reason'}", style="bold red"))
        else:
            body.append(Text(terminal_safe(render_xml(step.action)), style="cyan"))
        if step.observation:
            body.append(Text(terminal_safe(truncate_middle(step.observation, max_observation_chars)), style="dim"))
        kind = step.action.kind if step.action is not None else "none"
        parts.append(Panel(Group(*body), title=f"step {i} · {kind}", title_align="left"))
    if traj.final_patch:
        parts.append(Panel(Text(terminal_safe(traj.final_patch)), title="final patch", border_style="green"))
    return Group(*parts)


_ROLE_STYLE = {"system": "magenta", "user": "blue", "assistant": "cyan"}


def render_example(ex: StepExample) -> RenderableType:
    """The prompt messages the model sees at this step, then the target it is trained to produce."""
    head = Text.assemble((terminal_safe(ex.id), "bold"), f"  kind={ex.action_kind}  prompt_tokens={ex.prompt_tokens}")
    parts: list[RenderableType] = [head]
    for m in ex.messages:
        parts.append(Panel(Text(terminal_safe(m["content"])), title=m["role"], title_align="left", border_style=_ROLE_STYLE.get(m["role"], "white")))
    if ex.thought.strip():
        parts.append(Panel(Text(terminal_safe(ex.thought.strip()), style="italic"), title="expert thought (not the SRL target)", title_align="left"))
    parts.append(Panel(Text(terminal_safe(ex.target), style="bold cyan"), title="target", title_align="left", border_style="green"))
    return Group(*parts)
