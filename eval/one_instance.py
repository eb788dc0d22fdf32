"""Evaluating one patch on one task in a fresh container; never raises for a bad patch or a broken run.

The instance image (built or cached) -> a fresh container with no network -> the model patch (git
apply, then the sandbox's tolerant fallback) -> the eval script (test patch, tests) -> the log graded
by swebench's parsers. Three time budgets, all enforced from the host: container start, one command,
and one instance (the tests get what is left of it). Image builds are outside the instance budget
and timed on their own.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from swesrl.sandbox.base import Sandbox
from swesrl.sandbox.factory import open_sandbox
from swesrl.sandbox.images import image_deviations

from .environment import TaskEnvironmentError, ensure_task_image
from .environments import spec_cpus
from .grading import EMPTY_PATCH, ERROR, PATCH_FAILED, UNRESOLVED, grade_log
from .instance_run import RUNNER, parse_run, runner_input
from .options import EVAL_LIMITS, EvalOptions, provenance
from .predictions import Prediction, patch_problem
from .results import InstanceResult
from .scripts import eval_script
from .tampering import find_tampering
from .tasks import Task


def _short(text: str, limit: int = 1500) -> str:
    """A long message as its first line (what failed) and its tail (why: build and tool logs end there)."""
    if len(text) <= limit:
        return text
    head = text.splitlines()[0][:200]
    return head + "\n[...]\n" + text[-(limit - len(head)) :]


def evaluate_patch(
    task: Task,
    patch: str | None,
    *,
    run_id: str = "adhoc",
    options: EvalOptions | None = None,
    model_name_or_path: str = "",
    run_empty: bool = False,
    image_lock: Callable[[str], threading.Lock] | None = None,
    on_container: Callable[[Sandbox | None], None] | None = None,
) -> InstanceResult:
    """Evaluate one patch on one task; never raises for a bad patch or a broken run (status `error`).
    `run_empty=True` runs the tests even for an empty patch (validation: the task must not pass unpatched)."""
    options = options or EvalOptions()
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    deviations: list[str] = []  # the image's, once it is known
    prov = provenance(task, patch, options)

    def result(status: str, reason: str = "", **kw: Any) -> InstanceResult:
        timings["total"] = round(time.monotonic() - t0, 3)
        return InstanceResult(task.instance_id, status, reason, model_name_or_path, prov, timings=timings,
                              deviations=deviations, **kw)

    problem = patch_problem(patch)
    if problem and not (run_empty and problem[0] == EMPTY_PATCH):
        return result(*problem)
    tampering = find_tampering(patch, task)
    if tampering and options.reject_tampering:
        return result(UNRESOLVED, "the patch changes test infrastructure: " + "; ".join(tampering), test_tampering=tampering)
    try:
        t = time.monotonic()
        lock = image_lock(prov.image) if image_lock else threading.Lock()
        with lock:
            image = ensure_task_image(
                task, repos_dir=options.repos_dir, image_template=options.image_template, base_image=options.base_image
            )
        timings["image_build"] = round(time.monotonic() - t, 3)
        deviations += image_deviations(image)
    except TaskEnvironmentError as e:  # nothing was built: no spec, no repository source, no such image
        return result(ERROR, f"no image: {_short(str(e))}")
    except Exception as e:
        return result(ERROR, f"image build failed: {type(e).__name__}: {_short(str(e))}")
    try:
        script = eval_script(task, options.workdir)
    except ValueError as e:
        return result(ERROR, f"no eval script: {e}", image=image)
    tm = options.timeouts
    nonce, stdin = runner_input(patch if patch and patch.strip() else None, script)
    try:
        t = time.monotonic()
        # the container ends itself soon after the instance budget, even if this process is killed
        limits = replace(options.limits or EVAL_LIMITS, lifetime=tm.instance + 120)
        if (cpus := spec_cpus(task)) and cpus > limits.cpus:  # SWE-bench gives some rows more (pylint: 2)
            limits = replace(limits, cpus=cpus)
        with open_sandbox(
            "docker", image, run_id=run_id, instance_id=task.instance_id, limits=limits, network=options.network,
            workdir=options.workdir, start_timeout=tm.start,
        ) as sb:
            if on_container:
                on_container(sb)
            deadline = t + tm.instance
            timings["container_start"] = round(time.monotonic() - t, 3)
            t = time.monotonic()
            left = deadline - t
            # one exec: patch applied, eval script run, the real test status reported (eval/instance_run.py)
            run = sb.exec(RUNNER, timeout=left, env={"PYTHONHASHSEED": str(options.seed)}, stdin=stdin)
            timings["patch_and_tests"] = round(time.monotonic() - t, 3)
            if f"SWESRL-{nonce} done" not in run.output and sb.exec("true", 30).exit_code != 0:
                # the run ended early and the container no longer answers (removed, or the daemon's
                # trouble): not the patch's doing, whose code cannot stop PID 1
                return result(ERROR, "the container died during the tests", image=image, test_output=run.output)
    except Exception as e:
        return result(ERROR, f"sandbox: {type(e).__name__}: {_short(str(e))}", image=image)
    finally:
        if on_container:
            on_container(None)
    out = parse_run(run.output, nonce)
    if out.patch_failed and "No space left on device" in out.apply_output:  # no model code ran yet: the disk's fault
        return result(ERROR, f"the disk is full: {_short(out.apply_output, 600)}", image=image, eval_script=script)
    if out.patch_failed:
        return result(PATCH_FAILED, f"the patch does not apply: {_short(out.apply_output, 600)}", image=image,
                      eval_script=script)
    grade = grade_log(out.log, task, timed_out=run.timed_out, finished=out.finished, test_status=out.test_status)
    reason = grade.reason if not run.timed_out else f"{grade.reason} after {left:.0f} s (instance budget {tm.instance:.0f} s)"
    return result(grade.status, reason, image=image, patch_applied_by=out.applied_by, tests_status=grade.tests_status,
                  test_output=run.output, eval_script=script, test_tampering=tampering)


def evaluate_prediction(task: Task, pred: Prediction, run_id: str, options: EvalOptions, *,
                        image_lock: Callable[[str], threading.Lock] | None = None,
                        on_container: Callable[[Sandbox | None], None] | None = None) -> InstanceResult:
    """One instance of a batch, wherever it runs (a local worker thread or a Ray task); never raises."""
    if pred.invalid is not None:
        return InstanceResult(task.instance_id, PATCH_FAILED, f"{pred.where}: {pred.invalid}", pred.model_name_or_path,
                              provenance(task, pred.model_patch, options))
    try:
        return evaluate_patch(task, pred.model_patch, run_id=run_id, options=options, model_name_or_path=pred.model_name_or_path,
                              image_lock=image_lock, on_container=on_container)
    except Exception as e:  # a bug must not cost the batch: record it against the instance
        return InstanceResult(task.instance_id, ERROR, f"evaluator: {type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}",
                              pred.model_name_or_path, provenance(task, pred.model_patch, options))
