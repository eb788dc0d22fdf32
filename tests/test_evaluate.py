"""Patch evaluation: predictions, patch checks, reports and resume keying (pure); then the two real shared
SWE-bench instances in Docker: gold resolves, empty and wrong patches do not, a hung test run is stopped,
and an evaluator killed with SIGKILL mid-batch resumes without losing or duplicating an instance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.errors import RunLocked
from swesrl.eval.predictions import Prediction, load_predictions, patch_problem
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


# ---- docker -----------------------------------------------------------------------------------


def _run_containers(run_id: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=swesrl.run_id={run_id}"], capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.fixture(scope="session")
def real(swebench_data):
    """The two shared instances with their images built once for every docker test."""
    from swesrl.eval.environment import ensure_task_image
    from swesrl.eval.evaluate import EvalOptions

    tasks = {t.instance_id: t for t in load_tasks(swebench_data / "instances.jsonl")}
    options = EvalOptions(repos_dir=str(swebench_data / "repos"))
    for t in tasks.values():
        ensure_task_image(t, repos_dir=options.repos_dir)
    return tasks, options


def _preds(*items: tuple[str, str | None]) -> list[Prediction]:
    return [Prediction(iid, patch, "test-model", f"test, record {i}") for i, (iid, patch) in enumerate(items)]


@pytest.mark.docker
@pytest.mark.slow
def test_gold_empty_wrong_and_stale_patches(real, tmp_path):
    from swesrl.eval.evaluate import evaluate_predictions

    tasks, options = real
    mm, pd = tasks[MM], tasks[PD]
    run = "t-outcomes"
    try:
        rep = evaluate_predictions(tasks.values(), _preds((MM, mm.patch), (PD, "")), run, workers=2, runs_dir=tmp_path, options=options)
        assert rep.summary["resolved_ids"] == [MM] and rep.summary["empty_patch_ids"] == [PD]
        assert rep.results[MM].patch_applied_by == "git apply"
        assert rep.results[MM].tests_status["FAIL_TO_PASS"]["success"] == mm.FAIL_TO_PASS
        assert {"container_start", "patch_and_tests", "total"} <= set(rep.results[MM].timings)
        saved = json.loads((tmp_path / run / "report.json").read_text())
        assert saved["schema_version"] == 2 and saved["completed_ids"] == [MM]
        assert (tmp_path / run / MM / "model.patch").read_text() == mm.patch
        assert "PASSED tests/test_fields.py" in (tmp_path / run / MM / "test_output.txt").read_text()
        assert json.loads((tmp_path / run / MM / "report.json").read_text())[MM]["resolved"] is True  # swebench's shape
        assert (tmp_path / run / MM / "eval.sh").read_text().startswith("#!") and not (tmp_path / run / PD / "report.json").exists()

        # Same run id, marshmallow's patch changed: it is re-evaluated; pydicom's result is reused.
        rep = evaluate_predictions(tasks.values(), _preds((MM, NOOP_PATCH), (PD, "")), run, workers=2, runs_dir=tmp_path, options=options)
        assert rep.reused == [PD]
        assert rep.summary["unresolved_ids"] == [MM]
        assert rep.results[MM].tests_status["FAIL_TO_PASS"]["failure"] == mm.FAIL_TO_PASS

        rep = evaluate_predictions(tasks.values(), _preds((MM, STALE_PATCH), (PD, pd.patch)), "t-outcomes-2", workers=2,
                                   runs_dir=tmp_path, options=options)
        assert rep.summary["patch_failed_ids"] == [MM] and "does not apply" in rep.results[MM].reason
        assert rep.summary["error_ids"] == [MM] and MM not in rep.summary["completed_ids"]
        assert rep.summary["resolved_ids"] == [PD]
    finally:
        assert _run_containers(run) == [] and _run_containers("t-outcomes-2") == []


@pytest.mark.docker
@pytest.mark.slow
def test_a_hung_test_run_is_stopped_and_a_missing_image_is_an_error_and_no_container_is_left(real, tmp_path):
    from swesrl.eval.evaluate import EvalOptions, Timeouts, evaluate_predictions

    tasks, options = real
    # the gold fix with a sleep where the fix was: the tests hang in the patched code
    hang = tasks[MM].patch.replace("+            or getattr(self.root.opts, self.SCHEMA_OPTS_VAR_NAME)",
                                   "+            or __import__('time').sleep(600)")
    broken = replace(tasks[PD], image="swesrl/no-such-image:0")
    tight = EvalOptions(repos_dir=options.repos_dir, timeouts=Timeouts(start=30, command=30, instance=8))
    t0 = time.monotonic()
    rep = evaluate_predictions([tasks[MM], broken], _preds((MM, hang), (PD, broken.patch)), "t-infra", workers=2,
                               runs_dir=tmp_path, options=tight)
    assert time.monotonic() - t0 < 60  # the hung test run was stopped from the host
    # the patched code ran out the clock: the model's outcome, not the infrastructure's (no retry forever)
    assert rep.summary["unresolved_ids"] == [MM] and "timed out" in rep.results[MM].reason
    assert rep.summary["error_ids"] == [PD] and "does not exist locally" in rep.results[PD].reason
    assert _run_containers("t-infra") == []


@pytest.mark.docker
@pytest.mark.slow
def test_sigkill_mid_batch_then_resume(real, swebench_data, tmp_path):
    tasks, _ = real
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"instance_id": iid, "model_name_or_path": "m", "model_patch": tasks[iid].patch}) + "\n"
                             for iid in (PD, MM)))
    run = "t-kill"
    cmd = [sys.executable, "-c", "from swesrl.cli import main; main()", "eval", "patches", "--tasks", str(swebench_data / "instances.jsonl"),
           "--predictions", str(preds), "--run-id", run, "--runs-dir", str(tmp_path), "--repos-dir", str(swebench_data / "repos"),
           "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not _run_containers(run) and time.monotonic() < deadline:  # wait until an instance is mid-flight
            time.sleep(0.1)
        assert _run_containers(run), "the evaluator never started a container"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert not (tmp_path / run / "report.json").exists()

        again = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert again.returncode == 0, again.stdout + again.stderr
        rep = json.loads((tmp_path / run / "report.json").read_text())
        outcome_lists = rep["resolved_ids"] + rep["unresolved_ids"] + rep["empty_patch_ids"] + rep["error_ids"]
        assert sorted(outcome_lists) == [MM, PD]  # every instance reported, exactly once
        assert rep["resolved_ids"] == [MM, PD]
        assert sorted(p.name for p in (tmp_path / run).iterdir() if p.is_dir()) == [MM, PD]
        assert not list((tmp_path / run).rglob(".*.tmp"))
        assert _run_containers(run) == []  # the killed run's container was removed on resume
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        subprocess.run(["docker", "rm", "-f", *_run_containers(run)], capture_output=True) if _run_containers(run) else None


@pytest.mark.docker
@pytest.mark.slow
def test_validate_cli_on_the_real_instances(real, swebench_data):
    res = CliRunner().invoke(app, ["eval", "validate", "--tasks", str(swebench_data / "instances.jsonl"), "--repos-dir", str(swebench_data / "repos")])
    assert res.exit_code == 0, res.output
    assert "2/2 tasks valid" in res.output
    assert _run_containers(f"validate-{os.getpid()}") == []


@pytest.mark.docker
@pytest.mark.slow
def test_prune_instance_drops_the_runs_instance_images_only(real, tmp_path):
    from swesrl.eval.environment import ensure_task_image
    from swesrl.eval.evaluate import evaluate_predictions
    from swesrl.sandbox.images import image_exists

    tasks, options = real
    other = ensure_task_image(tasks[PD], repos_dir=options.repos_dir)  # built by the fixture: found, not built
    # an instance layer of its own (one more ENV line), so removing it cannot disturb the shared images
    from swesrl.eval.environment import repo_source
    from swesrl.eval.environments import derive_environment

    mm = tasks[MM]
    derived = derive_environment(mm, repo_source(mm, options.repos_dir))  # cached by the fixture's build
    mm = replace(mm, environment=replace(derived, env=(("SWESRL_TEST_PRUNE", str(os.getpid())),)))
    rep = evaluate_predictions([mm], _preds((MM, NOOP_PATCH)), "t-prune", runs_dir=tmp_path, options=options, prune_after="instance")
    image = rep.results[MM].image
    assert rep.summary["unresolved_ids"] == [MM] and image.startswith("swesrl/instance:")
    assert not image_exists(image)
    assert image_exists(other)  # other instance images stay


@pytest.mark.docker
@pytest.mark.slow
def test_a_worker_stuck_past_its_deadline_is_abandoned_as_an_error(real, tmp_path, monkeypatch):
    """A Docker call that never returns (injected: the instance's exec blocks until released) cannot hold
    the batch: the container is removed at the instance deadline, the worker abandoned after a grace,
    the instance recorded as an infrastructure error, and the other instance still graded."""
    import threading

    from swesrl.eval.evaluate import EvalOptions, Timeouts, evaluate_predictions
    from swesrl.sandbox.docker_sandbox import DockerSandbox

    tasks, options = real
    release = threading.Event()
    real_exec = DockerSandbox.exec

    def stuck_exec(sb, cmd, timeout, workdir=None, env=None, stdin=None):
        if stdin and b"nothing fixed here" in stdin:
            release.wait()
        return real_exec(sb, cmd, timeout, workdir, env, stdin)

    monkeypatch.setattr(DockerSandbox, "exec", stuck_exec)
    tight = EvalOptions(repos_dir=options.repos_dir, timeouts=Timeouts(start=30, command=30, instance=3))
    t0 = time.monotonic()
    try:
        rep = evaluate_predictions([tasks[MM], tasks[PD]], _preds((MM, NOOP_PATCH), (PD, "")), "t-stuck", workers=2,
                                   runs_dir=tmp_path, options=tight)
    finally:
        release.set()
    assert time.monotonic() - t0 < 40
    assert rep.summary["error_ids"] == [MM] and "abandoned" in rep.results[MM].reason
    assert rep.summary["empty_patch_ids"] == [PD]
    time.sleep(1)  # the released worker finishes late: it must not overwrite the reported result
    assert "abandoned" in read_result(tmp_path / "t-stuck", MM).reason
    assert _run_containers("t-stuck") == []


@pytest.mark.docker
@pytest.mark.slow
def test_sigterm_mid_batch_leaves_no_container(real, swebench_data, tmp_path):
    """What `timeout`, a scheduler or Ray sends: handled like Ctrl-C, the running containers are removed."""
    tasks, _ = real
    preds = tmp_path / "preds.jsonl"
    preds.write_text("".join(json.dumps({"instance_id": iid, "model_name_or_path": "m", "model_patch": tasks[iid].patch}) + "\n"
                             for iid in (PD, MM)))
    run = f"t-term-{os.getpid()}"
    cmd = [sys.executable, "-c", "from swesrl.cli import main; main()", "eval", "patches", "--tasks", str(swebench_data / "instances.jsonl"),
           "--predictions", str(preds), "--run-id", run, "--runs-dir", str(tmp_path), "--repos-dir", str(swebench_data / "repos"),
           "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not _run_containers(run) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _run_containers(run), "the evaluator never started a container"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0
        assert _run_containers(run) == [], err
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.docker
@pytest.mark.slow
def test_a_binary_hunk_as_git_writes_it_is_applied(real, tmp_path):
    """The agent's diff is `git diff --binary`; the evaluator applies its binary hunks (git apply)."""
    from swesrl.eval.evaluate import evaluate_patch

    tasks, options = real
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "blob.bin").write_bytes(bytes(range(256)) * 40)
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    binary = subprocess.run(["git", "-C", str(tmp_path), "diff", "--cached", "--binary"], capture_output=True, text=True, check=True).stdout
    assert "GIT binary patch" in binary
    r = evaluate_patch(tasks[MM], tasks[MM].patch + binary, run_id="t-binary", options=options)
    assert r.status == "resolved" and r.patch_applied_by == "git apply", r.reason


