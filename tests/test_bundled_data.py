"""The bundled default data: SWE-bench-format tasks (examples/tasks) and expert runs (examples/trajectories).

A new user's first command trains on the expert runs and evaluates on the tasks, so these tests
prove the data itself: every task loads, its patches are well-formed and apply to the buggy tree
the sandbox builds, the gold patch resolves it and the unpatched tree does not (locally, in a plain
venv, then in Docker with `swesrl eval validate`), and every expert run parses, ends in a submit and
its edits produce a patch that resolves its task.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from unidiff import PatchSet

from swesrl.trajectories.actions import Bash, Create, Insert, StrReplace, Submit, UndoEdit
from swesrl.trajectories.schema import Trajectory

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "examples" / "tasks" / "tasks.jsonl"
RUNS = REPO / "examples" / "trajectories" / "expert_runs.jsonl"

SWE_BENCH_FIELDS = ("instance_id", "repo", "base_commit", "problem_statement", "hints_text", "patch", "test_patch",
                    "FAIL_TO_PASS", "PASS_TO_PASS", "version", "environment_setup_commit")


def rows() -> list[dict]:
    return [json.loads(line) for line in TASKS.read_text(encoding="utf-8").splitlines() if line.strip()]


def runs() -> list[dict]:
    return [json.loads(line) for line in RUNS.read_text(encoding="utf-8").splitlines() if line.strip()]


ROWS = rows()
IDS = [r["instance_id"] for r in ROWS]


def patch_files(patch: str) -> list[str]:
    files = PatchSet(patch)
    assert len(files) > 0, "no file in the patch"
    for f in files:
        assert f.source_file.startswith(("a/", "/dev/null")) and f.target_file.startswith(("b/", "/dev/null"))
    return [f.path for f in files]


# ---- the tasks file ----------------------------------------------------------------------------


def test_tasks_have_every_swe_bench_field_and_real_sdists():
    assert len(ROWS) >= 6
    assert len(set(IDS)) == len(IDS)
    assert len({r["repo"] for r in ROWS}) >= 2
    for r in ROWS:
        for name in SWE_BENCH_FIELDS:
            assert isinstance(r[name], str), (r["instance_id"], name)
        assert r["problem_statement"].strip() and r["version"]
        f2p, p2p = json.loads(r["FAIL_TO_PASS"]), json.loads(r["PASS_TO_PASS"])
        assert f2p and p2p and not set(f2p) & set(p2p), r["instance_id"]
        assert all("::" in t and " " not in t for t in f2p + p2p), r["instance_id"]
        repo = r["environment"]["repo"]
        name, _, version = repo["location"].partition("==")
        assert repo["kind"] == "sdist" and name and version.count(".") >= 1, repo["location"]
        assert all("==" in p for p in r["environment"]["python_packages"])  # pinned, for offline wheels
        assert any(p.startswith("pytest==") for p in r["environment"]["python_packages"])
        assert r["test_cmd"].startswith("pytest") and r["log_parser"] == "parse_log_pytest"


def test_tasks_load_with_the_eval_loader():
    from swesrl.eval.tasks import load_tasks

    tasks = load_tasks(TASKS)
    assert [t.instance_id for t in tasks] == IDS
    for task, raw in zip(tasks, ROWS, strict=True):
        assert json.loads(raw["FAIL_TO_PASS"]) == task.FAIL_TO_PASS
        assert json.loads(raw["PASS_TO_PASS"]) == task.PASS_TO_PASS
        assert task.environment is not None and task.environment.repo is not None
        assert task.environment.repo.patch == raw["environment"]["repo"]["patch"]
        assert task.environment.install_commands and task.test_cmd == raw["test_cmd"]


def test_patches_parse_and_separate_source_from_tests():
    for r in ROWS:
        gold = patch_files(r["patch"])
        tests = patch_files(r["test_patch"])
        bug = patch_files(r["environment"]["repo"]["patch"])
        assert not any("test" in Path(p).name for p in gold), (r["instance_id"], gold)
        assert all("test" in Path(p).name for p in tests), (r["instance_id"], tests)
        assert set(gold) <= set(bug), r["instance_id"]  # the fix touches what the bug touched
        assert "/testbed" not in r["patch"] + r["test_patch"]


def test_issue_texts_do_not_leak_the_fix():
    for r in ROWS:
        added = [ln[1:].strip() for ln in r["patch"].splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        for line in added:
            assert len(line) < 20 or line not in r["problem_statement"], (r["instance_id"], line)


# ---- the expert runs ---------------------------------------------------------------------------


def test_one_expert_run_per_task_in_swesrl_schema():
    data = runs()
    trajectories = [Trajectory.from_dict(d) for d in data]
    assert sorted(t.instance_id for t in trajectories) == sorted(IDS)
    by_id = {r["instance_id"]: r for r in ROWS}
    for d, t in zip(data, trajectories, strict=True):
        assert d["format"] == "swesrl.trajectory/1" and t.to_dict() == d  # round-trips exactly
        task = by_id[t.instance_id]
        assert t.base_commit == task["base_commit"] and t.problem_statement == task["problem_statement"]
        assert t.outcome == "resolved" and t.final_patch and patch_files(t.final_patch)
        assert 6 <= len(t.steps) <= 12, t.id
        assert isinstance(t.steps[-1].action, Submit) and not any(isinstance(s.action, Submit) for s in t.steps[:-1])
        for s in t.steps:
            assert s.action is not None and s.action_error is None
            assert len(s.thought.split()) >= 8, (t.id, s.thought)
            if not isinstance(s.action, Submit):
                assert s.observation.strip(), (t.id, s.action)
                assert isinstance(s.action, Bash) or not s.observation.startswith("ERROR:"), (t.id, s.observation)
        assert any(isinstance(s.action, StrReplace) for s in t.steps)


def test_expert_runs_read_by_the_trajectory_readers():
    from swesrl.trajectories.readers import read_trajectories

    read = list(read_trajectories(RUNS))
    assert sorted(t.instance_id for t in read) == sorted(IDS)


# ---- the local proof: sdist + bug patch, gold patch and expert edits, in a plain venv -------------


@pytest.fixture(scope="session")
def venv_python(tmp_path_factory) -> Path:
    """One plain venv (not --system-site-packages) with every package the tasks pin."""
    root = tmp_path_factory.mktemp("bundled-venv")
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    python = root / "bin" / "python"
    packages = sorted({p for r in ROWS for p in r["environment"]["python_packages"]})
    subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], check=True)
    return python


def _sh(cmd: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, input=stdin, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _git_apply(tree: Path, patch: str, check: bool = False) -> None:
    proc = _sh(["git", "-c", "safe.directory=*", "apply", *(["--check"] if check else []), "-"], tree, patch)
    assert proc.returncode == 0, proc.stdout


def _statuses(python: Path, tree: Path, task: dict) -> dict[str, str]:
    from swebench.harness.log_parsers import PARSER_REGISTRY

    files = sorted({ln[6:] for ln in task["test_patch"].splitlines() if ln.startswith("+++ b/")})
    cmd = task["test_cmd"].replace("pytest", f"{python} -m pytest -p no:cacheprovider", 1) + " " + " ".join(files)
    log = _sh(["bash", "-c", cmd], tree).stdout
    return PARSER_REGISTRY[task["log_parser"]](log, None)


def _replay_edits(tree: Path, run: Trajectory) -> None:
    """The run's file edits, applied to the tree as the editor applies them (exactly-once str_replace)."""
    for step in run.steps:
        action = step.action
        if isinstance(action, (Create, Insert, UndoEdit)):
            pytest.fail(f"{run.id}: the bundled runs edit with str_replace only, got {action.kind}")
        if isinstance(action, StrReplace):
            path = tree / Path(action.path).relative_to("/testbed")
            text = path.read_text()
            assert text.count(action.old_str) == 1, (run.id, action.path, action.old_str)
            path.write_text(text.replace(action.old_str, action.new_str))


