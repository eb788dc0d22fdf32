"""Patch evaluation without Docker: predictions, patch checks, reports, resume keying, the run lock and the
CLI's argument errors (test_evaluate_docker.py runs the real instances)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.errors import RunLocked
from swesrl.eval.predictions import load_predictions, patch_problem
from swesrl.eval.results import (
    InstanceResult,
    Provenance,
    build_report,
    read_result,
    reusable,
    write_result,
)
from swesrl.eval.tasks import load_tasks

MM, PD = "marshmallow-code__marshmallow-1359", "pydicom__pydicom-1413"
# A well-formed diff that fixes nothing: a new file the tests never read.
NOOP_PATCH = "diff --git a/NOTES.txt b/NOTES.txt\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.txt\n@@ -0,0 +1 @@\n+nothing fixed here\n"
# Context that matches no file: neither git apply nor patch --fuzz can place it.
STALE_PATCH = "diff --git a/setup.py b/setup.py\n--- a/setup.py\n+++ b/setup.py\n@@ -1,2 +1,2 @@\n-this line is not there\n-nor this one\n+x\n+y\n"


# ---- pure -------------------------------------------------------------------------------------


def test_openhands_predictions_load(swebench_data):
    preds, errors = load_predictions(swebench_data / "predictions-example-openhands.json")
    assert len(preds) == 30 and errors == []
    assert all(p.model_name_or_path for p in preds)
    # four of them are empty: recorded as such, never sent to a container
    assert sum(patch_problem(p.model_patch) == ("empty_patch", "the patch is empty") for p in preds) == 4


def test_malformed_prediction_lines_are_named_and_the_rest_load(tmp_path):
    path = tmp_path / "preds.jsonl"
    path.write_text("\n".join([
        json.dumps({"instance_id": "a", "model_name_or_path": "m", "model_patch": NOOP_PATCH}),
        "{oops",
        json.dumps({"model_patch": NOOP_PATCH}),
        json.dumps({"instance_id": "b", "model_name_or_path": "m", "model_patch": 42}),
        json.dumps({"instance_id": "a", "model_name_or_path": "m", "model_patch": ""}),
    ]) + "\n")
    preds, errors = load_predictions(path)
    by_id = {p.instance_id: p for p in preds}
    assert set(by_id) == {"a", "b"}
    assert by_id["a"].model_patch == ""  # the later line wins, and the replacement is reported
    assert by_id["b"].invalid == "field 'model_patch' is a int, expected a string"
    assert [str(e) for e in errors] == [
        f"{path}, line 2: invalid JSON (Expecting property name enclosed in double quotes)",
        f"{path}, line 3: field 'instance_id' is missing or not a string",
        f"{path}, line 5: duplicate instance_id: replaces {path}, line 1",
    ]


@pytest.mark.parametrize(
    ("patch", "status", "words"),
    [
        (None, "empty_patch", "empty"),
        ("  \n", "empty_patch", "empty"),
        ("I could not fix this issue.", "patch_failed", "no file headers"),
        ("diff --git a/x.png b/x.png\nindex 1..2 100644\nBinary files a/x.png and b/x.png differ\n", "patch_failed", "without its data"),
        ("a\x00b", "patch_failed", "binary"),
        ("--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "patch_failed", "outside the repository"),
        ("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "patch_failed", "outside the repository"),
        ("--- a/.git/config\n+++ b/.git/config\n@@ -1 +1 @@\n-a\n+b\n", "patch_failed", "outside the repository"),
    ],
)
def test_patches_that_cannot_be_evaluated(patch, status, words):
    got = patch_problem(patch)
    assert got is not None and got[0] == status and words in got[1]


def test_one_bad_line_is_named_and_the_batch_goes_on(tmp_path):
    """A lone surrogate (JSON allows the escape), a byte that is not UTF-8, a line nested past the
    recursion limit: each is that line's error; the other predictions and tasks still load."""
    good = json.dumps({"instance_id": "a", "model_name_or_path": "m", "model_patch": NOOP_PATCH})
    lone = '{"instance_id": "b", "model_name_or_path": "m", "model_patch": "diff \\ud800 x"}'
    path = tmp_path / "preds.jsonl"
    path.write_bytes(b"\n".join([good.encode(), lone.encode(), b'{"instance_id": "c\xff"}', b"[" * 100_000, b""]))
    preds, errors = load_predictions(path)
    by_id = {p.instance_id: p for p in preds}
    assert by_id["a"].model_patch == NOOP_PATCH and by_id["b"].invalid.startswith("field 'model_patch' is not valid text: a lone surrogate")
    assert [str(e) for e in errors] == [f"{path}, line 3: not UTF-8 (byte 0xff at column 19)",
                                        f"{path}, line 4: invalid JSON (nested too deeply)"]
    tasks_file = tmp_path / "tasks.jsonl"
    task = json.loads((Path(__file__).parents[1] / "examples" / "tasks" / "tasks.jsonl").read_text().splitlines()[0])
    tasks_file.write_bytes(b"\n".join([b'{"instance_id": "x\xfe"}', b"[" * 100_000, json.dumps(task).encode(), b""]))
    problems: list = []
    assert [t.instance_id for t in load_tasks(tasks_file, errors=problems)] == [task["instance_id"]]
    assert ["not UTF-8" in str(e) for e in problems] == [True, False] and "nested too deeply" in str(problems[1])


