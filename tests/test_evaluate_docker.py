"""Patch evaluation on the two real shared SWE-bench instances in Docker: gold resolves, empty and wrong
patches do not, a hung test run is stopped, and an evaluator killed with SIGKILL mid-batch resumes without
losing or duplicating an instance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest
from test_evaluate import MM, NOOP_PATCH, PD, STALE_PATCH  # pytest puts tests/ on sys.path
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.eval.predictions import Prediction
from swesrl.eval.results import read_result, reusable
from swesrl.eval.tasks import load_tasks


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
    seen = []  # the bound: an instance's image is gone as soon as its result is written, not at the end of the run
    rep = evaluate_predictions([mm], _preds((MM, NOOP_PATCH)), "t-prune", runs_dir=tmp_path, options=options, prune_after="instance",
                               on_result=lambda r, reused: seen.append(image_exists(r.image)))
    image = rep.results[MM].image
    assert rep.summary["unresolved_ids"] == [MM] and image.startswith("swesrl/instance:")
    assert seen == [False] and not image_exists(image)
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
