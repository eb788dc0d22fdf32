"""`swesrl eval run --mode pipeline` on the bundled tasks in Docker, the model an OpenAI-compatible
server on 127.0.0.1: a right localization and repair resolve, a wrong file is a localization miss, a
malformed answer is a format error; the report shows the stages and the localization score."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.trajectories.edits import patch_to_edits, render_search_replace
from swesrl.trajectories.readers import read_trajectories

pytestmark = pytest.mark.docker

TASKS = Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tasks.jsonl"
RIGHT, WRONG, MALFORMED = "jpvanhal__inflection-1", "jpvanhal__inflection-2", "jpvanhal__inflection-3"


def test_pipeline_mode_against_an_openai_compatible_server_on_the_bundled_tasks(tmp_path):
    from test_policies import ScriptedServer, chat  # pytest puts tests/ on sys.path

    gold = {t["instance_id"]: t["patch"] for t in map(json.loads, TASKS.read_text().splitlines())}
    answers = [
        "<think>ordinal lives in the package</think>\n```\ninflection/__init__.py\n```",  # RIGHT: localize
        "<think>13 is like 11 and 12</think>\n" + render_search_replace(patch_to_edits(gold[RIGHT])),  # RIGHT: repair
        "<think>the tests</think>\n```\ntest_inflection.py\n```",  # WRONG: localize a file the fix is not in
        "### test_inflection.py\n<<<<<<< SEARCH\nno such text\n=======\nx\n>>>>>>> REPLACE\n",  # WRONG: repair
        "<think>no idea</think> I cannot say which file.",  # MALFORMED: localize
    ]
    run_id = f"test-pipeline-{uuid.uuid4().hex[:6]}"
    runs = tmp_path / "runs"
    with ScriptedServer([(200, chat(a)) for a in answers]) as srv:
        result = CliRunner().invoke(app, ["eval", "run", "--tasks", str(TASKS), "--mode", "pipeline", "--model",
                                          f"openai:served-model@{srv.url}", "--run-id", run_id, "--runs-dir", str(runs),
                                          "-i", RIGHT, "-i", WRONG, "-i", MALFORMED])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    assert "1/3 resolved" in result.stdout
    listing = srv.requests[0]["body"]["messages"][1]["content"]
    assert "inflection/__init__.py" in listing and "setup.py" in listing and "README" not in listing
    repair = srv.requests[1]["body"]["messages"][1]["content"]
    assert "### inflection/__init__.py\n```\n" in repair and "def ordinal(number: int) -> str:" in repair

    run = {t.instance_id: t for t in read_trajectories(runs / run_id / "trajectories")}
    assert run[RIGHT].outcome == "resolved" and run[RIGHT].metadata["localization"]["hit"] is True
    assert [s["stage"] for s in run[RIGHT].metadata["stages"]] == ["localize", "repair"]
    assert run[WRONG].metadata["localization"] | {"hit": False, "files": ["test_inflection.py"]} == run[WRONG].metadata["localization"]
    assert run[WRONG].outcome == "unresolved" and run[WRONG].steps[0].observation.startswith("ERROR")
    assert run[MALFORMED].metadata["exit_status"] == "format_errors" and run[MALFORMED].steps[0].action_error

    assert CliRunner().invoke(app, ["report", str(runs)]).exit_code == 0
    md = (runs / "report" / "report.md").read_text()
    assert f"| openai:served-model@{srv.url} | - | 1/3 (33.3%) | - |" in md and "gold files localized in 1/3" in md
    assert f"| {WRONG} | empty_patch | the patch is empty | miss |" in md


def test_rerank_in_the_task_container_picks_the_patch_its_reproduction_script_passes(tmp_path):
    from swesrl.agent.agentless import PipelineConfig, run_pipeline
    from swesrl.agent.policies import ScriptedPolicy
    from swesrl.eval.environment import ensure_task_image
    from swesrl.eval.tasks import load_tasks
    from swesrl.sandbox.docker_sandbox import DockerSandbox

    task = next(t for t in load_tasks(TASKS) if t.instance_id == RIGHT)
    fix = render_search_replace(patch_to_edits(task.patch))
    wrong = "### inflection/__init__.py\n<<<<<<< SEARCH\n    if number % 100 in (11, 12):\n=======\n    if number % 100 in (11, 12, 14):\n>>>>>>> REPLACE\n"
    repro = "```python\nimport inflection\nassert inflection.ordinalize(13) == '13th', inflection.ordinalize(13)\n```"
    answers = ["```\ninflection/__init__.py\n```", wrong, fix, repro, "```python\nprint('always passes')\n```"]
    run_id = f"test-rerank-{uuid.uuid4().hex[:6]}"
    with DockerSandbox(ensure_task_image(task), run_id=run_id, instance_id=task.instance_id) as sb:
        result = run_pipeline(ScriptedPolicy(answers), sb, task.problem_statement, gold_files=["inflection/__init__.py"],
                              config=PipelineConfig(samples=2))
        status = sb.exec("git status --porcelain", 30).output
    ranking = result.trajectory.metadata["rerank"]
    assert ranking["chosen"] == 1 and ranking["scores"] == [0, 1], ranking
    assert "does not reproduce" in ranking["tests"][1]["error"]
    assert result.patch.count("+    if number % 100 in (11, 12, 13):") == 1 and "14)" not in result.patch
    assert status == " M inflection/__init__.py\n"  # the candidates' runs left nothing behind