@pytest.mark.docker
@pytest.mark.slow
def test_a_container_removed_mid_tests_is_an_error_and_is_redone(real, tmp_path):
    """The infrastructure's failure, not the patch's: `error`, never reused on a rerun."""
    import threading

    import docker

    from swesrl.eval.evaluate import evaluate_patch
    from swesrl.eval.results import reusable

    tasks, options = real
    hang = tasks[MM].patch.replace("+            or getattr(self.root.opts, self.SCHEMA_OPTS_VAR_NAME)",
                                   "+            or __import__('time').sleep(600)")

    def remove_soon(sb):
        if sb is not None:
            threading.Timer(4.0, lambda: docker.from_env().containers.get(sb.container_id).remove(force=True)).start()

    r = evaluate_patch(tasks[MM], hang, run_id="t-died", options=options, on_container=remove_soon)
    assert r.status == "error", (r.status, r.reason)
    assert not reusable(r, r.provenance)


@pytest.mark.docker
@pytest.mark.slow
def test_a_full_disk_is_an_error_not_a_failed_patch(real, tmp_path):
    """Here the container's /tmp (where the patch is written) is too small to hold it: ENOSPC."""
    from swesrl.eval.evaluate import EvalOptions, evaluate_patch
    from swesrl.eval.results import reusable
    from swesrl.sandbox.docker_sandbox import Limits

    tasks, options = real
    big = tasks[MM].patch + "diff --git a/NOTES.txt b/NOTES.txt\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES.txt\n@@ -0,0 +1,400 @@\n" + (
        "+" + "x" * 60 + "\n") * 400
    full = EvalOptions(repos_dir=options.repos_dir, limits=Limits(output_bytes=32_000_000, tmp_size="8k"))
    r = evaluate_patch(tasks[MM], big, run_id="t-full", options=full)
    assert r.status == "error" and "No space left on device" in r.reason, (r.status, r.reason)
    assert not reusable(r, r.provenance)  # a rerun with free disk evaluates it again
    assert evaluate_patch(tasks[MM], big, run_id="t-full", options=options).status == "resolved"


@pytest.mark.docker
@pytest.mark.slow
def test_tests_that_flood_past_the_cap_are_stopped_and_unresolved(real, tmp_path):
    from swesrl.eval.evaluate import EvalOptions, evaluate_predictions
    from swesrl.sandbox.docker_sandbox import Limits

    tasks, options = real
    flood = tasks[MM].patch.replace("+            or getattr(self.root.opts, self.SCHEMA_OPTS_VAR_NAME)",
                                    "+            or [print('y' * 1000000) for _ in iter(int, 1)]")
    capped = EvalOptions(repos_dir=options.repos_dir, limits=Limits(output_bytes=1_000_000, stream_bytes=5_000_000))
    t0 = time.monotonic()
    rep = evaluate_predictions([tasks[MM]], _preds((MM, flood)), "t-flood", runs_dir=tmp_path, options=capped)
    assert time.monotonic() - t0 < 60
    assert rep.summary["unresolved_ids"] == [MM], rep.results[MM].reason
    assert _run_containers("t-flood") == []
