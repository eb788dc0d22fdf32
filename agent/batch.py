"""Many instances, one trajectory file each, resumable: what `swesrl eval run` generates predictions with.

A run that ended (submitted or stopped by a limit) is never redone; a run that crashed, never
finished, or lost its model backend (no exit status, ``error``, ``policy_error``) is run again. One failing instance is recorded as an error
and never stops the others. How an instance gets its sandbox is the caller's business (the CLI
builds task images with the eval package), so this module stays within the agent stage.

Where the runs happen is an executor's business (swesrl.executors): threads here, which save each
run after every step, or tasks on a cluster, whose finished runs travel back and are saved here (the
nodes need no shared storage; a run cut off with its node is run again from the start).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swesrl.executors import Executor, LocalExecutor
from swesrl.trajectories.schema import Trajectory
from swesrl.util import safe_name

from .loop import AgentResult, pending_path, save_trajectory


@dataclass(frozen=True)
class Job:
    instance_id: str
    problem_statement: str
    repo: str | None = None
    base_commit: str | None = None


RETRIED = (None, "error", "policy_error")  # infrastructure trouble, not the model's answer: run again on resume
# Runs one job, saving its trajectory at the path after every step; None: it runs in another process
# (an executor's remote task), and the caller saves the trajectory that comes back.
RunOne = Callable[[Job, Path | None], AgentResult]


def trajectory_path(out_dir: Path, instance_id: str) -> Path:
    return out_dir / (safe_name(instance_id) + ".jsonl")


def load_run(path: Path) -> Trajectory | None:
    """The saved run at ``path`` (or its pending save, when a crash came between unlink and rename),
    or None when there is none or it is unreadable (then it is redone)."""
    for candidate in (path, pending_path(path)):
        try:
            return Trajectory.from_dict(json.loads(candidate.read_text(encoding="utf-8").splitlines()[0]))
        except (OSError, ValueError, KeyError, IndexError):
            continue
    return None


def is_finished(path: Path) -> bool:
    run = load_run(path)
    return run is not None and run.metadata.get("exit_status") not in RETRIED


@dataclass(frozen=True)
class JobOutcome:
    instance_id: str
    exit_status: str
    skipped: bool = False
    error: str | None = None


def _error_run(job: Job, path: Path, error: str) -> None:
    """Record an instance that failed outside the loop (image build, sandbox start) without hiding earlier steps."""
    run = load_run(path) or Trajectory(job.instance_id, job.problem_statement, [], job.instance_id, job.repo,
                                       job.base_commit, source_path=str(path))
    run.metadata.update(exit_status="error", exit_message=error)
    save_trajectory(run, path)


def run_batch(jobs: Iterable[Job], run_one: RunOne, out_dir: Path, workers: int = 1, *, executor: Executor | None = None,
              cleanup: Callable[[], Any] | None = None) -> Iterator[JobOutcome]:
    """Run the unfinished jobs on ``executor`` (default: ``workers`` threads); yields one outcome per
    job as it ends. ``cleanup`` runs where the jobs ran, after the last one or on an interrupt."""
    out_dir.mkdir(parents=True, exist_ok=True)
    todo: list[Job] = []
    for job in jobs:
        path = trajectory_path(out_dir, job.instance_id)
        if is_finished(path) and (done := load_run(path)) is not None:
            yield JobOutcome(job.instance_id, done.metadata["exit_status"], skipped=True)
        else:
            todo.append(job)
    executor = executor or LocalExecutor(workers)
    paths = [trajectory_path(out_dir, job.instance_id) for job in todo]
    calls = [(job, None if executor.remote else path) for job, path in zip(todo, paths, strict=True)]
    for i, out in executor.map(run_one, calls, cleanup=cleanup):
        job, path = todo[i], paths[i]
        if isinstance(out, BaseException):
            error = f"{type(out).__name__}: {out}"
            _error_run(job, path, error + "\n" + "".join(traceback.format_exception(out, limit=5)))
            yield JobOutcome(job.instance_id, "error", error=error)
            continue
        if executor.remote:
            out.trajectory.source_path = str(path)
            save_trajectory(out.trajectory, path)
        yield JobOutcome(job.instance_id, out.exit_status)


def predictions(out_dir: Path, instance_ids: Iterable[str], model_name: str) -> list[dict[str, str]]:
    """SWE-bench predictions from the finished runs, named by the model each run recorded (else
    ``model_name``). A run that never finished or hit infrastructure trouble has no prediction: graded
    as an empty patch it would count against the model."""
    rows = []
    for iid in instance_ids:
        run = load_run(trajectory_path(out_dir, iid))
        if run is not None and run.metadata.get("exit_status") not in RETRIED:
            name = run.metadata.get("model") or model_name
            rows.append({"instance_id": iid, "model_name_or_path": name, "model_patch": run.final_patch or ""})
    return rows