def test_crlf_and_sloppy_hunks_are_left_to_git_apply(swebench_data):
    assert patch_problem(NOOP_PATCH) is None
    assert patch_problem(NOOP_PATCH.replace("\n", "\r\n")) is None
    # a real prediction whose last hunk is shorter than its header says: unidiff rejects it, git may not
    preds = {p.instance_id: p for p in load_predictions(swebench_data / "predictions-example-openhands.json")[0]}
    assert patch_problem(preds["sympy__sympy-20590"].model_patch) is None


def _result(iid: str, status: str, prov: Provenance | None = None) -> InstanceResult:
    return InstanceResult(iid, status, "why" if status != "resolved" else "", "m", prov, timings={"total": 1.0})


def test_report_has_swebench_fields_and_keeps_errors_apart():
    results = {r.instance_id: r for r in [_result("a", "resolved"), _result("b", "unresolved"), _result("c", "patch_failed"),
                                          _result("d", "empty_patch"), _result("e", "error")]}
    rep = build_report(["a", "b", "c", "d", "e", "f"], ["a", "b", "c", "d", "e"], results, ["preds.jsonl, line 9: bad"], "r1")
    for k in ("total_instances", "submitted_instances", "completed_instances", "resolved_instances", "unresolved_instances",
              "empty_patch_instances", "error_instances", "completed_ids", "incomplete_ids", "empty_patch_ids", "submitted_ids",
              "resolved_ids", "unresolved_ids", "error_ids", "schema_version"):
        assert k in rep
    assert (rep["total_instances"], rep["submitted_instances"], rep["completed_instances"]) == (6, 5, 2)
    # a patch that does not apply is an error in swebench 4.1 and 5.0.2, not a completed unresolved instance
    assert rep["resolved_ids"] == ["a"] and rep["unresolved_ids"] == ["b"] and rep["patch_failed_ids"] == ["c"]
    assert rep["empty_patch_ids"] == ["d"] and rep["error_ids"] == ["c", "e"] and rep["incomplete_ids"] == ["f"]
    assert rep["reasons"]["e"] == "why" and rep["prediction_errors"] == ["preds.jsonl, line 9: bad"]
    assert rep["timings"]["a"] == {"total": 1.0}


def test_resume_reuses_only_a_final_result_with_the_same_key(tmp_path):
    prov = Provenance("task1", "img1", "patch1", {"start": 1.0, "command": 2.0, "instance": 3.0}, 0, "strict")
    write_result(tmp_path, _result("x__y-1", "unresolved", prov), NOOP_PATCH)
    stored = read_result(tmp_path, "x__y-1")
    assert stored is not None and stored.key == prov.key() and stored.provenance == prov
    assert reusable(stored, prov)
    assert not reusable(stored, replace(prov, patch_hash="patch2"))  # a changed patch is re-evaluated
    assert not reusable(stored, replace(prov, task_hash="task2"))
    assert not reusable(stored, replace(prov, timeouts={"start": 1.0, "command": 2.0, "instance": 9.0}))
    assert not reusable(stored, replace(prov, swesrl_version="0.0.0"))
    write_result(tmp_path, _result("x__y-1", "error", prov), NOOP_PATCH)
    assert not reusable(read_result(tmp_path, "x__y-1"), prov)  # infrastructure errors are retried
    (tmp_path / "x__y-1" / "result.json").write_text('{"instance_id": "x__y-1", "sta')  # torn write
    assert read_result(tmp_path, "x__y-1") is None


