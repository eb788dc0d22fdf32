"""The agent loop: a policy works on an issue inside a Sandbox until it submits or a limit stops it.

Each turn: prompt (the shared ``build_messages``, so inference sees the training format) -> the
policy's answer -> the shared ``parse_answer`` -> the action run in the sandbox -> the observation.
The unusual endings (submit, a limit, too many malformed answers, a run going round in circles:
agent/repeats.py) are exceptions, so the loop reads straight. The run is saved as a swesrl Trajectory
after every step: a crash loses nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from swesrl.sandbox.base import Sandbox
from swesrl.trajectories.actions import Action, Submit, render_xml
from swesrl.trajectories.answer import FormatError, parse_answer
from swesrl.trajectories.context import ContextConfig, Turn, build_messages
from swesrl.trajectories.schema import Step, Trajectory
from swesrl.util import truncate_middle

from .policies import Policy, PolicyError, Reply, Usage
from .repeats import Key, key, note, repeating
from .tools import Editor, execute


@dataclass(frozen=True)
class AgentConfig:
    step_limit: int = field(default=50, metadata={"help": "most model calls in one run (format errors count)"})
    token_limit: int | None = field(default=None, metadata={"help": "most prompt + completion tokens in one run"})
    cost_limit: float | None = field(default=None, metadata={"help": "most dollars in one run (priced models only)"})
    wall_time_limit: float | None = field(default=3600.0, metadata={"help": "seconds one run may take"})
    max_format_errors: int = field(default=3, metadata={"help": "consecutive malformed answers that end the run"})
    max_repeats: int | None = field(default=3, metadata={
        "help": "steps that repeat what the run just did (one action with the same output a 3rd time in a row, or a "
                "few in turn a 2nd time) that end the run as `stuck`; the model is told at each one before (null: never)"})
    command_timeout: float = field(default=120.0, metadata={"help": "seconds one command may run"})
    workdir: str = field(default="/testbed", metadata={"help": "the repository inside the sandbox"})
    context: ContextConfig = field(default_factory=ContextConfig, metadata={"help": "prompt building (shared with training)"})

    def __post_init__(self) -> None:
        if self.max_repeats is not None and self.max_repeats < 1:
            raise ValueError(f"max_repeats must be at least 1 (or null: never), got {self.max_repeats}")


# Watching a run: called after each recorded step with the run so far (live views, progress lines).
OnStep = Callable[[Step, "Usage"], None]
# Asked before each action runs: None runs it; a text is given to the model instead (the action is skipped).
Confirm = Callable[[str, Action], "str | None"]


class AgentStop(Exception):
    """Ends the run; ``status`` names why and goes into the trajectory's metadata."""

    status = "stopped"

    def __init__(self, message: str = "", status: str | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class Submitted(AgentStop):
    status = "submitted"


class LimitExceeded(AgentStop):
    def __init__(self, status: str, message: str):
        super().__init__(message, status)


@dataclass
class AgentResult:
    patch: str
    exit_status: str
    trajectory: Trajectory
    usage: Usage


@dataclass
class Ending:
    """How a run ended: set by the run itself, or by the exception that ended it."""

    status: str = "error"
    message: str = ""


@contextlib.contextmanager
def recorded_run(trajectory: Trajectory, sandbox: Sandbox, usage: Callable[[], Usage | None], save: Callable[[], None],
                 started: float | None = None) -> Iterator[Ending]:
    """The one place a run's end is classified and recorded (agent loop, oracle, pipeline): an AgentStop
    gives its status, a PolicyError `policy_error` (the model server failed), anything else `error` and
    propagates. Then the patch is taken (if that fails the run is an `error`: the infrastructure's,
    retried on resume), exit status, message, usage and wall time go into the metadata, and ``save`` runs."""
    ending = Ending()
    started = time.monotonic() if started is None else started
    try:
        yield ending
    except AgentStop as stop:
        ending.status, ending.message = stop.status, str(stop)
    except PolicyError as e:
        ending.status, ending.message = "policy_error", str(e)
    except BaseException as e:
        ending.status, ending.message = "error", f"{type(e).__name__}: {e}"
        raise
    finally:
        meta = trajectory.metadata
        try:
            trajectory.final_patch = sandbox.diff()
        except Exception as e:  # a dead sandbox, a diff too large
            trajectory.final_patch = ""
            meta["diff_error"] = f"{type(e).__name__}: {e}"
            if ending.status != "error":
                ending.status, ending.message = ("error", f"the patch could not be taken ({meta['diff_error']}); "
                                                 f"the run ended as {ending.status}: {ending.message}")
        spent = usage()
        meta.update(exit_status=ending.status, exit_message=ending.message, usage=asdict(spent) if spent else None,
                    wall_time=round(time.monotonic() - started, 3))
        save()


def format_feedback(error: FormatError) -> str:
    return f"Your answer was not in the required format: {error}\nAnswer with <think> your reasoning </think> followed by exactly one <function=...> call."


def pending_path(path: Path) -> Path:
    """Where a save is written before it takes the run's name (hidden: readers skip dot files)."""
    return path.with_name(f".{path.name}.tmp")


def _write_atomic(path: Path, text: str) -> None:
    """A reader never sees a half-written run. The old file is unlinked before the rename because
    renaming over it makes ext4 flush the new data first (milliseconds per step on long runs); a
    crash between the two leaves the complete run at ``pending_path``, where ``batch.load_run`` looks."""
    tmp = pending_path(path)
    tmp.write_text(text, encoding="utf-8")
    path.unlink(missing_ok=True)
    os.replace(tmp, path)


def save_trajectory(trajectory: Trajectory, path: Path) -> None:
    """The run as one swesrl-format JSONL record."""
    _write_atomic(path, json.dumps(trajectory.to_dict(with_raw=True), ensure_ascii=False) + "\n")


def saver(trajectory: Trajectory, out: Path | None) -> Callable[[], None]:
    """What saves ``trajectory`` to ``out`` (its folder made) when called; nothing without ``out``."""

    def save() -> None:
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            save_trajectory(trajectory, out)

    return save


class RunWriter:
    """Saves the run after every step without re-encoding old steps (the loop only appends steps):
    each step is encoded once, so a long run's per-step cost stays nearly flat. The file is still
    one whole swesrl record, rewritten atomically."""

    def __init__(self, path: Path):
        self.path = path
        self.steps: list[str] = []

    def save(self, trajectory: Trajectory) -> None:
        for step in trajectory.steps[len(self.steps) :]:
            self.steps.append(json.dumps(step.to_dict(with_raw=True), ensure_ascii=False))
        head = replace(trajectory, steps=[]).to_dict(with_raw=True)
        del head["steps"]
        _write_atomic(self.path, json.dumps(head, ensure_ascii=False)[:-1] + ', "steps": [' + ", ".join(self.steps) + "]}\n")


class Agent:
    def __init__(self, policy: Policy, sandbox: Sandbox, trajectory: Trajectory, config: AgentConfig, out: Path | None,
                 on_step: OnStep | None = None, confirm: Confirm | None = None):
        self.policy, self.sandbox, self.trajectory, self.config = policy, sandbox, trajectory, config
        self.on_step, self.confirm = on_step, confirm
        self.writer = RunWriter(out) if out is not None else None
        self.history: list[Turn] = []
        self.editor = Editor(config.workdir)
        self.usage = Usage()
        self.format_errors = 0
        self.executed: list[Key] = []  # what each step ran and saw, for telling a run that goes round in circles
        self.repeats = 0  # steps that repeated what the run had just done (agent/repeats.py)
        self.started = time.monotonic()

    def run(self) -> AgentResult:
        with recorded_run(self.trajectory, self.sandbox, lambda: self.usage, self.save, self.started):
            while True:
                self.step()
        return AgentResult(self.trajectory.final_patch or "", self.trajectory.metadata["exit_status"], self.trajectory, self.usage)

    def step(self) -> None:
        self.check_limits()
        messages = build_messages(self.trajectory.problem_statement, self.history, self.config.context)
        reply = self.policy.act(messages)
        self.usage += reply.usage
        try:
            thought, action = parse_answer(reply.text)
        except FormatError as e:
            self.format_errors += 1
            self.executed.append(None)  # nothing ran: no repeat
            feedback = format_feedback(e)
            self.record(Step("", None, feedback, action_error=str(e)), Turn(reply.text, feedback), reply)
            if self.format_errors >= self.config.max_format_errors:
                raise LimitExceeded("format_errors", f"{self.format_errors} malformed answers in a row") from None
            return
        self.format_errors = 0
        if isinstance(action, Submit):
            self.record(Step(thought, action, ""), None, reply)
            raise Submitted("the model submitted")
        refusal = self.confirm(thought, action) if self.confirm else None
        if refusal is not None:
            observation = f"The user did not run this action: {refusal}"
            self.executed.append(None)
            self.record(Step(thought, action, observation), Turn(render_xml(action), observation), reply)
            return
        raw = execute(action, self.sandbox, self.editor, self.command_timeout())
        observation = truncate_middle(raw, self.config.context.max_observation_chars)
        shown = render_xml(action)
        told, stuck = self.check_repeats(key(shown, raw))
        self.record(Step(thought, action, observation + told), Turn(shown, observation + told), reply)
        if stuck:
            raise LimitExceeded("stuck", stuck)

    def check_repeats(self, step: Key) -> tuple[str, str | None]:
        """(a note for the model, why the run ends) after ``step`` ran: a step that repeats what the run just
        did (agent/repeats.py) is told so, and the ``max_repeats``-th one ends the run instead."""
        self.executed.append(step)
        limit = self.config.max_repeats
        cycle = repeating(self.executed) if limit is not None else None
        if cycle is None or limit is None:
            return "", None
        self.repeats += 1
        times, period = cycle
        if self.repeats < limit:
            return note(times, period, limit - self.repeats), None
        what = "the same action" if period == 1 else f"the same {period} actions in turn"
        return "", (f"{self.repeats} steps repeated what the run had just done; the last ran {what} {times} times "
                    f"in a row with the same output")

    def check_limits(self) -> None:
        c, u, steps = self.config, self.usage, len(self.trajectory.steps)
        if steps >= c.step_limit:
            raise LimitExceeded("step_limit", f"reached the step limit of {c.step_limit}")
        if c.token_limit is not None and u.total_tokens >= c.token_limit:
            raise LimitExceeded("token_limit", f"used {u.total_tokens} tokens of {c.token_limit}")
        if c.cost_limit is not None and u.cost is not None and u.cost >= c.cost_limit:
            raise LimitExceeded("cost_limit", f"spent ${u.cost:.4f} of ${c.cost_limit:.4f}")
        if c.wall_time_limit is not None and time.monotonic() - self.started >= c.wall_time_limit:
            raise LimitExceeded("wall_time", f"ran longer than {c.wall_time_limit:g} s")

    def command_timeout(self) -> float:
        if self.config.wall_time_limit is None:
            return self.config.command_timeout
        left = self.config.wall_time_limit - (time.monotonic() - self.started)
        return max(1.0, min(self.config.command_timeout, left))

    def record(self, step: Step, turn: Turn | None, reply: Reply) -> None:
        step.raw = {"answer": reply.text, "usage": asdict(reply.usage)}
        self.trajectory.steps.append(step)
        if turn is not None:
            self.history.append(turn)
        self.save()
        if self.on_step:
            self.on_step(step, self.usage)

    def save(self) -> None:
        if self.usage.cost is None and self.config.cost_limit is not None:
            self.trajectory.metadata["cost_note"] = "the model has no known price: the cost limit was not enforced"
        if self.writer is not None:
            self.writer.save(self.trajectory)


def run_agent(
    policy: Policy,
    sandbox: Sandbox,
    problem_statement: str,
    *,
    config: AgentConfig = AgentConfig(),
    out: Path | None = None,
    instance_id: str | None = None,
    repo: str | None = None,
    base_commit: str | None = None,
    on_step: OnStep | None = None,
    confirm: Confirm | None = None,
) -> AgentResult:
    """Run ``policy`` on one issue in ``sandbox``; the trajectory goes to ``out`` (JSONL) after every step,
    ``on_step`` sees each step as it is recorded, ``confirm`` may veto each action before it runs."""
    trajectory = Trajectory(
        id=instance_id or repo or "run",
        problem_statement=problem_statement,
        steps=[],
        instance_id=instance_id,
        repo=repo,
        base_commit=base_commit,
        source_format="swesrl",
        source_path=str(out or ""),
        metadata={"model": policy.name, "exit_status": None, "step_limit": config.step_limit},
    )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    return Agent(policy, sandbox, trajectory, config, out, on_step, confirm).run()
