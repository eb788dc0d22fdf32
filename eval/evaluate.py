"""Patch evaluation: one (task, patch) in a fresh container, and a resumable batch over predictions.

Per instance: the instance image (built or cached) -> a fresh container with no network -> the model
patch (git apply, then the sandbox's tolerant fallback) -> the eval script (test patch, tests) -> the
log graded by swebench's parsers. Three time budgets, all enforced from the host: container start,
one command, and one instance (the tests get what is left of it); a watchdog removes the container
of an instance that overruns, so one wedged container cannot stall the batch. Image builds are
outside the instance budget and timed on their own.

On one machine a few threads suffice, since the work is waiting on containers; for many machines an
executor (swesrl.executors, eval/remote.py) runs the same `evaluate_prediction` as Ray tasks, one per
instance, each node with its own Docker daemon and image cache.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swesrl.errors import DockerUnavailable
from swesrl.sandbox.base import Sandbox
from swesrl.sandbox.docker_sandbox import Limits
from swesrl.sandbox.factory import open_sandbox
from swesrl.sandbox.images import check_disk
from swesrl.sandbox.ownership import run_lock
from swesrl.sandbox.prune import prune

from .environment import TaskEnvironmentError, ensure_task_image, image_identity
from .grading import EMPTY_PATCH, ERROR, PATCH_FAILED, RESOLVED, UNRESOLVED, grade_log
from .instance_run import RUNNER, parse_run, runner_input
from .predictions import Prediction, PredictionError, patch_hash, patch_problem
from .results import (
    InstanceResult,
    Provenance,
    build_report,
    read_result,
    reusable,
    write_atomic,
    write_result,
)
from .scripts import eval_script
from .tampering import find_tampering
from .tasks import Task

if TYPE_CHECKING:
    from swesrl.executors import Executor

# A verbose test run must reach the grader whole: the summary lines sit at the end, the markers at both ends.
EVAL_LIMITS = Limits(output_bytes=32_000_000)


@dataclass(frozen=True)
class Timeouts:
    """Seconds. `instance` covers everything from container start to graded log, image build excluded."""

    start: float = 120.0
    command: float = 300.0
    instance: float = 1800.0


@dataclass(frozen=True)
class EvalOptions:
    repos_dir: str | None = None
    image_template: str | None = None
    base_image: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    seed: int = 0  # PYTHONHASHSEED for the tests: set iteration order is part of what a result depends on
    limits: Limits | None = None
    workdir: str = "/testbed"
    # A patch that changes test infrastructure (eval/tampering.py) is graded unresolved; False grades it
    # as SWE-bench does (the findings are reported either way).
    reject_tampering: bool = True


def provenance(task: Task, patch: str | None, options: EvalOptions) -> Provenance:
    """What a result depends on; computing it builds nothing."""
    try:
        image = image_identity(task, options.repos_dir, options.base_image, options.image_template)
    except Exception as e:  # no spec: the evaluation will report the same problem as an error
        image = f"unavailable: {e}"
    return Provenance(task.spec_hash(), image, patch_hash(patch), asdict(options.timeouts), options.seed,
                      "strict" if options.reject_tampering else "swebench")


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
    prov = provenance(task, patch, options)

    def result(status: str, reason: str = "", **kw: Any) -> InstanceResult:
        timings["total"] = round(time.monotonic() - t0, 3)
        return InstanceResult(task.instance_id, status, reason, model_name_or_path, prov, timings=timings, **kw)

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
        with open_sandbox(
            "docker", image, run_id=run_id, instance_id=task.instance_id, limits=limits, network=False,
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


# ---- the batch ----------------------------------------------------------------------------------


@dataclass
class Report:
    """The run's report.json (SWE-bench's fields + swesrl's) and every instance's result."""

    summary: dict[str, Any]
    results: dict[str, InstanceResult]
    path: Path | None = None
    reused: list[str] = field(default_factory=list)  # instances whose stored result was still valid

    @property
    def resolve_rate(self) -> float:
        return self.summary["resolved_instances"] / max(1, self.summary["total_instances"])


class _Watchdog:
    """Host-side instance budget: a container still running past its deadline is removed, which ends
    the command waiting on it. The sandbox's own per-command deadlines do the same one level down.
    A worker that still has not returned `grace` seconds after that is abandoned (`overdue`)."""

    def __init__(self, budget: float):
        self.budget, self.grace = budget, min(30.0, budget)
        self.live: dict[str, tuple[Sandbox, float]] = {}
        self.lock = threading.Lock()

    def tracker(self, instance_id: str) -> Callable[[Sandbox | None], None]:
        def track(sb: Sandbox | None) -> None:
            with self.lock:
                if sb is None:
                    self.live.pop(instance_id, None)
                else:
                    self.live[instance_id] = (sb, time.monotonic() + self.budget + self.grace)

        return track

    def check(self) -> list[str]:
        """Remove overdue containers; return the instances whose worker is still stuck after that."""
        now = time.monotonic()
        with self.lock:
            overdue = [(iid, sb, end) for iid, (sb, end) in self.live.items() if now > end]
        stuck = []
        for iid, sb, end in overdue:
            with contextlib.suppress(Exception):  # already gone is fine
                sb.close()
            if now > end + self.grace:
                stuck.append(iid)
                with self.lock:
                    self.live.pop(iid, None)
        return stuck


def _run_workers(jobs: list[tuple[Task, Prediction]], one: Callable[[Task, Prediction], InstanceResult], workers: int,
                 watchdog: _Watchdog, abandon: Callable[[Task, Prediction], InstanceResult | None]) -> Iterator[InstanceResult]:
    """Results as workers finish. Daemon threads, not a pool: a pool joins its threads at exit, so one
    worker stuck past every deadline would hang the process; here it is abandoned (its instance gets
    `abandon`'s result) and a fresh thread takes its place."""
    todo: queue.SimpleQueue[tuple[Task, Prediction]] = queue.SimpleQueue()
    done: queue.SimpleQueue[InstanceResult] = queue.SimpleQueue()
    for job in jobs:
        todo.put(job)
    by_id = {t.instance_id: (t, p) for t, p in jobs}

    def work() -> None:
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put(one(*job))
            except Exception as e:  # e.g. the result could not be saved (disk full): reported, the batch goes on
                done.put(InstanceResult(job[0].instance_id, ERROR, f"evaluator: {type(e).__name__}: {e}"))

    def start() -> None:
        threading.Thread(target=work, name="swesrl-eval", daemon=True).start()

    for _ in range(min(max(1, workers), len(jobs))):
        start()
    left = set(by_id)
    while left:
        try:
            r: InstanceResult | None = done.get(timeout=5.0)
        except queue.Empty:
            r = None
        if r is not None and r.instance_id in left:
            left.discard(r.instance_id)
            yield r
        for iid in watchdog.check():
            gone = abandon(*by_id[iid])
            if gone is not None and iid in left:
                left.discard(iid)
                yield gone
                start()


def _match(
    tasks: Iterable[Task], predictions: Iterable[Prediction]
) -> tuple[list[Task], list[tuple[Task, Prediction]], list[PredictionError]]:
    tasks = list(tasks)
    by_id = {t.instance_id: t for t in tasks}
    pairs, unknown = [], []
    for p in predictions:
        if p.instance_id in by_id:
            pairs.append((by_id[p.instance_id], p))
        else:
            unknown.append(PredictionError(p.where, p.instance_id, f"unknown instance_id {p.instance_id!r}: no such task"))
    return tasks, pairs, unknown


def evaluate_predictions(
    tasks: Iterable[Task],
    predictions: Iterable[Prediction],
    run_id: str,
    *,
    workers: int = 1,
    runs_dir: str | Path = "runs",
    redo: bool = False,
    options: EvalOptions | None = None,
    prune_after: str | None = None,
    min_free_gb: float = 5.0,
    prediction_errors: Iterable[PredictionError] = (),
    on_result: Callable[[InstanceResult, bool], None] | None = None,
    executor: Executor | None = None,
) -> Report:
    """Evaluate predictions into runs/<run_id>/, resuming: a stored result is reused only when its
    provenance key (task, image spec, patch, timeouts, seed, swesrl version) matches and it is a model
    outcome; infrastructure errors and unfinished instances are redone. `on_result(result, reused)` is
    called once per instance (progress bars). `prune_after="instance"` drops the run's instance images at the end.
    `executor` (swesrl.executors) runs the instances elsewhere, e.g. on a Ray cluster; None: `workers` threads here."""
    options = options or EvalOptions()
    run_dir = Path(runs_dir) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_id):
        return _evaluate_locked(tasks, predictions, run_id, run_dir, workers, redo, options, prune_after, min_free_gb,
                                prediction_errors, on_result, executor)


