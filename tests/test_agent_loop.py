"""The agent loop on a real repository copy: LocalSandbox runs the commands (subprocess in a temp git repo)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from swesrl.agent.loop import AgentConfig, run_agent
from swesrl.agent.policies import Reply, ScriptedPolicy, Usage
from swesrl.sandbox.local import LocalSandbox
from swesrl.trajectories import (
    Bash,
    Create,
    StrReplace,
    Submit,
    Trajectory,
    View,
    render_answer,
    render_xml,
)
from swesrl.trajectories.context import ContextConfig

ISSUE = "add(2, 3) returns -1 instead of 5."


@pytest.fixture
def repo(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    with LocalSandbox(src) as sb:
        yield sb


def ans(action, thought="thinking") -> str:
    return render_answer(thought, render_xml(action))


@dataclass
class Recording:
    """Wraps a policy and keeps every prompt it was shown."""

    inner: object
    name: str = "recording"
    prompts: list = field(default_factory=list)

    def act(self, messages):
        self.prompts.append([dict(m) for m in messages])
        return self.inner.act(messages)

    def for_instance(self, instance_id):
        return self


def test_scripted_run_fixes_the_bug_and_saves_the_trajectory(repo, tmp_path):
    calc = f"{repo.root}/calc.py"
    policy = Recording(ScriptedPolicy([
        ans(View(calc)),
        "I think I should edit the file",  # malformed: no think block, no action
        ans(StrReplace(calc, "a - b", "a + b")),
        ans(Bash("python -c 'import calc; print(calc.add(2, 3))'")),
        ans(Submit(), "fixed"),
    ]))
    out = tmp_path / "run.jsonl"
    result = run_agent(policy, repo, ISSUE, config=AgentConfig(workdir=repo.workdir), out=out, instance_id="calc-1")

    assert result.exit_status == "submitted"
    assert "-    return a - b\n+    return a + b\n" in result.patch
    kinds = [s.action.kind if s.action else None for s in result.trajectory.steps]
    assert kinds == ["view", None, "str_replace", "bash", "submit"]
    assert "     2\t    return a - b" in result.trajectory.steps[0].observation
    assert "no <think> block" in result.trajectory.steps[1].action_error
    assert result.trajectory.steps[3].observation.strip() == "5"
    # the format error went back to the model as an observation
    assert "not in the required format" in policy.prompts[2][-1]["content"]
    assert policy.prompts[2][-2] == {"role": "assistant", "content": "I think I should edit the file"}
    # earlier actions are shown in the training format (render_xml of the action)
    assert policy.prompts[4][-2]["content"] == render_xml(Bash("python -c 'import calc; print(calc.add(2, 3))'"))

    saved = Trajectory.from_dict(json.loads(out.read_text()))
    assert saved.final_patch == result.patch
    assert saved.metadata["exit_status"] == "submitted"
    assert [s.action for s in saved.steps] == [s.action for s in result.trajectory.steps]


def test_step_limit_stops_the_run(repo):
    policy = ScriptedPolicy([ans(Bash("true"))] * 10)
    result = run_agent(policy, repo, ISSUE, config=AgentConfig(step_limit=3, workdir=repo.workdir))
    assert result.exit_status == "step_limit"
    assert len(result.trajectory.steps) == 3
    assert result.trajectory.metadata["exit_message"] == "reached the step limit of 3"


def test_consecutive_format_errors_stop_the_run_but_a_good_answer_resets_the_count(repo):
    policy = ScriptedPolicy(["bad", "bad", ans(Bash("true")), "bad", "bad", "bad", ans(Bash("true"))])
    result = run_agent(policy, repo, ISSUE, config=AgentConfig(max_format_errors=3, workdir=repo.workdir))
    assert result.exit_status == "format_errors"
    assert len(result.trajectory.steps) == 6
    assert result.patch == ""


@dataclass
class Priced:
    """Every answer reports the same usage, as a priced API would."""

    usage: Usage
    name: str = "priced"

    def act(self, messages):
        return Reply(ans(Bash("true")), self.usage)

    def for_instance(self, instance_id):
        return self


def test_token_and_cost_limits(repo):
    tokens = run_agent(Priced(Usage(400, 100)), repo, ISSUE, config=AgentConfig(token_limit=1200, workdir=repo.workdir))
    assert tokens.exit_status == "token_limit"
    assert len(tokens.trajectory.steps) == 3 and tokens.usage.total_tokens == 1500

    cost = run_agent(Priced(Usage(10, 10, 0.02)), repo, ISSUE, config=AgentConfig(cost_limit=0.05, workdir=repo.workdir))
    assert cost.exit_status == "cost_limit"
    assert cost.usage.cost == pytest.approx(0.06)

    # no known price: the cost limit cannot apply, the run goes on and says so
    free = run_agent(Priced(Usage(10, 10, None)), repo, ISSUE, config=AgentConfig(cost_limit=0.05, step_limit=4, workdir=repo.workdir))
    assert free.exit_status == "step_limit"
    assert "not enforced" in free.trajectory.metadata["cost_note"]


def test_wall_time_limit_also_bounds_a_running_command(repo):
    policy = ScriptedPolicy([ans(Bash("sleep 30"))] * 3)
    config = AgentConfig(wall_time_limit=1.5, command_timeout=60, workdir=repo.workdir)
    result = run_agent(policy, repo, ISSUE, config=config)
    assert result.exit_status == "wall_time"
    assert "timed out" in result.trajectory.steps[0].observation
    assert result.trajectory.metadata["wall_time"] < 10


def test_long_observations_are_truncated_with_a_marker(repo):
    policy = ScriptedPolicy([ans(Bash("python -c 'print(\"x\" * 20000)'")), ans(Submit())])
    config = AgentConfig(workdir=repo.workdir, context=ContextConfig(max_observation_chars=1000))
    result = run_agent(policy, repo, ISSUE, config=config)
    obs = result.trajectory.steps[0].observation
    assert len(obs) < 1100 and "characters truncated" in obs


def test_a_crash_mid_run_keeps_the_steps_already_taken(repo, tmp_path):
    class Crashing:
        name = "crashing"

        def __init__(self):
            self.n = 0

        def act(self, messages):
            self.n += 1
            if self.n == 3:
                raise RuntimeError("GPU fell over")
            return Reply(ans(Create(f"{repo.root}/new_{self.n}.py", "x = 1\n")))

        def for_instance(self, instance_id):
            return self

    out = tmp_path / "crash.jsonl"
    with pytest.raises(RuntimeError, match="GPU fell over"):
        run_agent(Crashing(), repo, ISSUE, config=AgentConfig(workdir=repo.workdir), out=out)
    saved = Trajectory.from_dict(json.loads(out.read_text()))
    assert len(saved.steps) == 2
    assert saved.metadata["exit_status"] == "error" and "GPU fell over" in saved.metadata["exit_message"]
    assert "new_1.py" in saved.final_patch and "new_2.py" in saved.final_patch


def test_policy_errors_end_the_run_with_their_message(repo):
    result = run_agent(ScriptedPolicy([ans(Bash("true"))]), repo, ISSUE, config=AgentConfig(workdir=repo.workdir))
    assert result.exit_status == "policy_error"
    assert "no answer left" in result.trajectory.metadata["exit_message"]


def test_saved_runs_are_read_by_the_readers_and_the_traj_cli(repo, tmp_path):
    from typer.testing import CliRunner

    from swesrl.cli import app
    from swesrl.trajectories.readers import read_trajectories

    calc = f"{repo.root}/calc.py"
    policy = ScriptedPolicy(["oops", ans(StrReplace(calc, "a - b", "a + b"), "swap the sign"), ans(Submit())])
    out = tmp_path / "runs" / "calc-1.jsonl"
    run_agent(policy, repo, ISSUE, config=AgentConfig(workdir=repo.workdir), out=out, instance_id="calc-1")

    [read] = list(read_trajectories(out))
    assert read.instance_id == "calc-1" and [s.action_error is not None for s in read.steps] == [True, False, False]

    runner = CliRunner()
    shown = runner.invoke(app, ["traj", "inspect", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "swap the sign" in shown.output
    split = runner.invoke(app, ["traj", "split", str(out), "-o", str(tmp_path / "steps.jsonl")])
    assert split.exit_code == 0, split.output
    examples = [json.loads(line) for line in (tmp_path / "steps.jsonl").read_text().splitlines()]
    assert [e["target"] for e in examples][0] == render_xml(StrReplace(calc, "a - b", "a + b"))


def test_a_run_repeating_one_command_is_told_then_stopped_as_stuck(repo, tmp_path):
    calc = f"{repo.root}/calc.py"
    policy = Recording(ScriptedPolicy([ans(StrReplace(calc, "a - b", "a + b"))] + [ans(Bash(f"cat {calc}"))] * 20))
    out = tmp_path / "stuck.jsonl"
    result = run_agent(policy, repo, ISSUE, config=AgentConfig(workdir=repo.workdir), out=out)  # default: 3 repeats

    assert result.exit_status == "stuck" and len(result.trajectory.steps) == 6  # the edit, then 5 times the same
    assert result.trajectory.metadata["exit_message"] == ("3 steps repeated what the run had just done; the last ran "
                                                          "the same action 5 times in a row with the same output")
    assert "+    return a + b" in result.patch  # the patch is taken as after any other limit
    told = ["[Note: you have run this action" in s.observation for s in result.trajectory.steps]
    assert told == [False, False, False, True, True, False]  # the 3rd and 4th time, then the stop
    assert "3 times in a row" in result.trajectory.steps[3].observation
    assert "ends after 1 more step that repeats" in result.trajectory.steps[4].observation
    assert "[Note: you have run this action 4 times" in policy.prompts[5][-1]["content"]  # what the model was shown
    saved = Trajectory.from_dict(json.loads(out.read_text()))
    assert saved.metadata["exit_status"] == "stuck" and saved.steps[3].observation == result.trajectory.steps[3].observation


def test_a_few_commands_in_turn_are_caught(repo):
    alternating = run_agent(ScriptedPolicy([ans(Bash("ls")), ans(Bash("cat calc.py"))] * 10), repo, ISSUE,
                            config=AgentConfig(workdir=repo.workdir))
    assert alternating.exit_status == "stuck" and len(alternating.trajectory.steps) == 6  # A B A B: told; A, B: told, stopped
    assert "these 2 actions in turn 2 times" in alternating.trajectory.steps[3].observation
    longer = run_agent(ScriptedPolicy([ans(Bash("ls")), ans(Bash("ls")), ans(Bash("cat calc.py"))] * 5), repo, ISSUE,
                       config=AgentConfig(workdir=repo.workdir))
    assert longer.exit_status == "stuck" and len(longer.trajectory.steps) == 8
    assert "these 3 actions in turn 2 times" in longer.trajectory.steps[5].observation


def test_a_run_that_steps_aside_after_each_note_and_comes_back_is_still_stopped(repo):
    # a small model told it repeats itself does something else once, then goes back: the count goes on
    count = ans(Bash("echo x >> count && wc -l < count"))  # a new output every time
    policy = ScriptedPolicy(([ans(Bash("ls"))] * 3 + [count]) * 5)
    result = run_agent(policy, repo, ISSUE, config=AgentConfig(workdir=repo.workdir))
    assert result.exit_status == "stuck" and len(result.trajectory.steps) == 11
    assert [i for i, s in enumerate(result.trajectory.steps) if "[Note" in s.observation] == [2, 6]


def test_a_command_whose_output_changes_is_no_repeat_but_a_changed_elapsed_time_is(repo):
    # test runners print their elapsed time: a rerun that differs only there is a repeat
    timed = ScriptedPolicy([ans(Bash("python -c \"import time; print(f'1 passed in {time.time() % 1:.6f}s')\""))] * 5)
    result = run_agent(timed, repo, ISSUE, config=AgentConfig(max_repeats=1, workdir=repo.workdir))
    assert result.exit_status == "stuck" and len(result.trajectory.steps) == 3
    assert result.trajectory.steps[0].observation != result.trajectory.steps[1].observation

    counter = ScriptedPolicy([ans(Bash("echo x >> count && wc -l < count"))] * 8)
    changing = run_agent(counter, repo, ISSUE, config=AgentConfig(step_limit=8, max_repeats=1, workdir=repo.workdir))
    assert changing.exit_status == "step_limit" and changing.trajectory.steps[-1].observation.strip() == "8"


def test_a_malformed_answer_or_a_refused_action_between_two_runs_of_a_command_repeats_nothing(repo):
    broken = ScriptedPolicy([ans(Bash("true")), "bad"] * 4)
    assert run_agent(broken, repo, ISSUE, config=AgentConfig(step_limit=8, max_repeats=1, workdir=repo.workdir)).exit_status == "step_limit"
    refused = run_agent(ScriptedPolicy([ans(Bash("true"))] * 8), repo, ISSUE, confirm=lambda thought, action: "no",
                        config=AgentConfig(step_limit=8, max_repeats=1, workdir=repo.workdir))
    assert refused.exit_status == "step_limit"


def test_max_repeats_none_lets_a_run_repeat_to_its_step_limit(repo):
    result = run_agent(ScriptedPolicy([ans(Bash("true"))] * 12), repo, ISSUE,
                       config=AgentConfig(step_limit=12, max_repeats=None, workdir=repo.workdir))
    assert result.exit_status == "step_limit" and len(result.trajectory.steps) == 12
    assert not any("[Note" in s.observation for s in result.trajectory.steps)
