"""Grading: a test log and a task in, a status out. Pure functions, no Docker.

The log parsing and the FAIL_TO_PASS / PASS_TO_PASS verdict are swebench's own (`PARSER_REGISTRY`,
`get_logs_eval`, `get_eval_tests_report`, `get_resolution_status`), so a patch graded here gets the
answer the SWE-bench harness would give. What is ours: the split of "the run broke" (status `error`,
never counted against the model) from "the patch is wrong" (`unresolved`), which swebench leaves to an
advisory classifier.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from typing import Any

from .tasks import Task

RESOLVED, UNRESOLVED, PATCH_FAILED, EMPTY_PATCH, ERROR = "resolved", "unresolved", "patch_failed", "empty_patch", "error"
STATUSES = (RESOLVED, UNRESOLVED, PATCH_FAILED, EMPTY_PATCH, ERROR)
# Model outcomes are final; an `error` is the infrastructure's and is retried when a run resumes.
FINAL_STATUSES = (RESOLVED, UNRESOLVED, PATCH_FAILED, EMPTY_PATCH)

# Printed by our eval script when the task's own test patch does not apply: a broken task, not a bad patch.
TEST_PATCH_FAILED = ">>>>> Test Patch Apply Failed"
_EXIT_LINE = re.compile(r"^.*>>>>> Test Exit Code:.*$\n?", re.M)


@dataclass(frozen=True)
class Grade:
    status: str  # resolved | unresolved | error
    reason: str = ""
    tests_status: dict[str, Any] = field(default_factory=dict)  # swebench's {FAIL_TO_PASS: {success, failure}, ...}


def test_spec(task: Task) -> Any:
    """The swebench TestSpec its parsers and grading expect (no image is needed to grade)."""
    from swebench.types import TestSpec

    return TestSpec(
        instance_id=task.instance_id,
        image=task.image or "",
        eval_script_list=[],
        repo=task.repo,
        version=task.version,
        FAIL_TO_PASS=list(task.FAIL_TO_PASS),
        PASS_TO_PASS=list(task.PASS_TO_PASS),
        log_parser=task.log_parser,
        eval_type=task.eval_type,
    )


def parse_log(log: str, task: Task) -> dict[str, str]:
    """Test name -> status (PASSED, FAILED, SKIPPED, ERROR, XFAIL) with the task's swebench parser."""
    from swebench.harness.log_parsers import PARSER_REGISTRY

    if task.log_parser not in PARSER_REGISTRY:
        raise KeyError(f"{task.instance_id}: unknown log parser {task.log_parser!r} (not in swebench's PARSER_REGISTRY)")
    return PARSER_REGISTRY[task.log_parser](log, test_spec(task))


def grade_log(log: str, task: Task, *, timed_out: bool = False, finished: bool | None = None,
              test_status: int | None = None) -> Grade:
    """Grade the output of a task's eval script. A test missing from the log counts as failed.

    `finished` and `test_status` come from outside the log (eval/instance_run.py): whether the runner
    saw the eval script end, and the test command's exit status. With them, nothing the tested code
    prints can turn its run into an infrastructure error or forge the exit status: a marker counts
    only where it stands before the tests start, and every exit-status line in the log is replaced by
    the real one. Without them (`finished=None`: a bare log), the log is trusted as swebench trusts it.
    """
    from swebench.harness.constants import (
        END_TEST_OUTPUT,
        START_TEST_OUTPUT,
        EvalType,
        ResolvedStatus,
    )
    from swebench.harness.grading import get_eval_tests_report, get_logs_eval, get_resolution_status
    from swebench.harness.infra_failure import TIER_ENVIRONMENT, classify_text
    from swebench.harness.log_parsers import PARSER_REGISTRY

    oob = finished is not None
    start = log.find(START_TEST_OUTPUT)
    before_tests = log if start < 0 else log[:start]
    if oob:
        if TEST_PATCH_FAILED in before_tests:
            return Grade(ERROR, "the task's test patch did not apply")
        if start < 0:
            return Grade(ERROR, "the eval script did not reach the tests" + (" (timed out)" if timed_out else ""))
        if timed_out:
            return Grade(UNRESOLVED, "tests timed out")
        if not finished:
            return Grade(UNRESOLVED, "the test run did not end normally: the tested code stopped it (or the container)")
        log = _EXIT_LINE.sub("", log)
        if test_status is not None:
            log += f"\n>>>>> Test Exit Code: {test_status}\n"
    elif timed_out:
        return Grade(ERROR, "tests timed out")
    elif TEST_PATCH_FAILED in log:
        return Grade(ERROR, "the task's test patch did not apply")
    if START_TEST_OUTPUT not in log or END_TEST_OUTPUT not in log:
        if oob:
            return Grade(UNRESOLVED, "the tests ended without their end marker (the tested code stopped them)")
        return Grade(ERROR, "test output markers missing: the eval script did not run to the end")
    if task.log_parser not in PARSER_REGISTRY:
        return Grade(ERROR, f"unknown log parser {task.log_parser!r} (not in swebench's PARSER_REGISTRY)")
    # get_logs_eval reads a file; it holds swebench's checks (markers, exit code versus parsed results).
    fd, path = tempfile.mkstemp(prefix="swesrl-log-", suffix=".txt")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(log)
        status_map, found = get_logs_eval(test_spec(task), path)
    finally:
        os.unlink(path)
    if not found:
        hint = classify_text(log)
        if hint and hint[1] == TIER_ENVIRONMENT and not oob:  # with the runner's word, the text may be the model's
            return Grade(ERROR, f"the environment broke ({hint[0]})")
        detail = f" ({hint[0]})" if hint else ""
        return Grade(UNRESOLVED, f"no test results in the log{detail}")
    gold = {"FAIL_TO_PASS": list(task.FAIL_TO_PASS), "PASS_TO_PASS": list(task.PASS_TO_PASS)}
    report = get_eval_tests_report(status_map, gold, eval_type=EvalType(task.eval_type))
    tests_status = {k: report[k] for k in ("FAIL_TO_PASS", "PASS_TO_PASS", "FAIL_TO_FAIL", "PASS_TO_FAIL") if k in report}
    if get_resolution_status(report) == ResolvedStatus.FULL.value:
        return Grade(RESOLVED, "", tests_status)
    f2p, p2p = tests_status["FAIL_TO_PASS"]["failure"], tests_status["PASS_TO_PASS"]["failure"]
    reason = f"{len(f2p)}/{len(task.FAIL_TO_PASS)} FAIL_TO_PASS and {len(p2p)}/{len(task.PASS_TO_PASS)} PASS_TO_PASS tests fail"
    return Grade(UNRESOLVED, reason, tests_status)
