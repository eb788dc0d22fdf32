"""The bundled mutation runs (examples/training/mutation_runs.jsonl, and heldout_mutation_runs.jsonl for
evaluation): they load and split, each run's edits undo exactly the bug recorded in its metadata, none touches
the held-out tasks' code, and no held-out mutation task shares a function or an id with a training run."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner
from unidiff import PatchSet

from swesrl.cli import app
from swesrl.sandbox.images import BASE_TAG, RepoSource, prepare_repo
from swesrl.sandbox.repo_sources import _GIT_IDENTITY
from swesrl.trajectories.actions import Bash, StrReplace, Submit, View
from swesrl.trajectories.schema import Trajectory
from swesrl.trajectories.split import read_examples

REPO = Path(__file__).resolve().parents[1]
RUNS = REPO / "examples" / "training" / "mutation_runs.jsonl"
HELDOUT_RUNS = REPO / "examples" / "training" / "heldout_mutation_runs.jsonl"
TRAIN = REPO / "examples" / "training" / "train_runs.jsonl"
HAND_HELDOUT = REPO / "examples" / "training" / "heldout_runs.jsonl"
DISTS = {"jpvanhal/inflection": "inflection==0.5.1", "r1chardj0n3s/parse": "parse==1.22.4",
         "more-itertools/more-itertools": "more-itertools==11.2.1"}
# The held-out tasks' code (jpvanhal__inflection-3, r1chardj0n3s__parse-2) and the training tasks' functions.
HELDOUT_CODE = ("humanize", "titleize", "int_convert")
TRAINING_CODE = ("ordinal", "ordinalize", "parameterize", "date_convert", "divide", "windowed")


def load(path: Path) -> list[Trajectory]:
    return [Trajectory.from_dict(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]


def ids(path: Path) -> set[str]:
    return {json.loads(line)["instance_id"] for line in path.read_text(encoding="utf-8").splitlines()}


RUN_LIST, HELDOUT_LIST = load(RUNS), load(HELDOUT_RUNS)
BOTH = RUN_LIST + HELDOUT_LIST


def hunk_sides(patch: str) -> tuple[str, str]:
    """(old text, new text) of a one-hunk patch: context plus removed, context plus added lines."""
    (patched,) = PatchSet(patch)
    (hunk,) = patched
    return "".join(str(line.value) for line in hunk.source_lines()), "".join(str(line.value) for line in hunk.target_lines())


def test_many_distinct_tasks_over_the_three_projects():
    tasks = {t.instance_id for t in RUN_LIST}
    assert len(tasks) >= 20 and len(RUN_LIST) >= 2 * len(tasks)
    assert {t.repo for t in RUN_LIST} == set(DISTS)
    assert all(t.outcome == "resolved" and t.final_patch for t in RUN_LIST)
    assert not tasks & ids(TRAIN)
    issues = {t.problem_statement for t in RUN_LIST if t.metadata["variant"] == 0}
    titles = Counter(s.splitlines()[0] for s in issues)
    assert len(issues) == len(tasks) and len(titles) >= len(tasks) // 2, titles.most_common(3)


def test_heldout_tasks_are_one_run_each_and_never_trained_on():
    tasks = {t.instance_id for t in HELDOUT_LIST}
    assert len(tasks) >= 20 and len(HELDOUT_LIST) == len(tasks)  # variants of one run would be correlated rows
    assert all(t.outcome == "resolved" and t.final_patch and t.metadata["variant"] == 0 for t in HELDOUT_LIST)
    assert not tasks & (ids(RUNS) | ids(TRAIN) | ids(HAND_HELDOUT))
    functions = {t.metadata["mutation"]["function"] for t in HELDOUT_LIST}
    assert len(functions) == len(tasks)
    assert not functions & {t.metadata["mutation"]["function"] for t in RUN_LIST}


def printed(value: str) -> tuple[str, ...]:
    """What print() shows of a result's repr: a string without its quotes."""
    return (value, value[1:-1]) if len(value) > 2 and value[0] == value[-1] and value[0] in "'\"" else (value,)


