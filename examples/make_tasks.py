"""Regenerate examples/tasks/tasks.jsonl: the bundled SWE-bench-format tasks.

Each task is a pinned PyPI sdist (source and tests from the registry), a small bug put into it
(``repo_source.patch``, applied before the base commit is made), an issue written as a user would
report it, the fix (``patch``) and a test change (``test_patch``). Every patch is made here by
editing real files and asking git for the diff, so the patches always apply; FAIL_TO_PASS and
PASS_TO_PASS are measured, not written by hand: the test command runs on the buggy tree with the
test patch, then again with the fix, in a plain venv, and swebench's own pytest log parser reads
both logs.

    python examples/make_tasks.py            # needs network to PyPI once (sdists + pytest)

Only tests whose reported name equals their pytest node id are kept (pytest's summary cuts a
parametrized name at its first space, which would make the name unmatchable).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from task_specs import (  # beside this script (python examples/make_tasks.py)
    INSTALL,
    SPECS,
    Edit,
    Spec,
)

from swesrl.sandbox.images import RepoSource, prepare_repo

HERE = Path(__file__).resolve().parent
OUT = HERE / "tasks" / "tasks.jsonl"
VENVS = Path(tempfile.gettempdir()) / "swesrl-task-venvs"  # one per package set, reused between runs

def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    return proc.stdout


def git(tree: Path, *args: str) -> str:
    return run(["git", "-c", "safe.directory=*", "-c", "user.name=swesrl", "-c", "user.email=swesrl@localhost", *args],
               cwd=tree)


def apply_edits(tree: Path, edits: list[Edit], what: str) -> None:
    for path, old, new in edits:
        f = tree / path
        text = f.read_text()
        if text.count(old) != 1:
            raise RuntimeError(f"{what}: {path}: expected the old text once, found {text.count(old)}: {old[:60]!r}")
        f.write_text(text.replace(old, new))


def diff(tree: Path) -> str:
    out = git(tree, "diff", "--no-color", "--no-ext-diff")
    if not out.strip():
        raise RuntimeError(f"{tree}: empty diff")
    return out


def venv(packages: list[str], root: Path) -> Path:
    python = root / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(root)])
        run([str(python), "-m", "pip", "install", "-q", *packages])
    return python


def test_log(python: Path, tree: Path, test_cmd: str, test_files: list[str]) -> str:
    bin_dir = str(python.parent)
    cmd = f"{test_cmd} {' '.join(test_files)}".replace("pytest ", f"{python} -m pytest -p no:cacheprovider ", 1)
    return run(["bash", "-c", cmd], cwd=tree, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"}, check=False)


def statuses(log: str) -> dict[str, str]:
    from swebench.harness.log_parsers import PARSER_REGISTRY

    return PARSER_REGISTRY["parse_log_pytest"](log, None)


def node_ids(python: Path, tree: Path, test_files: list[str]) -> set[str]:
    out = run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "--collect-only", "-q",
               *test_files], cwd=tree, check=False)
    return {line.strip() for line in out.splitlines() if "::" in line}


def build(spec: Spec, work: Path) -> dict:
    # The sandbox's own preparation (sdist from PyPI, fixed-identity commit), so base_commit matches its images.
    pristine = work / "pristine"
    prepare_repo(RepoSource("sdist", spec.dist), pristine)
    apply_edits(pristine, spec.bug, f"{spec.instance_id} bug")
    bug_patch = diff(pristine)
    tree = work / "tree"
    base_commit = prepare_repo(RepoSource("sdist", spec.dist, patch=bug_patch), tree)
    apply_edits(tree, spec.tests, f"{spec.instance_id} tests")
    test_patch = diff(tree)
    git(tree, "checkout", "-q", "--", ".")
    apply_edits(tree, spec.fix, f"{spec.instance_id} fix")
    gold_patch = diff(tree)
    apply_edits(tree, spec.tests, f"{spec.instance_id} tests")  # now tests + fix

    test_files = sorted({line[6:] for line in test_patch.splitlines() if line.startswith("+++ b/")})
    python = venv(spec.packages, VENVS / "-".join(sorted(p.split("==")[0] for p in spec.packages)))
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."], cwd=tree,
        env={"SETUPTOOLS_SCM_PRETEND_VERSION": spec.dist.partition("==")[2], **spec.env})
    after = statuses(test_log(python, tree, spec.test_cmd, test_files))
    git(tree, "checkout", "-q", "--", ".")  # the buggy tree as shipped: its own tests must not catch the bug
    shipped = statuses(test_log(python, tree, spec.test_cmd, test_files))
    caught = sorted(t for t, s in shipped.items() if s in ("FAILED", "ERROR"))
    if caught:
        raise RuntimeError(f"{spec.instance_id}: the buggy tree's own tests fail: {caught[:5]}")
    apply_edits(tree, spec.tests, f"{spec.instance_id} tests")
    git(tree, "checkout", "-q", "--", *sorted({e[0] for e in spec.fix}))
    before = statuses(test_log(python, tree, spec.test_cmd, test_files))
    exact = node_ids(python, tree, test_files)
    f2p = sorted(t for t in exact if after.get(t) == "PASSED" and before.get(t) in ("FAILED", "ERROR"))
    p2p = sorted(t for t in exact if after.get(t) == "PASSED" and before.get(t) == "PASSED")
    if not f2p:
        raise RuntimeError(f"{spec.instance_id}: no test fails before the fix and passes after")
    broken = sorted(t for t, s in after.items() if s in ("FAILED", "ERROR"))
    if broken:
        raise RuntimeError(f"{spec.instance_id}: tests fail with the fix: {broken[:5]}")
    unrelated = sorted(t for t, s in before.items() if s in ("FAILED", "ERROR") and t not in f2p)
    if unrelated:
        raise RuntimeError(f"{spec.instance_id}: failures before the fix outside FAIL_TO_PASS: {unrelated[:5]}")
    print(f"{spec.instance_id}: base {base_commit[:12]}, FAIL_TO_PASS {len(f2p)}, PASS_TO_PASS {len(p2p)}")
    return {
        "instance_id": spec.instance_id,
        "repo": spec.repo,
        "base_commit": base_commit,
        "problem_statement": spec.problem_statement,
        "hints_text": spec.hints_text,
        "created_at": "",
        "patch": gold_patch,
        "test_patch": test_patch,
        "FAIL_TO_PASS": json.dumps(f2p),
        "PASS_TO_PASS": json.dumps(p2p),
        "version": spec.version,
        "environment_setup_commit": base_commit,
        "environment": {
            "python_packages": spec.packages,
            "setup_commands": [],
            "base_image": None,
            "repo": {"kind": "sdist", "location": spec.dist, "commit": None, "patch": bug_patch, "subdir": None},
            "install_commands": [INSTALL],
            "env": spec.env,
        },
        "test_cmd": spec.test_cmd,
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
    }


def main() -> None:
    """Build every task, or only the instance ids given, keeping the other rows of the file."""
    only = set(sys.argv[1:])
    rows = {}
    if only and OUT.exists():
        rows = {r["instance_id"]: r for r in map(json.loads, OUT.read_text(encoding="utf-8").splitlines())}
    for spec in SPECS:
        if only and spec.instance_id not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            rows[spec.instance_id] = build(spec, Path(tmp))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        for spec in SPECS:
            if spec.instance_id in rows:
                f.write(json.dumps(rows[spec.instance_id]) + "\n")
    print(f"wrote {len(rows)} tasks to {OUT}")


if __name__ == "__main__":
    main()
