"""What `agent run` shows while it works: one block per step, and the confirm prompt.

Model output and command output are untrusted: before they reach the terminal every control character
(escape sequences included) is shown as its \\x.. code, so a command cannot rewrite the screen or the
title. The trajectory keeps the raw text.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from swesrl.agent.policies import Usage
from swesrl.trajectories.actions import Action, Bash, render_xml
from swesrl.trajectories.schema import Step
from swesrl.util import terminal_safe as printable

OBSERVATION_LINES = 6


def action_text(action: Action | None) -> str:
    if action is None:
        return "(no action: malformed answer)"
    if isinstance(action, Bash):
        return "$ " + action.command
    return render_xml(action)


def _head(text: str, lines: int) -> str:
    parts = text.splitlines()
    more = f"\n... {len(parts) - lines} more lines" if len(parts) > lines else ""
    return "\n".join(parts[:lines]) + more


class StepView:
    """Prints each recorded step: step n/limit, tokens and cost so far, the thought's first line,
    the action, and the head of the observation (or the format error)."""

    def __init__(self, console: Console, step_limit: int):
        self.console, self.limit, self.n = console, step_limit, 0

    def __call__(self, step: Step, usage: Usage) -> None:
        self.n += 1
        cost = f" · ${usage.cost:.4f}" if usage.cost is not None else ""
        self.console.rule(Text(f"step {self.n}/{self.limit} · {usage.total_tokens:,} tokens{cost}"), align="left", style="dim")
        thought = (step.thought or "").strip().splitlines()
        if thought:
            self.console.print(Text(printable(thought[0]), style="italic"))
        self.console.print(Text(printable(_head(action_text(step.action), 4)), style="bold cyan"))
        if step.action_error:
            self.console.print(Text(printable(f"format error: {step.action_error}"), style="yellow"))
        elif step.observation:
            self.console.print(Text(printable(_head(step.observation, OBSERVATION_LINES)), style="dim"))


def confirm_on(console: Console):
    """Asks before each action: Enter or y runs it, n skips it, any other text goes to the model instead."""

    def confirm(thought: str, action: Action) -> str | None:
        console.print(Text(printable(_head(action_text(action), 12)), style="bold cyan"))
        answer = console.input("run it? [Y/n/or a message to the model] ").strip()
        if answer.lower() in ("", "y", "yes"):
            return None
        return "the user declined it" if answer.lower() in ("n", "no") else answer

    return confirm
