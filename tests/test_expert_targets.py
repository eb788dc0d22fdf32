"""Every kept example of every shared format: the expert's own answer scores exactly 1.0 through the
reward as TRL calls it, and the agent parses and runs the same answer with its own tools."""

from __future__ import annotations

import pytest
from conftest import TRAJ_DATA

from swesrl.agent.tools import Editor, execute
from swesrl.sandbox.base import ExecResult
from swesrl.training.rewards import srl_reward_func
from swesrl.trajectories import ToolCall, parse_answer, render_answer
from swesrl.trajectories.readers import read_trajectories
from swesrl.trajectories.split import SplitStats, split_all

FORMATS = sorted(p.name for p in TRAJ_DATA.iterdir()) if TRAJ_DATA.is_dir() else ["shared-data-missing"]


class Recorder:
    """A sandbox that only records what the tools asked of it: enough to see which tool ran."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def exec(self, cmd: str, timeout: float, workdir: str | None = None, env: dict | None = None) -> ExecResult:
        self.calls.append("exec")
        return ExecResult(output="", exit_code=0)

    def read_file(self, path: str) -> str:
        self.calls.append("read_file")
        return ""

    def write_file(self, path: str, content: str) -> None:
        self.calls.append("write_file")


def _trl_columns(examples) -> dict[str, list]:
    """The dataset columns GRPOTrainer passes to a reward function, one list per column."""
    rows = [e.to_dict() for e in examples]
    return {k: [r[k] for r in rows] for k in rows[0] if k != "messages"}


@pytest.mark.parametrize("folder", FORMATS)
def test_expert_answer_scores_one_and_the_agent_runs_it(folder, traj_data):
    stats = SplitStats()
    examples = list(split_all(read_trajectories(traj_data / folder), stats=stats))
    assert examples, f"{folder}: no examples"
    answers = [render_answer(e.thought, e.target) for e in examples]
    completions = [[{"role": "assistant", "content": a}] for a in answers]
    rewards = srl_reward_func(prompts=[e.messages for e in examples], completions=completions,
                              completion_ids=[[0]] * len(examples), trainer_state=None, **_trl_columns(examples))
    assert [e.id for e, r in zip(examples, rewards, strict=True) if r != 1.0] == []
    assert stats.answer_not_exact == 0

    for example, answer in zip(examples, answers, strict=True):
        _, action = parse_answer(answer)
        assert not isinstance(action, ToolCall), example.id
        if action.kind != "submit":
            sandbox = Recorder()
            observation = execute(action, sandbox, Editor(), timeout=5)
            assert "unknown tool" not in observation and sandbox.calls, example.id



def test_no_format_loses_more_than_a_tenth_of_its_steps(traj_data):
    stats = SplitStats()
    for _ in split_all(read_trajectories(traj_data), stats=stats):
        pass
    assert set(stats.formats) >= {"swe-agent", "nebius", "mini-swe-agent", "openai-chat", "swe-smith", "openhands-events"}
    for name, report in stats.formats.items():
        lost = sum(report.dropped.values())
        assert lost <= 0.10 * report.steps, f"{name}: {dict(report.dropped)} of {report.steps} steps"
    assert stats.answer_not_exact == 0


@pytest.mark.parametrize("folder", FORMATS)
def test_replay_and_whole_run_sft_use_the_same_normalized_answers(folder, traj_data):
    """Replay plays, and whole-run SFT trains on, exactly the targets the split keeps: every answer
    parses to a canonical action (no windowed `open`, no mini sentinel kept as bash)."""
    from swesrl.agent.replay_policy import expert_answers
    from swesrl.training.data import trajectory_messages

    for traj in read_trajectories(traj_data / folder):
        if isinstance(traj, Exception):
            continue
        answers = expert_answers(traj)
        targets = [render_answer(e.thought, e.target) for e in split_all([traj])]
        assert answers == targets, traj.id
        for answer in answers:
            assert not isinstance(parse_answer(answer)[1], ToolCall), traj.id
        sft = [m["content"] for m in trajectory_messages(traj) if m["role"] == "assistant"]
        assert sft == answers, traj.id
