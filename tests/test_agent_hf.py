"""A tiny random-initialized transformers model drives the loop: garbage answers, handled honestly."""

from __future__ import annotations

import pytest

from swesrl.agent.loop import AgentConfig, run_agent
from swesrl.agent.policies import Sampling, make_policy
from swesrl.sandbox.local import LocalSandbox

pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from swesrl.training.tiny_model import init_tiny_model

    return init_tiny_model(tmp_path_factory.mktemp("tiny"), vocab="local")


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    with LocalSandbox(tmp_path) as sb:
        yield sb


@pytest.mark.slow
def test_tiny_model_runs_the_loop_and_its_format_errors_are_fed_back(tiny_model, repo, tmp_path):
    policy = make_policy(f"hf:{tiny_model}", Sampling(temperature=1.0, max_new_tokens=24, seed=0))
    config = AgentConfig(step_limit=4, max_format_errors=10, workdir=repo.workdir)
    result = run_agent(policy, repo, "add subtracts", config=config, out=tmp_path / "tiny.jsonl")
    assert result.exit_status == "step_limit"
    assert len(result.trajectory.steps) == 4
    assert all(s.action is None and s.action_error for s in result.trajectory.steps)  # a random model never hits the format
    assert all("not in the required format" in s.observation for s in result.trajectory.steps)
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    assert result.usage.cost is None and result.patch == ""

    stopped = run_agent(policy, repo, "add subtracts", config=AgentConfig(max_format_errors=2, workdir=repo.workdir))
    assert stopped.exit_status == "format_errors" and len(stopped.trajectory.steps) == 2

    capped = run_agent(policy, repo, "add subtracts",
                       config=AgentConfig(token_limit=300, max_format_errors=10, workdir=repo.workdir))
    assert capped.exit_status == "token_limit" and capped.usage.total_tokens >= 300


def test_a_model_without_chat_template_is_refused_clearly(tiny_model, tmp_path):
    import shutil

    from transformers import AutoTokenizer

    from swesrl.agent.policies import PolicyError

    bare = tmp_path / "bare"
    shutil.copytree(tiny_model, bare)
    tok = AutoTokenizer.from_pretrained(bare)
    tok.chat_template = None
    tok.save_pretrained(bare)
    (bare / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(PolicyError, match="no chat template"):
        make_policy(f"hf:{bare}")


def test_a_seeded_sampling_agent_gets_a_new_sample_at_each_call_and_the_same_run_again(tiny_model):
    # One seed for every call would answer a repeated prompt with the same sample: a loop to the step limit.
    policy = make_policy(f"hf:{tiny_model}", Sampling(temperature=1.0, max_new_tokens=16, seed=0))
    prompt = [{"role": "system", "content": "fix the bug"}, {"role": "user", "content": "add subtracts"}]

    def run(instance: str) -> list[str]:
        agent = policy.for_instance(instance)
        return [agent.act(prompt).text for _ in range(3)]

    first = run("calc-1")
    assert len(set(first)) == 3  # the same prompt three times: three samples
    assert run("calc-1") == first  # reproducible per run, whatever ran in between
    assert run("calc-2") != first