def test_network_is_opt_in_and_reaches_the_container_and_deviations_reach_the_report(swebench_data, tmp_path, monkeypatch):
    """Nothing is sent anywhere: the container is never started, only its settings are looked at."""
    from swesrl.eval import one_instance as evaluate
    from swesrl.eval.evaluate import EvalOptions
    from swesrl.eval.swebench_format import instance_report

    task = next(t for t in load_tasks(swebench_data / "instances.jsonl") if t.instance_id == MM)
    asked: list[dict] = []

    def no_container(kind, image, **kw):
        asked.append(kw)
        raise RuntimeError("not started")

    monkeypatch.setattr(evaluate, "ensure_task_image", lambda task, **kw: "swesrl/instance:x")
    monkeypatch.setattr(evaluate, "image_deviations", lambda image: ["numpy==1.19.2 -> numpy==1.19.3 (no wheel for Python 3.9)"])
    monkeypatch.setattr(evaluate, "open_sandbox", no_container)
    default = evaluate.evaluate_patch(task, task.patch)
    online = evaluate.evaluate_patch(task, task.patch, options=EvalOptions(network="bridge"))
    assert [kw["network"] for kw in asked] == ["none", "bridge"]
    assert asked[0]["limits"].cpus == 1.0  # marshmallow: SWE-bench's default
    evaluate.evaluate_patch(replace(task, repo="pylint-dev/pylint", version="2.15"), task.patch)
    assert asked[-1]["limits"].cpus == 2.0  # its spec's nano_cpus: pylint's needs_two_cores tests run
    assert default.deviations == ["numpy==1.19.2 -> numpy==1.19.3 (no wheel for Python 3.9)"]
    assert default.key != online.key  # a result from a networked run is not reused for an offline one
    with pytest.raises(ValueError, match="network must be one of none, bridge"):
        EvalOptions(network="host")
    res = CliRunner().invoke(app, ["eval", "validate", "--tasks", str(swebench_data / "instances.jsonl"), "--network", "host"])
    assert res.exit_code == 2 and "network must be one of" in res.output
    graded = replace(default, status="resolved", tests_status={"FAIL_TO_PASS": {"success": ["t"], "failure": []}})
    assert instance_report(graded, task.patch)[MM]["environment_deviations"] == default.deviations
    assert "environment_deviations" not in instance_report(replace(graded, deviations=[]), task.patch)[MM]
    write_result(tmp_path, graded, task.patch)
    assert read_result(tmp_path, MM).deviations == default.deviations


def test_instance_ids_cannot_escape_the_run_folder(tmp_path):
    write_result(tmp_path, _result("../../evil", "resolved"), "")
    assert [p.name for p in tmp_path.iterdir()] == ["_.._evil"]


def test_one_process_per_run_id_on_the_machine_whatever_its_runs_folder(tmp_path, swebench_data):
    from swesrl.eval.evaluate import evaluate_predictions

    run = f"t-lock-{os.getpid()}"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom swesrl.sandbox.ownership import run_lock\n"
                               f"with run_lock({run!r}):\n    print('held', flush=True)\n    time.sleep(60)\n"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(RunLocked, match="in use by another process"):
            evaluate_predictions(load_tasks(swebench_data / "instances.jsonl"), [], run, runs_dir=tmp_path / "elsewhere")
    finally:
        holder.kill()
        holder.wait()


def test_cli_help_has_examples_and_bad_tasks_exit_1(tmp_path):
    runner = CliRunner()
    for cmd in ("patches", "validate"):
        res = runner.invoke(app, ["eval", cmd, "--help"])
        assert res.exit_code == 0 and "Example: swesrl eval" in res.output
    (tmp_path / "tasks.jsonl").write_text("{bad\n")
    (tmp_path / "p.jsonl").write_text("")
    res = runner.invoke(app, ["eval", "patches", "--tasks", str(tmp_path / "tasks.jsonl"), "--predictions",
                              str(tmp_path / "p.jsonl"), "--run-id", "x", "--runs-dir", str(tmp_path)])
    assert res.exit_code == 1
    assert "line 1" in res.output and "no usable tasks" in res.output