def _evaluate_locked(tasks, predictions, run_id, run_dir, workers, redo, options, prune_after, min_free_gb,
                     prediction_errors, on_result, executor=None) -> Report:
    tasks, pairs, unknown = _match(tasks, predictions)
    errors = [str(e) for e in [*prediction_errors, *unknown]]
    try:
        if executor is None:
            prune(run_id)  # containers left by an evaluator of this run id that was killed (live runs' are kept)
        else:
            executor.on_nodes(functools.partial(prune, run_id))
    except Exception as e:  # docker's own errors: the CLI reports this one line
        raise DockerUnavailable(e) from e

    for tmp in run_dir.rglob(".*.tmp"):  # half-written files of a killed evaluator (this run id is ours now)
        tmp.unlink(missing_ok=True)
    results: dict[str, InstanceResult] = {}
    reused: list[str] = []
    todo: list[tuple[Task, Prediction]] = []
    for task, pred in pairs:
        stored = read_result(run_dir, task.instance_id)
        if not redo and pred.invalid is None and stored is not None and reusable(stored, provenance(task, pred.model_patch, options)):
            results[task.instance_id] = stored
            reused.append(task.instance_id)
            if on_result:
                on_result(stored, True)
        else:
            todo.append((task, pred))

    if executor is None and todo and any(not t.image for t, _ in todo):
        check_disk(min_free_gb)  # before building: a full disk mid-build fails every later instance
    image_locks: dict[str, threading.Lock] = {}
    locks_guard = threading.Lock()

    def image_lock(key: str) -> threading.Lock:
        with locks_guard:
            return image_locks.setdefault(key, threading.Lock())

    watchdog = _Watchdog(options.timeouts.instance)

    abandoned: set[str] = set()
    finished: set[str] = set()
    write_lock = threading.Lock()

    def one(task: Task, pred: Prediction) -> InstanceResult:
        r = evaluate_prediction(task, pred, run_id, options, image_lock=image_lock,
                                on_container=watchdog.tracker(task.instance_id))
        with write_lock:
            if task.instance_id not in abandoned:  # a late worker must not overwrite what the batch reported
                write_result(run_dir, r, pred.model_patch)
                finished.add(task.instance_id)
        return r

    def abandon(task: Task, pred: Prediction) -> InstanceResult | None:
        with write_lock:
            if task.instance_id in finished:
                return None  # it finished meanwhile: its own result is on its way
            abandoned.add(task.instance_id)
            r = InstanceResult(task.instance_id, ERROR, "evaluator: the worker did not return after its container was "
                               "removed at the instance deadline; abandoned", pred.model_name_or_path,
                               provenance(task, pred.model_patch, options))
            write_result(run_dir, r, pred.model_patch)
            return r

    if executor is None:
        stream = _run_workers(todo, one, workers, watchdog, abandon)
    else:
        from .remote import run_on

        stream = run_on(executor, todo, run_id, run_dir, options)
    for r in stream:
        results[r.instance_id] = r
        if on_result:
            on_result(r, False)

    summary = build_report([t.instance_id for t in tasks], [p.instance_id for _, p in pairs], results, errors, run_id, run_dir)
    path = run_dir / "report.json"
    write_atomic(path, json.dumps(summary, indent=2) + "\n")
    if prune_after == "instance":
        _remove_instance_images({r.image for r in results.values() if r.image})
    return Report(summary, results, path, reused)


