"""The agent end to end in Docker: a local repo, the bundled tasks replayed and graded, a tiny model
graded honestly, and oracle mode answered by an OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner
from unidiff import PatchSet

from swesrl.cli import app
from swesrl.trajectories import Bash, Create, StrReplace, Submit, Trajectory, View
from swesrl.trajectories.readers import read_trajectories
from swesrl.trajectories.schema import Step

pytestmark = pytest.mark.docker

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "examples" / "tasks" / "tasks.jsonl"
EXPERT_RUNS = REPO / "examples" / "trajectories"
runner = CliRunner()


def leftover_containers(run_id: str) -> list:
    import docker

    client = docker.from_env()
    try:
        return client.containers.list(all=True, filters={"label": f"swesrl.run_id={run_id}"})
    finally:
        client.close()


def invoke(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    return result


def test_agent_run_on_a_local_git_repo(tmp_path):
    import git

    repo = tmp_path / "calc"
    repo.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    g = git.Repo.init(repo)
    g.index.add(["calc.py"])
    g.index.commit("init", author=git.Actor("a", "a@b"), committer=git.Actor("a", "a@b"))
    expert = Trajectory("calc-expert", "add subtracts", [
        Step("look", Bash("cat calc.py"), ""),
        Step("fix", StrReplace("/testbed/calc.py", "a - b", "a + b"), ""),
        Step("check", Bash("python3 -c 'import calc; print(calc.add(2, 3))'"), ""),
        Step("list", View("/testbed"), ""),
        Step("typo", View("/testbed/nope.py"), ""),
        Step("test", Create("/testbed/tests/test_calc.py", "from calc import add\n"), ""),
        Step("done", Submit(), ""),
    ])
    (tmp_path / "expert.jsonl").write_text(json.dumps(expert.to_dict()) + "\n")
    run_id = f"test-agent-{uuid.uuid4().hex[:6]}"
    out = tmp_path / "run.jsonl"

    result = invoke(["agent", "run", "--repo", str(repo), "--issue", "add(2, 3) gives -1", "--model",
                     f"replay:{tmp_path / 'expert.jsonl'}", "--out", str(out), "--run-id", run_id])
    assert "-    return a - b\n+    return a + b\n" in result.stdout
    [run] = list(read_trajectories(out))
    assert run.metadata["exit_status"] == "submitted"
    assert run.steps[0].observation == "def add(a, b):\n    return a - b\n"  # ran in the container's /testbed
    assert run.steps[2].observation.strip() == "5"
    assert "/testbed/calc.py" in run.steps[3].observation and "/testbed/.git" not in run.steps[3].observation
    assert run.steps[4].observation == "ERROR: the path /testbed/nope.py does not exist"
    assert "+++ b/tests/test_calc.py" in run.final_patch
    assert leftover_containers(run_id) == []


def _bundled_runs_ready() -> bool:
    return TASKS.is_file() and EXPERT_RUNS.is_dir() and any(EXPERT_RUNS.iterdir())


@pytest.mark.slow
def test_replay_of_the_bundled_expert_runs_resolves_every_task_and_resumes(tmp_path):
    if not _bundled_runs_ready():
        pytest.fail(f"bundled tasks and expert runs missing under {REPO / 'examples'}")
    run_id = f"test-replay-{uuid.uuid4().hex[:6]}"
    args = ["eval", "run", "--tasks", str(TASKS), "--model", "replay", "--run-id", run_id,
            "--runs-dir", str(tmp_path), "--workers", "2"]
    first = invoke(args)
    report = json.loads((tmp_path / run_id / "report.json").read_text())
    n = report["total_instances"]
    assert n == len(TASKS.read_text().splitlines())
    assert report["resolved_instances"] == n, first.output
    assert f"{n}/{n} resolved" in first.stdout
    runs = list(read_trajectories(tmp_path / run_id / "trajectories"))
    assert len(runs) == n and {r.outcome for r in runs} == {"resolved"}
    assert all(r.metadata["exit_status"] == "submitted" for r in runs)

    again = invoke(args)  # resumable: nothing is run twice
    assert again.output.count("(finished earlier)") == n and again.output.count("(kept)") == n
    assert leftover_containers(run_id) == []


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    pytest.importorskip("transformers")
    from swesrl.training.tiny_model import init_tiny_model

    return init_tiny_model(tmp_path_factory.mktemp("tiny"), vocab="local")


GOLD = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""
TEST_PATCH = """diff --git a/test_calc.py b/test_calc.py
--- a/test_calc.py
+++ b/test_calc.py
@@ -3,3 +3,7 @@ from calc import add
 
 def test_zero():
     assert add(0, 0) == 0
