"""swesrl's evaluation folders read by swebench 5.0.2's own make_run_report give swesrl's counts."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.eval.results import InstanceResult, build_report, write_result

pytest.importorskip("swebench")

PATCH = "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
F2P = {"FAIL_TO_PASS": {"success": ["t1"], "failure": []}, "PASS_TO_PASS": {"success": ["t2"], "failure": []}}


def _outcomes() -> dict[str, tuple[InstanceResult, str | None, str]]:
    """One instance per outcome, with the log each would leave (an OOM-killed run, a collection failure)."""
    def r(iid, status, reason="", tests=None):
        return InstanceResult(iid, status, reason, "org/model-7b", tests_status=tests or {}, timings={"total": 1.0})
    return {
        "a__a-1": (r("a__a-1", "resolved", tests=F2P), PATCH, "PASSED t1\nPASSED t2\n"),
        "a__a-2": (r("a__a-2", "unresolved", "1/1 FAIL_TO_PASS fail",
                     {"FAIL_TO_PASS": {"success": [], "failure": ["t1"]}}), PATCH, "collected 0 items\nno tests ran\n"),
        "a__a-3": (r("a__a-3", "patch_failed", "the patch does not apply"), PATCH, ""),
        "a__a-4": (r("a__a-4", "empty_patch", "the patch is empty"), "", ""),
        "a__a-5": (r("a__a-5", "error", "sandbox: APIError: Error response from daemon: no such container"), PATCH, ""),
        "a__a-6": (r("a__a-6", "error", "tests timed out"), PATCH, "Killed\n"),
    }


def test_make_run_report_over_swesrl_folders_agrees(tmp_path, monkeypatch):
    from swebench.harness import reporting

    run_dir = tmp_path / "runs" / "try1"
    outcomes = _outcomes()
    for result, patch, log in outcomes.values():
        result.test_output = log
        write_result(run_dir, result, patch)
    results = {iid: o[0] for iid, o in outcomes.items()}
    task_ids = [*outcomes, "a__a-7"]  # a task without a prediction
    ours = build_report(task_ids, list(outcomes), results, run_id="try1", run_dir=run_dir)

    resolved = json.loads((run_dir / "a__a-1" / "report.json").read_text())
    assert resolved["a__a-1"]["resolved"] is True and resolved["a__a-1"]["tests_status"]["FAIL_TO_FAIL"] == {"success": [], "failure": []}
    assert not (run_dir / "a__a-3" / "report.json").exists()  # the patch did not apply: an error, as in swebench
    assert not (run_dir / "a__a-5" / "report.json").exists()
    assert "status: error" in (run_dir / "a__a-5" / "run_instance.log").read_text()

    logs = tmp_path / "logs" / "run_evaluation"
    res = CliRunner().invoke(app, ["eval", "swebench-logs", str(run_dir), "--logs-dir", str(logs)])
    assert res.exit_code == 0, res.output
    monkeypatch.setattr(reporting, "RUN_EVALUATION_LOG_DIR", logs)
    predictions = {iid: {"instance_id": iid, "model_name_or_path": "org/model-7b", "model_patch": o[1]} for iid, o in outcomes.items()}
    path = reporting.make_run_report(predictions, [{"instance_id": i} for i in task_ids], "try1", report_dir=str(tmp_path / "sb"))
    theirs = json.loads(path.read_text())

    assert set(theirs) <= set(ours)  # every key swebench writes
    assert {k: ours[k] for k in theirs} == theirs
    assert ours["resolved_ids"] == ["a__a-1"] and ours["error_ids"] == ["a__a-3", "a__a-5", "a__a-6"]
    assert ours["infra_failure_ids"] == ["a__a-5", "a__a-6"] and ours["ambiguous_failure_ids"] == ["a__a-2"]
    assert ours["incomplete_ids"] == ["a__a-7"]