@pytest.mark.parametrize("run", HELDOUT_LIST, ids=lambda t: t.id)
def test_heldout_issue_shows_what_its_call_prints(run):
    """The issue's call is not random: the reproducer prints the issue's result before the fix and the
    expected one after it."""
    session = run.problem_statement.split("```python\n")[1].split("\n```")[0]
    expected = run.problem_statement.split("\nExpected: `")[1].rsplit("`.", 1)[0]
    shown = [s.observation for s in run.steps if isinstance(s.action, Bash) and "python -c" in s.action.command]
    assert len(shown) == 2
    assert any(v in shown[0] for v in printed(session.splitlines()[-1])), shown[0]
    assert any(v in shown[1] for v in printed(expected)), shown[1]


@pytest.mark.parametrize("path", [RUNS, HELDOUT_RUNS], ids=lambda p: p.name)
def test_runs_split_into_step_examples(path, tmp_path):
    out = tmp_path / "steps.jsonl"
    r = CliRunner().invoke(app, ["traj", "split", str(path), "-o", str(out)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    examples, runs = list(read_examples(out)), load(path)
    assert {e.trajectory_id for e in examples} == {t.id for t in runs}
    assert len(examples) == sum(len(t.steps) for t in runs)


@pytest.mark.parametrize("run", BOTH, ids=lambda t: t.id)
def test_edits_undo_the_recorded_mutation(run):
    m = run.metadata["mutation"]
    buggy, pristine = hunk_sides(run.metadata["bug_patch"])[::-1]
    assert m["mutated"] in buggy and m["original"] in pristine
    for step in run.steps:
        if isinstance(step.action, StrReplace):
            assert buggy.count(step.action.old_str) == 1, step.action.old_str
            buggy = buggy.replace(step.action.old_str, step.action.new_str)
    assert buggy == pristine
    # The recorded final patch is the bug patch reversed.
    assert hunk_sides(run.final_patch) == hunk_sides(run.metadata["bug_patch"])[::-1]
    kinds = [type(s.action) for s in run.steps]
    assert kinds.count(StrReplace) == 1 and kinds[-1] is Submit and Bash in kinds
    assert View in kinds or any("sed -n" in s.action.command for s in run.steps if isinstance(s.action, Bash))
    assert all(s.observation for s in run.steps[:-1])  # recorded for real, not left empty


@pytest.mark.parametrize("run", BOTH, ids=lambda t: t.id)
def test_no_run_touches_held_out_or_training_task_code(run):
    m = run.metadata["mutation"]
    assert m["function"] not in HELDOUT_CODE + TRAINING_CODE
    text = run.problem_statement + "".join(str(s.action) for s in run.steps)
    assert not any(name in text for name in HELDOUT_CODE)


@pytest.mark.slow
@pytest.mark.parametrize("repo", sorted(DISTS))
def test_bug_patch_gives_the_base_commit_and_final_patch_restores_the_sdist(repo, tmp_path):
    """Needs PyPI once per project: the pinned sdist plus the bug patch, committed as the sandbox commits
    it, is the run's base commit; the run's final patch on it gives back the sdist's file."""
    tree = tmp_path / "tree"
    prepare_repo(RepoSource("sdist", DISTS[repo]), tree)

    def git(*args: str, stdin: str | None = None) -> str:
        return subprocess.run(["git", *args], cwd=tree, input=stdin, text=True, check=True, capture_output=True,
                              env={**os.environ, **_GIT_IDENTITY}).stdout

    for run in (t for t in BOTH if t.repo == repo and t.metadata["variant"] == 0):
        path = run.metadata["mutation"]["path"]
        pristine = (tree / path).read_text(encoding="utf-8")
        git("apply", "-", stdin=run.metadata["bug_patch"])
        git("add", "-A")
        git("commit", "--quiet", "--no-verify", "-m", "swesrl task patch")
        assert git("rev-parse", "HEAD").strip() == run.base_commit, run.id
        git("apply", "-", stdin=run.final_patch)
        assert (tree / path).read_text(encoding="utf-8") == pristine, run.id
        git("reset", "--quiet", "--hard", BASE_TAG)