+
+
+def test_add():
+    assert add(2, 3) == 5
"""


@pytest.fixture
def calc_tasks(tmp_path) -> Path:
    """A one-task SWE-bench-format file over a folder repo, in the bundled tasks' environment (shared image)."""
    (tmp_path / "calc").mkdir()
    (tmp_path / "calc" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (tmp_path / "calc" / "test_calc.py").write_text("from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n")
    packages = json.loads(TASKS.read_text().splitlines()[0])["environment"]["python_packages"]
    task = {"instance_id": "calc-1", "repo": "me/calc", "base_commit": "unknown", "problem_statement": "add(2, 3) returns -1",
            "patch": GOLD, "test_patch": TEST_PATCH, "FAIL_TO_PASS": ["test_calc.py::test_add"],
            "PASS_TO_PASS": ["test_calc.py::test_zero"], "test_cmd": "pytest -rA",
            "environment": {"python_packages": packages, "repo": {"kind": "dir", "location": "calc"}, "install_commands": []}}
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(task) + "\n")
    return path


def test_replay_is_graded_resolved_a_missing_run_is_not_graded_and_a_rerun_does_only_what_is_left(calc_tasks, tmp_path):
    second = json.loads(calc_tasks.read_text())
    second["instance_id"] = "calc-2"
    calc_tasks.write_text(calc_tasks.read_text() + json.dumps(second) + "\n")
    steps = [Step("fix", StrReplace("/testbed/calc.py", "a - b", "a + b"), ""), Step("done", Submit(), "")]
    experts = tmp_path / "expert.jsonl"
    experts.write_text(json.dumps(Trajectory("e1", "add subtracts", steps, instance_id="calc-1").to_dict()) + "\n")
    run_id = f"test-replay-{uuid.uuid4().hex[:6]}"
    runs = tmp_path / "runs" / run_id
    args = ["eval", "run", "--tasks", str(calc_tasks), "--model", f"replay:{experts}", "--run-id", run_id,
            "--runs-dir", str(tmp_path / "runs"), "--workers", "2"]

    first = invoke(args)  # calc-2 has no expert run: a backend error, kept out of the grading
    assert "1/2 resolved" in first.stdout and "no expert run for instance 'calc-2'" in first.output
    report = json.loads((runs / "report.json").read_text())
    assert report["resolved_ids"] == ["calc-1"] and report["incomplete_ids"] == ["calc-2"]
    run = next(r for r in read_trajectories(runs / "trajectories") if r.instance_id == "calc-1")
    assert run.outcome == "resolved" and "-    return a - b\n+    return a + b\n" in run.final_patch
    preds = [json.loads(line) for line in (runs / "predictions.jsonl").read_text().splitlines()]
    assert preds == [{"instance_id": "calc-1", "model_name_or_path": f"replay:{experts}", "model_patch": run.final_patch}]

    with experts.open("a") as f:
        f.write(json.dumps(Trajectory("e2", "add subtracts", steps, instance_id="calc-2").to_dict()) + "\n")
    again = invoke(args)
    assert "2/2 resolved" in again.stdout
    assert "calc-1: submitted (finished earlier)" in again.output and "eval calc-1: resolved (kept)" in again.output
    assert "calc-2: submitted\n" in again.output
    assert leftover_containers(run_id) == []


@pytest.mark.slow
def test_tiny_model_runs_a_task_and_is_graded_unresolved(calc_tasks, tmp_path, tiny_model):
    run_id = f"test-tiny-{uuid.uuid4().hex[:6]}"
    result = invoke(["eval", "run", "--tasks", str(calc_tasks), "--model", f"hf:{tiny_model}", "--run-id", run_id,
                     "--runs-dir", str(tmp_path / "runs"), "--step-limit", "3", "--max-new-tokens", "16",
                     "--temperature", "1.0", "--seed", "0", "--max-format-errors", "5"])
    assert "0/1 resolved" in result.stdout
    [run] = list(read_trajectories(tmp_path / "runs" / run_id / "trajectories"))
    assert run.metadata["exit_status"] == "step_limit" and len(run.steps) == 3
    assert all(s.action_error for s in run.steps) and run.outcome == "unresolved"
    report = json.loads((tmp_path / "runs" / run_id / "report.json").read_text())
    # a random model edits nothing: the evaluator grades the empty patch as such, not as an infrastructure error
    assert report["resolved_instances"] == 0 and report["error_instances"] == 0
    assert report["empty_patch_ids"] + report["unresolved_ids"] == ["calc-1"]


