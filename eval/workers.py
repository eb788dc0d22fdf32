"""A batch's instances on worker threads of this process, under a host-side instance deadline.

The local counterpart of remote.py: the same `evaluate_prediction` per instance, results written into
the run folder as they finish. A worker stuck past every deadline is abandoned, not waited for.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from swesrl.sandbox.base import Sandbox

from .grading import ERROR
from .one_instance import evaluate_prediction
from .options import EvalOptions, provenance
from .predictions import Prediction
from .results import InstanceResult, write_result
from .tasks import Task


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


def run_here(todo: list[tuple[Task, Prediction]], run_id: str, run_dir: Path,
             options: EvalOptions, workers: int, prune: bool = False) -> Iterator[InstanceResult]:
    """One result per instance, written as it finishes; instances sharing an image build it once.
    `prune`: an instance image goes as soon as the last instance of this batch that uses it is
    written, so at most `workers` instance images exist at once (besides base and environment images)."""
    image_locks: dict[str, threading.Lock] = {}
    locks_guard = threading.Lock()

    def image_lock(key: str) -> threading.Lock:
        with locks_guard:
            return image_locks.setdefault(key, threading.Lock())

    watchdog = _Watchdog(options.timeouts.instance)
    abandoned: set[str] = set()
    finished: set[str] = set()
    write_lock = threading.Lock()

    image_of = {t.instance_id: provenance(t, p.model_patch, options).image for t, p in todo} if prune else {}
    users = Counter(image_of.values())

    def one(task: Task, pred: Prediction) -> InstanceResult:
        r = evaluate_prediction(task, pred, run_id, options, image_lock=image_lock,
                                on_container=watchdog.tracker(task.instance_id))
        with write_lock:
            if task.instance_id not in abandoned:  # a late worker must not overwrite what the batch reported
                write_result(run_dir, r, pred.model_patch)
                finished.add(task.instance_id)
            if task.instance_id in image_of:
                users[image_of[task.instance_id]] -= 1
                if users[image_of[task.instance_id]] == 0 and r.image:
                    remove_instance_images({r.image})
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

    return _run_workers(todo, one, workers, watchdog, abandon)


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


def remove_instance_images(tags: set[str]) -> None:
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
