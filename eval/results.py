"""Per-instance results on disk, keyed by what produced them, and the run report (SWE-bench's fields).

Layout: runs/<run_id>/<instance_id>/{model.patch, eval.sh, test_output.txt, run_instance.log, report.json,
result.json} and runs/<run_id>/report.json. report.json is swebench's per-instance shape (swebench_format);
result.json is swesrl's (status, reason, provenance, timings). result.json is written last and atomically
(tmp + os.replace), so its presence means the instance finished; a directory without one is an instance
that died midway and is redone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from swesrl import __version__
from swesrl.util import safe_name, write_atomic

from . import swebench_format as sb
from .grading import EMPTY_PATCH, ERROR, FINAL_STATUSES, PATCH_FAILED, RESOLVED, UNRESOLVED

SCHEMA_VERSION = 2  # swebench's run report schema this report follows
RESULT = "result.json"  # swesrl's per-instance record; report.json beside it is swebench's


@dataclass(frozen=True)
class Provenance:
    """Everything that decides an instance's result. Equal provenance, equal result: reuse it; else redo."""

    task_hash: str
    image: str  # the instance image's spec key, or the prebuilt image's name
    patch_hash: str
    timeouts: dict[str, float]
    seed: int
    grading: str  # "strict": test tampering is unresolved; "swebench": graded as SWE-bench does (results from before: redone)
    swesrl_version: str = __version__
    network: str = "none"  # the evaluation container's Docker network

    def key(self) -> str:
        d = asdict(self)
        if d["network"] == "none":  # the default: keys of results stored before the option existed still match
            del d["network"]
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class InstanceResult:
    instance_id: str
    status: str  # resolved | unresolved | patch_failed | empty_patch | error
    reason: str = ""
    model_name_or_path: str = ""
    provenance: Provenance | None = None
    patch_applied_by: str | None = None  # which apply method worked ("git apply" or the fallback)
    image: str | None = None  # the image tag that ran
    tests_status: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # image_build, container_start, patch_and_tests (one exec), total
    test_tampering: list[str] = field(default_factory=list)  # what the patch changes in test infrastructure
    deviations: list[str] = field(default_factory=list)  # where the image's environment differs from SWE-bench's
    test_output: str = field(default="", repr=False)  # written beside the result, not inside it
    eval_script: str = field(default="", repr=False)  # likewise (eval.sh)

    @property
    def resolved(self) -> bool:
        return self.status == RESOLVED

    @property
    def key(self) -> str | None:
        return self.provenance.key() if self.provenance else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("test_output")
        d.pop("eval_script")
        d["resolved"] = self.resolved
        d["key"] = self.key
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InstanceResult:
        prov = Provenance(**d["provenance"]) if d.get("provenance") else None
        keep = {k: d[k] for k in ("instance_id", "status", "reason", "model_name_or_path", "patch_applied_by", "image", "tests_status", "timings", "test_tampering", "deviations") if k in d}
        return cls(**keep, provenance=prov)


def instance_dir(run_dir: Path, instance_id: str) -> Path:
    """The instance's folder; an id cannot climb out of the run folder."""
    return run_dir / safe_name(instance_id)


def write_result(run_dir: Path, result: InstanceResult, patch: str | None) -> Path:
    """Write patch, script, logs and swebench's report, then swesrl's result last: a result on disk
    means a finished instance."""
    d = instance_dir(run_dir, result.instance_id)
    d.mkdir(parents=True, exist_ok=True)
    write_atomic(d / "model.patch", patch or "")
    if result.eval_script:
        write_atomic(d / sb.EVAL_SCRIPT, result.eval_script)
    write_atomic(d / sb.TEST_OUTPUT, result.test_output)
    write_atomic(d / sb.INSTANCE_LOG, sb.instance_log(result))
    swebench_report = sb.instance_report(result, patch)
    if swebench_report is not None:
        write_atomic(d / sb.REPORT, json.dumps(swebench_report, indent=4) + "\n")
    else:
        (d / sb.REPORT).unlink(missing_ok=True)  # a rerun that now errors must not leave the old report
    write_atomic(d / RESULT, json.dumps(result.to_dict(), indent=2) + "\n")
    return d / RESULT


def read_result(run_dir: Path, instance_id: str) -> InstanceResult | None:
    """The stored result, or None when absent or unreadable (then the instance is simply redone)."""
    path = instance_dir(run_dir, instance_id) / RESULT
    try:
        return InstanceResult.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def reusable(stored: InstanceResult | None, provenance: Provenance) -> bool:
    """Reuse only a final model outcome produced by exactly this task, image, patch and settings."""
    return stored is not None and stored.status in FINAL_STATUSES and stored.key == provenance.key()


def build_report(
    task_ids: list[str],
    submitted_ids: list[str],
    results: dict[str, InstanceResult],
    prediction_errors: Sequence[str] = (),
    run_id: str = "",
    run_dir: Path | None = None,
) -> dict[str, Any]:
    """Every run-report field swebench 5.0.2 writes (schema 2), in its order, plus swesrl's:
    patch_failed_ids, reasons, timings, keys. As in swebench 4.1 and 5.0.2 (their apply step raises,
    so no instance report is written), a patch that fails to apply is an error, not a completed
    instance; empty patches are not completed either. The failure classes are read from the
    instance logs under `run_dir` (none without it)."""
    by_status: dict[str, list[str]] = {s: [] for s in (RESOLVED, UNRESOLVED, PATCH_FAILED, EMPTY_PATCH, ERROR)}
    for iid in sorted(results):
        by_status[results[iid].status].append(iid)
    completed = sorted(by_status[RESOLVED] + by_status[UNRESOLVED])
    unresolved = by_status[UNRESOLVED]
    errors = sorted(by_status[ERROR] + by_status[PATCH_FAILED])
    submitted = sorted(set(submitted_ids))
    failing = sorted(set(unresolved) | set(errors))
    classes = (sb.classify_failures(run_dir, {iid: instance_dir(run_dir, iid) for iid in failing}) if run_dir
               else {"infra_failure_ids": [], "ambiguous_failure_ids": [], "failure_reasons": {}})
    return {
        "total_instances": len(task_ids),
        "submitted_instances": len(submitted),
        "completed_instances": len(completed),
        "resolved_instances": len(by_status[RESOLVED]),
        "unresolved_instances": len(unresolved),
        "infra_failure_instances": len(classes["infra_failure_ids"]),
        "ambiguous_failure_instances": len(classes["ambiguous_failure_ids"]),
        "empty_patch_instances": len(by_status[EMPTY_PATCH]),
        "error_instances": len(errors),
        "completed_ids": completed,
        "incomplete_ids": sorted(set(task_ids) - set(results)),
        "empty_patch_ids": by_status[EMPTY_PATCH],
        "submitted_ids": submitted,
        "resolved_ids": by_status[RESOLVED],
        "unresolved_ids": unresolved,
        **classes,
        "error_ids": errors,
        "schema_version": SCHEMA_VERSION,
        # swesrl extras
        "run_id": run_id,
        "swesrl_version": __version__,
        "patch_failed_ids": by_status[PATCH_FAILED],
        "reasons": {iid: r.reason for iid, r in sorted(results.items()) if r.reason},
        "prediction_errors": list(prediction_errors),
        "timings": {iid: r.timings for iid, r in sorted(results.items())},
        "keys": {iid: r.key for iid, r in sorted(results.items())},
        "test_tampering": {iid: r.test_tampering for iid, r in sorted(results.items()) if r.test_tampering},
    }