def search_replace_from(patch: str) -> str:
    """The gold patch written as the SEARCH/REPLACE answer a perfect model would give."""
    blocks = []
    for f in PatchSet(patch):
        for hunk in f:
            old = "".join(line.value for line in hunk if not line.is_added)
            new = "".join(line.value for line in hunk if not line.is_removed)
            blocks.append(f"### {f.path}\n<<<<<<< SEARCH\n{old}=======\n{new}>>>>>>> REPLACE\n")
    return "<think>\nThe gold fix.\n</think>\n" + "\n".join(blocks)


def test_oracle_mode_answered_by_an_openai_compatible_server(calc_tasks, tmp_path):
    from test_policies import ScriptedServer, chat  # pytest puts tests/ on sys.path

    run_id = f"test-oracle-{uuid.uuid4().hex[:6]}"
    with ScriptedServer([(429, {"error": "busy"}), (200, chat(search_replace_from(GOLD)))]) as srv:
        result = invoke(["eval", "run", "--tasks", str(calc_tasks), "--mode", "oracle", "--model",
                         f"openai:served-model@{srv.url}", "--run-id", run_id, "--runs-dir", str(tmp_path / "runs")])
    prompt = srv.requests[-1]["body"]["messages"][1]["content"]
    assert "### calc.py\n```\ndef add(a, b):\n    return a - b\n" in prompt  # the gold patch's file, in full
    assert "1/1 resolved" in result.stdout


def test_agent_run_on_one_task(calc_tasks, tmp_path):
    expert = Trajectory("calc-expert", "add subtracts", [
        Step("fix", StrReplace("/testbed/calc.py", "a - b", "a + b"), ""),
        Step("check", Bash("python -m pytest -q test_calc.py"), ""),
        Step("done", Submit(), ""),
    ], instance_id="calc-1")
    (tmp_path / "expert.jsonl").write_text(json.dumps(expert.to_dict()) + "\n")
    out = tmp_path / "calc-1.jsonl"
    result = invoke(["agent", "run", "--task", "calc-1", "--tasks", str(calc_tasks), "--model",
                     f"replay:{tmp_path / 'expert.jsonl'}", "--out", str(out)])
    assert "+    return a + b" in result.stdout
    [run] = list(read_trajectories(out))
    assert run.instance_id == "calc-1" and run.repo == "me/calc"
    assert "1 passed" in run.steps[1].observation  # the task's environment has pytest



def test_eval_run_from_a_config_file_with_a_set_saves_the_resolved_config(calc_tasks, tmp_path):
    steps = [Step("look", Bash("cat calc.py"), ""), Step("fix", StrReplace("/testbed/calc.py", "a - b", "a + b"), ""),
             Step("done", Submit(), "")]
    experts = tmp_path / "expert.jsonl"
    experts.write_text(json.dumps(Trajectory("e1", "add subtracts", steps, instance_id="calc-1").to_dict()) + "\n")
    run_id = f"test-config-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "my-run.yaml"
    config.write_text(f"tasks: {calc_tasks}\nrun_id: {run_id}\nruns_dir: {tmp_path / 'runs'}\n"
                      f"model:\n  spec: replay:{experts}\nagent:\n  step_limit: 50\neval:\n  eval_timeout: 600\n")
    result = invoke(["eval", "run", "-c", str(config), "--set", "agent.step_limit=2"])
    saved = yaml.safe_load((tmp_path / "runs" / run_id / "config.yaml").read_text())
    assert saved["agent"]["step_limit"] == 2 and saved["eval"]["eval_timeout"] == 600.0
    assert saved["model"]["spec"] == f"replay:{experts}" and saved["tasks"] == str(calc_tasks)
    # two steps allowed, the expert needs three: the limit from --set ended the run, not the file's 50
    run = next(read_trajectories(tmp_path / "runs" / run_id / "trajectories"))
    assert result.exit_code == 0 and len(run.steps) == 2, result.output
    assert leftover_containers(run_id) == []
