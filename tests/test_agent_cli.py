"""`swesrl agent run` and `swesrl eval run`: help and argument errors (no Docker needed)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from swesrl.cli import app

runner = CliRunner()


@pytest.mark.parametrize("command", [["agent", "run"], ["eval", "run"]])
def test_help_has_an_example(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Example: swesrl" in result.output and "openai:MODEL@BASE_URL" in result.output


@pytest.fixture
def tasks_file(tmp_path):
    task = {"instance_id": "calc-1", "repo": "me/calc", "base_commit": "abc", "problem_statement": "add subtracts",
            "FAIL_TO_PASS": ["test_calc.py::test_add"], "PASS_TO_PASS": [], "test_cmd": "pytest -rA"}
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(task) + "\n")
    return path


def test_agent_run_argument_errors(tasks_file):
    neither = runner.invoke(app, ["agent", "run", "--model", "replay"])
    assert neither.exit_code != 0 and "either --repo" in neither.output
    unknown = runner.invoke(app, ["agent", "run", "--task", "nope", "--tasks", str(tasks_file), "--model", "replay"])
    assert unknown.exit_code != 0 and "has no (valid) task 'nope'" in unknown.output
    no_issue = runner.invoke(app, ["agent", "run", "--repo", str(tasks_file.parent), "--model", "replay"])
    assert no_issue.exit_code != 0 and "--issue" in no_issue.output
    typo = runner.invoke(app, ["agent", "run", "--repo", str(tasks_file.parent), "--issue", "isue.md", "--model", "replay"])
    assert typo.exit_code == 2 and "isue.md: no such file" in typo.output  # not run as the issue's text "isue.md"


def test_eval_run_argument_errors(tasks_file, tmp_path):
    spec = runner.invoke(app, ["eval", "run", "--tasks", str(tasks_file), "--model", "gpt4", "--run-id", "r",
                               "--runs-dir", str(tmp_path)])
    assert spec.exit_code != 0 and "unknown model spec 'gpt4'" in spec.output
    inst = runner.invoke(app, ["eval", "run", "--tasks", str(tasks_file), "--model", "replay", "--run-id", "r",
                               "-i", "other-2", "--runs-dir", str(tmp_path)])
    assert inst.exit_code != 0 and "other-2" in inst.output


def test_a_missing_docker_daemon_stops_before_any_model_call(tasks_file, tmp_path):
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    result = runner.invoke(app, ["eval", "run", "--tasks", str(tasks_file), "--model", "replay", "--run-id", "r",
                                 "--runs-dir", str(tmp_path)], env=env)
    assert result.exit_code == 1 and "no Docker daemon answers" in result.output
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", [
    ["eval", "patches", "--predictions", "{preds}", "--run-id", "r", "--runs-dir", "{out}"],
    ["eval", "validate", "-o", "{out}/v"],
    ["sandbox", "build"],
])
def test_a_missing_docker_daemon_is_one_line_not_one_failure_per_task(tasks_file, tmp_path, command):
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"instance_id": "calc-1", "model_name_or_path": "m", "model_patch": ""}) + "\n")
    args = [a.format(preds=preds, out=tmp_path / "out") for a in command]
    result = runner.invoke(app, [*args, "--tasks", str(tasks_file)], env={"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"})
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: no Docker daemon answers") and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
