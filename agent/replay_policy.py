"""Plays an expert run back as a policy: the honest reference for testing the whole harness.

``replay`` uses the expert runs bundled with the example tasks; ``replay:PATH`` any file or folder
the trajectory readers accept. Each run's answers are the expert's thoughts and actions in the
answer format a trained model writes, so they go through the same parser and tools.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from swesrl.trajectories.context import Message
from swesrl.trajectories.normalize import expert_turns, normalize
from swesrl.trajectories.schema import Trajectory

from .policies import PolicyError, Reply

BUNDLED = Path(__file__).resolve().parents[1] / "examples" / "trajectories"


def expert_answers(trajectory: Trajectory) -> list[str]:
    """The expert's target turns as answer text, normalized as the split normalizes them (SWE-agent's
    windowed commands as editor calls, mini-swe-agent's sentinel as submit), so the agent can run each."""
    return [answer for answer, _ in expert_turns(normalize(trajectory))]


@dataclass
class ReplayRun:
    """One instance's expert answers, in order; per-run state, so workers never share a cursor."""

    trajectory: Trajectory
    name: str
    answers: list[str] = field(init=False)
    cursor: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.answers = expert_answers(self.trajectory)

    def act(self, messages: Sequence[Message]) -> Reply:
        if self.cursor >= len(self.answers):
            raise PolicyError(f"replay of {self.trajectory.id}: the expert run has no step {self.cursor + 1}")
        self.cursor += 1
        return Reply(self.answers[self.cursor - 1])

    def for_instance(self, instance_id: str | None) -> ReplayRun:
        return ReplayRun(self.trajectory, self.name)


class ReplayPolicy:
    """All the expert runs of a source, by instance id; ``for_instance`` picks the one to play."""

    def __init__(self, trajectories: Sequence[Trajectory], source: str):
        self.name = f"replay:{source}"
        self.source = source
        self.runs: dict[str, Trajectory] = {}
        for t in trajectories:
            self.runs.setdefault(t.instance_id or t.id, t)
        if not self.runs:
            raise PolicyError(f"{source}: no trajectories to replay")

    @classmethod
    def load(cls, path: str | Path | None = None) -> ReplayPolicy:
        source = Path(path) if path else BUNDLED
        if not source.exists():
            hint = "" if path else " (the bundled runs ship with a source checkout; pass replay:PATH)"
            raise PolicyError(f"replay: {source} does not exist{hint}")
        from swesrl.trajectories.readers import read_trajectories

        return cls(list(read_trajectories(source)), str(source))

    def for_instance(self, instance_id: str | None) -> ReplayRun:
        if instance_id is None:
            if len(self.runs) != 1:
                raise PolicyError(f"{self.source} holds {len(self.runs)} runs: replay plays one back, so give --task "
                                  "(with --tasks) or replay:FILE of a single run")
            return ReplayRun(next(iter(self.runs.values())), self.name)
        if instance_id not in self.runs:
            raise PolicyError(f"{self.source} has no expert run for instance {instance_id!r}")
        return ReplayRun(self.runs[instance_id], self.name)

    def act(self, messages: Sequence[Message]) -> Reply:
        raise PolicyError("replay plays one instance's run: call for_instance(instance_id) first")