@pytest.mark.slow
@pytest.mark.parametrize("instance_id", IDS)
def test_gold_resolves_and_unpatched_fails_locally(instance_id, venv_python, tmp_path):
    from swesrl.sandbox.images import BASE_TAG, RepoSource, prepare_repo

    task = next(r for r in ROWS if r["instance_id"] == instance_id)
    run = next(Trajectory.from_dict(d) for d in runs() if d["instance_id"] == instance_id)
    tree = tmp_path / "testbed"
    # The same preparation as the sandbox's images: the sdist from PyPI, the bug patch, a fixed-identity commit.
    assert prepare_repo(RepoSource(**task["environment"]["repo"]), tree) == task["base_commit"]
    _git_apply(tree, task["patch"], check=True)
    _git_apply(tree, task["test_patch"], check=True)
    _git_apply(tree, run.final_patch, check=True)
    install = _sh([str(venv_python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."], tree)
    assert install.returncode == 0, install.stdout

    f2p, p2p = json.loads(task["FAIL_TO_PASS"]), json.loads(task["PASS_TO_PASS"])
    _git_apply(tree, task["test_patch"])
    before = _statuses(venv_python, tree, task)
    assert all(before.get(t) in ("FAILED", "ERROR") for t in f2p), {t: before.get(t) for t in f2p}
    assert all(before.get(t) == "PASSED" for t in p2p)

    _git_apply(tree, task["patch"])
    after = _statuses(venv_python, tree, task)
    assert all(after.get(t) == "PASSED" for t in f2p + p2p), {t: after.get(t) for t in f2p + p2p if after.get(t) != "PASSED"}

    # The expert run's own edits, on the buggy tree, give its final patch; it must resolve the task too.
    _sh(["git", "-c", "safe.directory=*", "checkout", "-q", BASE_TAG, "--", "."], tree)
    _replay_edits(tree, run)
    edited = _sh(["git", "-c", "safe.directory=*", "diff", BASE_TAG], tree).stdout
    assert edited == run.final_patch
    if run.final_patch != task["patch"]:
        _git_apply(tree, task["test_patch"])
        expert = _statuses(venv_python, tree, task)
        assert all(expert.get(t) == "PASSED" for t in f2p + p2p)


# ---- in Docker: the eval helper's validation, the images' base commits, the replay policy -----


def _swesrl(*args: str, cwd: Path = REPO, columns: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns)} if columns else None
    return subprocess.run(["swesrl", *args], cwd=cwd, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=1800, env=env)


@pytest.mark.docker
@pytest.mark.slow
def test_swesrl_eval_validate_accepts_every_bundled_task():
    import docker

    from swesrl.eval.environment import task_to_instance_spec
    from swesrl.eval.tasks import load_tasks

    proc = _swesrl("eval", "validate", "--tasks", str(TASKS), columns=50)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert f"{len(ROWS)}/{len(ROWS)} tasks valid" in proc.stdout
    assert not [line for line in proc.stdout.splitlines() if "│" in line and "…" in line]  # ids fold, never cut
    client = docker.from_env()
    for task in load_tasks(TASKS):  # the images validate built: /testbed sits on the task's base commit
        tag = f"swesrl/instance:{task_to_instance_spec(task).key()}"
        head = client.containers.run(tag, ["git", "-C", "/testbed", "rev-parse", "HEAD"], remove=True,
                                     network_disabled=True)
        assert head.decode().strip() == task.base_commit, task.instance_id


@pytest.mark.docker
@pytest.mark.slow
def test_replay_of_the_expert_runs_resolves_every_bundled_task(tmp_path):
    proc = _swesrl("eval", "run", "--tasks", str(TASKS), "--model", "replay", "--workers", "2",
                   "--run-id", "bundled-replay", "--runs-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert f"{len(ROWS)}/{len(ROWS)} resolved" in proc.stdout
