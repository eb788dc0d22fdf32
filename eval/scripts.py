"""The eval script run in the container after the model patch: apply the test patch, run the tests
between swebench's output markers, and record the test command's exit status for grading."""

from __future__ import annotations

import re
import shlex

from .grading import TEST_PATCH_FAILED
from .tasks import Task

# swebench's own heredoc delimiter: a patch that contains it would end the heredoc early.
HEREDOC = "EOF_114329324912"
_DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.M)
# swebench's NON_TEST_EXTS: files a test patch touches that are data, not tests to run.
_NON_TEST_EXTS = (".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml")


def test_files(test_patch: str) -> list[str]:
    """Paths the test patch touches, in order, once each."""
    seen: dict[str, None] = {}
    for _, b in _DIFF_HEADER.findall(test_patch):
        seen.setdefault(b)
    return list(seen)


def test_directives(test_patch: str) -> list[str]:
    """The test files to hand to the test command (data files dropped, as swebench does)."""
    return [p for p in test_files(test_patch) if not p.endswith(_NON_TEST_EXTS)]


def eval_script(task: Task, workdir: str = "/testbed") -> str:
    """The task's own eval script (swebench 5 instances carry one) or one built from test_cmd + test_patch."""
    from swebench.harness.utils import parse_eval_script, record_test_exit_code

    if task.eval_script:
        lines = record_test_exit_code(parse_eval_script(task.eval_script))
        return "\n".join(["#!/bin/bash", "set -uxo pipefail", *lines]) + "\n"
    if not task.test_cmd:
        raise ValueError(f"{task.instance_id}: no eval_script and no test_cmd")
    if HEREDOC in task.test_patch:
        raise ValueError(f"{task.instance_id}: the test patch contains the heredoc delimiter {HEREDOC}")
    files = test_files(task.test_patch)
    quoted = " ".join(shlex.quote(f) for f in files)
    test_patch = task.test_patch if task.test_patch.endswith("\n") else task.test_patch + "\n"
    lines = [f"cd {shlex.quote(workdir)}"]
    if files:
        # The model may have edited the test files: put them back (or remove new ones) before the test patch.
        lines += [
            f"for f in {quoted}; do git checkout -q HEAD -- \"$f\" 2>/dev/null || rm -f -- \"$f\"; done",
            f"git apply -v - <<'{HEREDOC}'\n{test_patch}{HEREDOC}",
            f"if [ $? -ne 0 ]; then echo '{TEST_PATCH_FAILED}'; exit 3; fi",
        ]
    directives = " ".join(shlex.quote(f) for f in test_directives(task.test_patch))
    lines += [
        ": '>>>>> Start Test Output'",
        f"{task.test_cmd} {directives}".rstrip(),
        ": '>>>>> End Test Output'",
    ]
    return "\n".join(["#!/bin/bash", "set -uxo pipefail", *record_test_exit_code(lines)]) + "\n"
