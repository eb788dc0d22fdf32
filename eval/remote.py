"""A batch's instances run by an executor elsewhere (swesrl.executors, e.g. Ray tasks on a cluster).

The instance is the local batch's (`evaluate_prediction`); only where it runs differs. Each result
comes back to the driver, which writes it into the run folder atomically as it arrives, so a
restarted driver resumes from what was written and the nodes need no shared storage. A task the
executor lost for good (its node died past every retry) is an infrastructure error, redone on resume.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from pathlib import Path

from swesrl.executors import Executor
from swesrl.sandbox.prune import prune

from .grading import ERROR
from .one_instance import evaluate_prediction
from .options import EvalOptions, provenance
from .predictions import Prediction
from .results import InstanceResult, write_result
from .tasks import Task

log = logging.getLogger(__name__)


def run_on(executor: Executor, todo: list[tuple[Task, Prediction]], run_id: str, run_dir: Path,
           options: EvalOptions) -> Iterator[InstanceResult]:
    """One result per instance, written as it arrives; afterwards (or on Ctrl-C) every node removes
    the run's containers (this run id is locked by the driver, so they are all this run's)."""
    calls = [(task, pred, run_id, options) for task, pred in todo]
    for i, out in executor.map(evaluate_prediction, calls, cleanup=functools.partial(prune, run_id, force=True)):
        task, pred = todo[i]
        if isinstance(out, BaseException):
            out = InstanceResult(task.instance_id, ERROR, f"executor: {type(out).__name__}: {str(out)[:1500]}",
                                 pred.model_name_or_path, provenance(task, pred.model_patch, options))
        try:
            write_result(run_dir, out, pred.model_patch)
        except OSError as e:  # reported, not stored: a rerun redoes it
            log.warning(f"{task.instance_id}: result not saved ({e})")
        yield out