def _remove_instance_images(tags: set[str]) -> None:
    """Drop the instance images this run used (base and environment images stay, as do other runs'
    images and any image a container still uses)."""
    import docker

    client = docker.from_env()
    try:
        for tag in sorted(t for t in tags if t.startswith("swesrl/instance:")):
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(tag)
    finally:
        client.close()


def validate_tasks(
    tasks: Iterable[Task], *, options: EvalOptions | None = None, run_id: str | None = None,
    on_result: Callable[[Task, InstanceResult, InstanceResult], None] | None = None,
) -> list[tuple[Task, InstanceResult, InstanceResult]]:
    """Each task's gold patch must resolve it and the empty patch (tests run unpatched) must not.
    Containers are labelled with `run_id` (default: validate-<pid>, so concurrent validations stay apart)."""
    options = options or EvalOptions()
    run_id = run_id or f"validate-{os.getpid()}"
    out = []
    for task in tasks:
        gold = evaluate_patch(task, task.patch, run_id=run_id, options=options, model_name_or_path="gold")
        empty = evaluate_patch(task, "", run_id=run_id, options=options, model_name_or_path="empty", run_empty=True)
        out.append((task, gold, empty))
        if on_result:
            on_result(task, gold, empty)
    return out


def validation_ok(gold: InstanceResult, empty: InstanceResult) -> bool:
    return gold.status == RESOLVED and empty.status not in (RESOLVED, ERROR)
