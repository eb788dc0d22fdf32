"""SWE-bench's own file shapes for an evaluation, so its tools read swesrl's outputs.

Per instance, beside swesrl's `result.json`: `report.json` in swebench's shape, `eval.sh` and the
instance log `run_instance.log` (swebench's file names). The report is written for every instance the
tests ran on. As in swebench 4.1 and 5.0.2, whose harness raises when the patch does not apply and
writes no report, a patch that does not apply gets none: a missing report means an error, in
swebench's run report and in swesrl's, so over swesrl's folders both count it the same way.

The run report's failure classification (infra_failure_ids, ambiguous_failure_ids, failure_reasons) is
swebench's classifier over the same two logs, so the same folders give the same lists.
`link_swebench_layout` lays a run out as logs/run_evaluation/<run_id>/<model>/<instance_id>.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .grading import RESOLVED, UNRESOLVED

if TYPE_CHECKING:
    from .results import InstanceResult

REPORT, TEST_OUTPUT, INSTANCE_LOG, EVAL_SCRIPT = "report.json", "test_output.txt", "run_instance.log", "eval.sh"
TEST_KEYS = ("FAIL_TO_PASS", "PASS_TO_PASS", "FAIL_TO_FAIL", "PASS_TO_FAIL")
_RAN = (RESOLVED, UNRESOLVED)


def instance_report(result: InstanceResult, patch: str | None) -> dict[str, Any] | None:
    """swebench's per-instance report, or None where swebench writes none (empty patch, a patch that
    does not apply, error)."""
    if result.status not in _RAN:
        return None
    tests = {k: {"success": list(v.get("success", [])), "failure": list(v.get("failure", []))}
             for k in TEST_KEYS for v in [result.tests_status.get(k) or {}]}
    report: dict[str, Any] = {
        "patch_is_None": patch is None,
        "patch_exists": bool(patch),
        "patch_successfully_applied": True,
        "resolved": result.status == RESOLVED,
        "tests_status": tests,
    }
    if result.deviations:  # swesrl's own key, only where the environment differs from SWE-bench's
        report["environment_deviations"] = list(result.deviations)
    return {result.instance_id: report}


def instance_log(result: InstanceResult) -> str:
    """What happened to the instance, one line per fact (the log swebench keeps as run_instance.log)."""
    lines = [f"instance: {result.instance_id}", f"model: {result.model_name_or_path}", f"status: {result.status}"]
    if result.image:
        lines.append(f"image: {result.image}")
    if result.patch_applied_by:
        lines.append(f"patch applied by: {result.patch_applied_by}")
    lines += [f"{phase} seconds: {sec}" for phase, sec in result.timings.items()]
    if result.reason:
        lines.append(f"reason: {result.reason}")
    return "\n".join(lines) + "\n"


def classify_failures(run_dir: Path, instance_dirs: dict[str, Path]) -> dict[str, Any]:
    """swebench's advisory failure classes for the given (unresolved or error) instances, read from
    their test output and instance log exactly as swebench's make_run_report reads them."""
    from swebench.harness.infra_failure import TIER_ENVIRONMENT, classify_logs

    infra: list[str] = []
    ambiguous: list[str] = []
    reasons: dict[str, str] = {}
    for iid, d in sorted(instance_dirs.items()):
        found = classify_logs(d / TEST_OUTPUT, d / INSTANCE_LOG)
        if found:
            reasons[iid] = found[0]
            (infra if found[1] == TIER_ENVIRONMENT else ambiguous).append(iid)
    return {"infra_failure_ids": infra, "ambiguous_failure_ids": ambiguous, "failure_reasons": reasons}


def model_dir_name(model_name_or_path: str) -> str:
    """swebench's folder name for a model."""
    return model_name_or_path.replace("/", "__")


def link_swebench_layout(run_dir: Path, results: dict[str, InstanceResult], logs_dir: Path) -> Path:
    """Symlink each instance folder as LOGS_DIR/<run_id>/<model>/<instance_id> (swebench's layout, which
    its make_run_report reads); returns LOGS_DIR/<run_id>."""
    from .results import instance_dir

    root = logs_dir / run_dir.name
    for iid, r in sorted(results.items()):
        link = root / model_dir_name(r.model_name_or_path) / iid
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(instance_dir(run_dir, iid).resolve(), target_is_directory=True)
    return root


def link_run(run_dir: Path, logs_dir: Path) -> Path:
    """`link_swebench_layout` for a run folder on disk: every finished instance (one with a result)."""
    from .results import RESULT, read_result

    results = {}
    for path in sorted(run_dir.glob(f"*/{RESULT}")):
        r = read_result(run_dir, path.parent.name)
        if r is not None:
            results[r.instance_id] = r
    return link_swebench_layout(run_dir, results, logs_dir)
