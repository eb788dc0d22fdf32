"""The eval script run in the container after the model patch: apply the test patch, run the tests
between swebench's output markers, and record the test command's exit status for grading.

SWE-bench's dataset rows carry no test command, and swebench 5 dropped the per-repo specs that held
them, so for a task that names none the script is built the way SWE-bench 4.1.0's harness built it
(the facts are kept as data in `eval/data/environments.json`, `test_cmds`; the code here is ours):

- the test command per repo, and per version where it varied, plus the commands run before it
  (`eval_commands`: django's locale): `MAP_REPO_VERSION_TO_SPECS_PY` in harness/constants/python.py;
- the tests run are the files the test patch touches, data files dropped, django's as dotted module
  names without `tests/` and `.py`: `get_test_directives` in harness/test_spec/python.py;
- in SWE-bench's prebuilt images the conda env `testbed` is activated first and the test files are
  reset to the base commit before the test patch: `make_eval_script_list_py`, same file.

The prebuilt image is recognised at run time by its conda install, so one script serves both kinds:
swesrl-built images have their venv on PATH already and get none of those steps. SWE-bench also
re-ran the repo's install command before the tests; that is kept only where the image installed the
repo non-editable with `python setup.py install` (django and matplotlib <= 2.2), whose tests would otherwise import
the unpatched copy. The pip installs are left out: they need the network our eval containers lack,
and an editable install imports the edit anyway (a change to compiled code is not rebuilt, though).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from .grading import TEST_PATCH_FAILED
from .tasks import Task, known_environments

# swebench's own heredoc delimiter: a patch that contains it would end the heredoc early.
HEREDOC = "EOF_114329324912"
_DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.M)
# swebench's NON_TEST_EXTS: files a test patch touches that are data, not tests to run.
_NON_TEST_EXTS = (".json", ".png", "csv", ".txt", ".md", ".jpg", ".jpeg", ".pkl", ".yml", ".yaml", ".toml")
# Where SWE-bench's prebuilt images keep conda; its env `testbed` holds the repo's dependencies.
_CONDA_ACTIVATE = "/opt/miniconda3/bin/activate"


def test_files(test_patch: str) -> list[str]:
    """Paths the test patch touches, in order, once each."""
    seen: dict[str, None] = {}
    for _, b in _DIFF_HEADER.findall(test_patch):
        seen.setdefault(b)
    return list(seen)


def _reset_paths(test_patch: str) -> list[str]:
    """Both sides of every file the test patch touches: a rename's old path must be pristine too."""
    return list(dict.fromkeys(p for pair in _DIFF_HEADER.findall(test_patch) for p in pair))


def test_directives(test_patch: str, repo: str = "") -> list[str]:
    """What the test command is given: the test files (data files dropped, as swebench does); for
    django's runtests.py, module names (`tests/a/b.py` -> `a.b`)."""
    files = [p for p in test_files(test_patch) if not p.endswith(_NON_TEST_EXTS)]
    if repo != "django/django":
        return files
    return [p.removesuffix(".py").removeprefix("tests/").replace("/", ".") for p in files]


def _swebench_spec(task: Task) -> dict[str, Any]:
    """The repo's SWE-bench 4 test spec, with its version's overrides; empty for a repo it did not cover."""
    entry = known_environments().get("test_cmds", {}).get(task.repo)
    if entry is None:
        return {}
    return {"test_cmd": entry["test_cmd"], **entry.get("versions", {}).get(task.version, {})}


def test_command(task: Task) -> str:
    """The task's own test command, else the one SWE-bench used for its repo and version."""
    cmd = task.test_cmd or _swebench_spec(task).get("test_cmd")
    if not cmd:
        raise ValueError(
            f"{task.instance_id}: no eval_script and no test_cmd, and {task.repo} is not among the SWE-bench repos "
            "in eval/data/environments.json 'test_cmds': give the task a test_cmd or an eval_script"
        )
    return cmd


def eval_script(task: Task, workdir: str = "/testbed") -> str:
    """The task's own eval script (swebench 5 instances carry one) or one built from the test command
    and the test patch."""
    from swebench.harness.utils import parse_eval_script, record_test_exit_code

    if task.eval_script:
        lines = record_test_exit_code(parse_eval_script(task.eval_script))
        return "\n".join(["#!/bin/bash", "set -uxo pipefail", *lines]) + "\n"
    cmd = test_command(task)
    if HEREDOC in task.test_patch:
        raise ValueError(f"{task.instance_id}: the test patch contains the heredoc delimiter {HEREDOC}")
    files = _reset_paths(task.test_patch)
    quoted = " ".join(shlex.quote(f) for f in files)
    test_patch = task.test_patch if task.test_patch.endswith("\n") else task.test_patch + "\n"
    spec = _swebench_spec(task)
    prebuilt_only = ["source " + _CONDA_ACTIVATE, "conda activate testbed", *spec.get("eval_commands", [])]
    prebuilt_only += [spec["install"]] if "install" in spec else []
    lines = [
        f"cd {shlex.quote(workdir)}",
        f"if [ -f {_CONDA_ACTIVATE} ]; then",
        *(f"  {c}" for c in prebuilt_only),
        "fi",
    ]
    if files:
        # The model may have edited the test files: back to the base commit (HEAD where an image's history
        # lacks it; a file the test patch creates is removed) before the test patch.
        base = shlex.quote(task.base_commit)
        lines += [
            f"for f in {quoted}; do git checkout -q {base} -- \"$f\" 2>/dev/null || git checkout -q HEAD -- \"$f\" 2>/dev/null"
            " || rm -f -- \"$f\"; done",
            f"git apply -v - <<'{HEREDOC}'\n{test_patch}{HEREDOC}",
            f"if [ $? -ne 0 ]; then echo '{TEST_PATCH_FAILED}'; exit 3; fi",
        ]
    directives = " ".join(shlex.quote(f) for f in test_directives(task.test_patch, task.repo))
    lines += [
        ": '>>>>> Start Test Output'",
        f"{cmd} {directives}".rstrip(),
        ": '>>>>> End Test Output'",
    ]
    return "\n".join(["#!/bin/bash", "set -uxo pipefail", *record_test_exit_code(lines)]) + "\n"
