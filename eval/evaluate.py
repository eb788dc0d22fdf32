"""Patch evaluation: a resumable batch over predictions into a run folder, and task validation.

One instance is one_instance.py's `evaluate_patch`: a fresh container per (task, patch). On one
machine a few threads suffice (workers.py), since the work is waiting on containers; a watchdog
removes the container of an instance that overruns, so one wedged container cannot stall the batch.
For many machines an executor (swesrl.executors, eval/remote.py) runs the same `evaluate_prediction`
as Ray tasks, one per instance, each node with its own Docker daemon and image cache.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swesrl.errors import DockerUnavailable
from swesrl.sandbox.images import check_disk
from swesrl.sandbox.ownership import run_lock
from swesrl.sandbox.prune import prune

from .grading import ERROR, RESOLVED
from .one_instance import evaluate_patch, evaluate_prediction
from .options import EVAL_LIMITS, EvalOptions, Timeouts, provenance
from .predictions import Prediction, PredictionError
from .results import InstanceResult, build_report, read_result, reusable, write_atomic
from .tasks import Task
from .workers import remove_instance_images, run_here

if TYPE_CHECKING:
    from swesrl.executors import Executor

__all__ = [
    "EVAL_LIMITS", "EvalOptions", "Report", "Timeouts", "evaluate_patch", "evaluate_prediction", "evaluate_predictions",
    "provenance", "validate_tasks", "validation_ok",
]


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
    called once per instance (progress bars). `prune_after="instance"` drops each instance image once its last user is written.
    `executor` (swesrl.executors) runs the instances elsewhere, e.g. on a Ray cluster; None: `workers` threads here."""
    options = options or EvalOptions()
    run_dir = Path(runs_dir) / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    with run_lock(run_id):
        tasks, pairs, unknown = _match(tasks, predictions)
        errors = [str(e) for e in [*prediction_errors, *unknown]]
        _remove_leftovers(run_id, run_dir, executor)
        results, reused, todo = _stored_results(pairs, run_dir, options, redo)
        if on_result:
            for r in results.values():
                on_result(r, True)
        if executor is None and todo and any(not t.image for t, _ in todo):
            check_disk(min_free_gb)  # before building: a full disk mid-build fails every later instance
        if executor is None:
            stream = run_here(todo, run_id, run_dir, options, workers, prune=prune_after == "instance")
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
        if prune_after == "instance":  # what is left: images of reused results, or evaluated elsewhere (executor)
            remove_instance_images({r.image for r in results.values() if r.image})
        return Report(summary, results, path, reused)


def _remove_leftovers(run_id: str, run_dir: Path, executor: Executor | None) -> None:
    """What a killed evaluator of this run id left (the run id is locked: it is ours now): its containers
    (live runs' are kept), and half-written files."""
    try:
        if executor is None:
            prune(run_id)
        else:
            executor.on_nodes(functools.partial(prune, run_id))
    except Exception as e:  # docker's own errors: the CLI reports this one line
        raise DockerUnavailable(e) from e
    for tmp in run_dir.rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)


def _stored_results(pairs: list[tuple[Task, Prediction]], run_dir: Path, options: EvalOptions, redo: bool
                    ) -> tuple[dict[str, InstanceResult], list[str], list[tuple[Task, Prediction]]]:
    """(results still valid, their ids, the instances to evaluate): a stored result counts only when its
    provenance matches and it is a model outcome."""
    results: dict[str, InstanceResult] = {}
    todo: list[tuple[Task, Prediction]] = []
    for task, pred in pairs:
        stored = read_result(run_dir, task.instance_id)
        if not redo and pred.invalid is None and stored is not None and reusable(stored, provenance(task, pred.model_patch, options)):
            results[task.instance_id] = stored
        else:
            todo.append((task, pred))
    return results, list(results), todo


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
