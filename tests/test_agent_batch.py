"""Batches resume without losing or redoing runs; oracle mode turns SEARCH/REPLACE edits into a patch."""

from __future__ import annotations

import json

import pytest

from swesrl.agent.batch import Job, load_run, predictions, run_batch, trajectory_path
from swesrl.agent.loop import AgentConfig, run_agent
from swesrl.agent.oracle import gold_files, oracle_messages, parse_edits, run_oracle
from swesrl.agent.policies import ScriptedPolicy
from swesrl.sandbox.local import LocalSandbox
from swesrl.trajectories import Create, StrReplace, Submit, render_answer, render_xml


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    (d / "calc.py").write_text("def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n")
    return d


def test_batch_records_failures_and_resumes_only_unfinished_runs(src, tmp_path):
    calls: list[str] = []
    broken = {"b"}

    def run_one(job: Job, path):
        calls.append(job.instance_id)
        if job.instance_id in broken:
            raise RuntimeError("image build failed")
        with LocalSandbox(src) as sb:
            edit = StrReplace(f"{sb.root}/calc.py", "def add(a, b):\n    return a - b", "def add(a, b):\n    return a + b")
            policy = ScriptedPolicy([render_answer("fix", render_xml(edit)), render_answer("done", render_xml(Submit()))])
            return run_agent(policy, sb, job.problem_statement, config=AgentConfig(workdir=sb.workdir), out=path,
                             instance_id=job.instance_id)

    jobs = [Job("a", "add subtracts"), Job("b", "add subtracts"), Job("c/with:odd chars", "add subtracts")]
    out = tmp_path / "runs"
    first = {o.instance_id: o for o in run_batch(jobs, run_one, out, workers=2)}
    assert {k: o.exit_status for k, o in first.items()} == {"a": "submitted", "b": "error", "c/with:odd chars": "submitted"}
    assert "image build failed" in first["b"].error
    assert load_run(trajectory_path(out, "b")).metadata["exit_status"] == "error"

    assert [r["instance_id"] for r in predictions(out, [j.instance_id for j in jobs], "m")] == ["a", "c/with:odd chars"]

    broken.clear()
    calls.clear()
    second = {o.instance_id: o for o in run_batch(jobs, run_one, out, workers=2)}
    assert calls == ["b"]
    assert second["a"].skipped and second["c/with:odd chars"].skipped and second["b"].exit_status == "submitted"

    rows = predictions(out, [j.instance_id for j in jobs], "scripted")
    assert [r["instance_id"] for r in rows] == ["a", "b", "c/with:odd chars"]
    assert all("+    return a + b" in r["model_patch"] for r in rows)
    assert sorted(p.name for p in out.iterdir()) == ["a.jsonl", "b.jsonl", "c_with_odd_chars.jsonl"]


GOLD = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
diff --git a/docs/new.md b/docs/new.md
new file mode 100644
--- /dev/null
+++ b/docs/new.md
@@ -0,0 +1 @@
+hello
"""

ORACLE_ANSWER = """<think>
add uses the wrong operator.
</think>
### calc.py
<<<<<<< SEARCH
def add(a, b):
    return a - b
=======
def add(a, b):
    return a + b
>>>>>>> REPLACE

### calc.py
<<<<<<< SEARCH
this text is not in the file
=======
nothing
>>>>>>> REPLACE

### docs/new.md
<<<<<<< SEARCH
=======
hello
>>>>>>> REPLACE
"""


def test_oracle_parsing_and_prompt():
    assert gold_files(GOLD) == ["calc.py", "docs/new.md"]
    thought, edits = parse_edits(ORACLE_ANSWER, "/testbed")
    assert thought == "add uses the wrong operator."
    assert edits == [
        StrReplace("/testbed/calc.py", "def add(a, b):\n    return a - b", "def add(a, b):\n    return a + b"),
        StrReplace("/testbed/calc.py", "this text is not in the file", "nothing"),
        Create("/testbed/docs/new.md", "hello\n"),
    ]
    messages = oracle_messages("add subtracts", {"calc.py": "def add(a, b): ..."})
    assert "SEARCH/REPLACE" in messages[0]["content"]
    assert "<issue>\nadd subtracts\n</issue>" in messages[1]["content"] and "### calc.py\n```\ndef add" in messages[1]["content"]


def test_oracle_run_applies_the_edits_that_match_and_saves_a_trajectory(src, tmp_path):
    with LocalSandbox(src) as sb:
        result = run_oracle(ScriptedPolicy([ORACLE_ANSWER]), sb, "add subtracts", gold_files(GOLD),
                            workdir=sb.workdir, out=tmp_path / "oracle.jsonl", instance_id="calc-1")
    assert result.exit_status == "submitted"
    assert result.trajectory.metadata["exit_message"] == "2 of 3 edits applied"
    assert "+    return a + b" in result.patch and "+hello" in result.patch
    assert "-    return a - b\n+    return a + b\n \n \n def sub" in result.patch  # sub() untouched
    assert result.trajectory.steps[1].observation.startswith("ERROR: no replacement was performed")
    saved = json.loads((tmp_path / "oracle.jsonl").read_text())
    assert saved["metadata"]["mode"] == "oracle" and saved["final_patch"] == result.patch


def test_oracle_answer_without_edits_is_a_format_error(src):
    with LocalSandbox(src) as sb:
        result = run_oracle(ScriptedPolicy(["<think>hmm</think> I would change add."]), sb, "add subtracts", ["calc.py"],
                            workdir=sb.workdir)
    assert result.exit_status == "format_errors" and result.patch == ""
    assert result.trajectory.steps[0].action_error == "no SEARCH/REPLACE edit found"


@pytest.mark.parametrize("mode", ["agent", "oracle", "pipeline"])
def test_a_patch_that_cannot_be_taken_ends_every_mode_as_an_error(src, tmp_path, mode):
    """One classification of how a run ended (agent.loop.recorded_run): a sandbox whose diff fails makes the
    run an `error` (retried on resume), whatever said it finished, and the trajectory is still saved."""
    from swesrl.agent.agentless import PipelineConfig, run_pipeline

    out = tmp_path / f"{mode}.jsonl"
    with LocalSandbox(src) as sb:
        def broken_diff() -> str:
            raise RuntimeError("git diff in the sandbox failed")

        sb.diff = broken_diff  # type: ignore[method-assign]
        if mode == "agent":
            result = run_agent(ScriptedPolicy([render_answer("done", render_xml(Submit()))]), sb, "add subtracts",
                               config=AgentConfig(workdir=sb.workdir), out=out)
        elif mode == "oracle":
            result = run_oracle(ScriptedPolicy([ORACLE_ANSWER]), sb, "add subtracts", gold_files(GOLD), workdir=sb.workdir, out=out)
        else:
            answers = ["<think>the file</think>\n```\ncalc.py\n```", ORACLE_ANSWER]
            result = run_pipeline(ScriptedPolicy(answers), sb, "add subtracts", config=PipelineConfig(workdir=sb.workdir), out=out)
    meta = json.loads(out.read_text())["metadata"]
    assert result.exit_status == "error" == meta["exit_status"], meta
    assert meta["diff_error"] == "RuntimeError: git diff in the sandbox failed"
    assert "the patch could not be taken" in meta["exit_message"] and "the run ended as" in meta["exit_message"]
