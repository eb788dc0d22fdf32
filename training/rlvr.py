"""RLVR after SRL: GRPO whose reward is whether the task's tests pass with the policy's patch.

The episode is the paper's single-shot oracle file edit (srl-method.md section 5): the prompt is the
issue plus the full text, at the base commit, of the files the gold patch touches; the answer is
``<think>...</think>`` then SEARCH/REPLACE edits (``swesrl.trajectories.edits``, the same prompt and
parser the agent's oracle mode uses at evaluation). The edits become a patch, which
``swesrl.eval.evaluate.evaluate_patch`` applies in a fresh container and grades with the task's
FAIL_TO_PASS/PASS_TO_PASS tests: reward 1.0 if resolved, else 0.0 (no edits, edits that do not
apply, a patch that does not apply or fails the tests).

An evaluation that broke (status ``error``: image, container or timeout trouble) is the
infrastructure's fault, not the model's: its reward is None, and the trainer then voids its whole
group (no gradient, dropped by dynamic sampling; see ``void_unscored_groups``).

The paper's DAPO-style filter "keep groups with 0 < correct < G" is the SRL dynamic sampling
already in ``SRLTrainer``: with binary rewards, a group's population std is sqrt(p(1-p)) with
p = correct/G, which is > epsilon exactly when 0 < correct < G (for any epsilon < sqrt(G-1)/G).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from swesrl.eval.evaluate import EvalOptions, Timeouts, evaluate_patch, evaluate_prediction
from swesrl.eval.grading import ERROR
from swesrl.eval.predictions import Prediction
from swesrl.eval.results import InstanceResult
from swesrl.eval.task_files import read_task_files
from swesrl.eval.tasks import Task, TaskError, load_tasks
from swesrl.executors import Executor, ExecutorConfig, LocalExecutor, open_executor
from swesrl.trajectories.edits import (
    Files,
    answer_patch,
    gold_files,
    oracle_messages,
    parse_search_replace,
)

from .rewards import completion_text
from .srl_trainer import SRLTrainer

log = logging.getLogger(__name__)

FILES_CACHE = "rlvr_files.jsonl"


class RLVRDataError(ValueError):
    """Tasks that cannot make RLVR prompts; the message names the source and the problem."""


def _cache_key(task: Task) -> str:
    return f"{task.spec_hash()}:{','.join(gold_files(task.patch))}"


def base_files(tasks: Iterable[Task], options: EvalOptions, cache: Path | None = None,
               progress: Callable[[str], None] = print, executor: Executor | None = None) -> dict[str, dict[str, str | None]]:
    """``read_base_files`` for every task, cached in the JSONL ``cache`` (one line per task, keyed by
    the task's spec and gold files) so a resumed run reads no image again. A task whose image cannot
    be built or read is skipped and reported; the others still come back. ``executor`` reads them
    elsewhere (a cluster's Docker nodes: the trainer then needs no Docker); default: one at a time here."""
    cached: dict[str, dict] = {}
    if cache is not None and cache.is_file():
        for line in cache.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                cached[row["instance_id"]] = row
    out: dict[str, dict[str, str | None]] = {}
    todo: list[Task] = []
    for task in tasks:
        row = cached.get(task.instance_id)
        if row is not None and row["key"] == _cache_key(task):
            out[task.instance_id] = row["files"]
        else:
            todo.append(task)
    calls = [(task, gold_files(task.patch), options) for task in todo]
    for i, files in (executor or LocalExecutor()).map(read_task_files, calls):
        task = todo[i]
        if isinstance(files, BaseException):  # one broken task must not cost the others
            progress(f"{task.instance_id}: skipped, its files could not be read ({type(files).__name__}: {str(files)[:300]})")
            continue
        out[task.instance_id] = files
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            with cache.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"instance_id": task.instance_id, "key": _cache_key(task), "files": files}) + "\n")
    return out


def rlvr_dataset(tasks: Iterable[Task], files: Mapping[str, Files]):
    """GRPO rows: ``prompt`` = the oracle prompt, ``instance_id`` (passed on to the reward)."""
    from datasets import Dataset

    rows = [{"prompt": oracle_messages(t.problem_statement, files[t.instance_id]), "instance_id": t.instance_id}
            for t in tasks if t.instance_id in files]
    if not rows:
        raise RLVRDataError("no task could make an RLVR prompt (see the messages above)")
    return Dataset.from_list(rows)


def make_rlvr_reward(tasks: Mapping[str, Task], files: Mapping[str, Files], options: EvalOptions | None = None,
                     *, workers: int = 4, run_id: str = "rlvr",
                     evaluate: Callable[..., InstanceResult] = evaluate_patch,
                     executor: Executor | None = None) -> Callable[..., list[float | None]]:
    """The TRL reward function over ``tasks`` (by instance_id), whose prompts showed ``files``.
    ``executor`` (swesrl.executors) runs the evaluations elsewhere, e.g. on a Ray cluster's Docker nodes."""
    options = options or EvalOptions()
    locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
    guard = threading.Lock()

    def image_lock(key: str) -> threading.Lock:
        with guard:
            return locks[key]

    def run(key: tuple[str, str]) -> InstanceResult | Exception:
        try:
            return evaluate(tasks[key[0]], key[1], run_id=run_id, options=options, model_name_or_path="rlvr",
                            image_lock=image_lock)
        except Exception as e:  # evaluate_patch reports its own failures; this is a bug, kept per patch
            return e

    def rlvr_reward_func(prompts: list, completions: list, instance_id: list[str],
                         log_metric: Callable[[str, float], None] | None = None, **kwargs: Any) -> list[float | None]:
        """1.0 if the completion's patch resolves its task, 0.0 if not, None if the evaluation broke."""
        patches = [answer_patch(completion_text(c), files[iid]).patch for c, iid in zip(completions, instance_id, strict=True)]
        todo = sorted({(iid, p) for iid, p in zip(instance_id, patches, strict=True) if p})  # each distinct patch once
        results: dict[tuple[str, str], InstanceResult | Exception] = {}
        if todo and executor is not None:
            try:
                # evaluate_prediction, like a batch's instances: a cluster node imports no training code for it
                calls = [(tasks[iid], Prediction(iid, patch, "rlvr"), run_id, options) for iid, patch in todo]
                results = {todo[i]: out for i, out in executor.map(evaluate_prediction, calls)}
            except Exception as e:  # the cluster went away mid-call: every evaluation of this call is void
                results = {key: e for key in todo}
        elif todo:
            with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo))), thread_name_prefix="rlvr-eval") as pool:
                results = dict(zip(todo, pool.map(run, todo), strict=True))
        rewards: list[float | None] = []
        for iid, patch in zip(instance_id, patches, strict=True):
            r = results.get((iid, patch)) if patch else None
            if not patch:
                rewards.append(0.0)
            elif r is None or isinstance(r, BaseException) or r.status == ERROR:
                rewards.append(None)
            else:
                rewards.append(1.0 if r.resolved else 0.0)
        broken = [(k, r) for k, r in results.items() if isinstance(r, BaseException) or r.status == ERROR]
        for (iid, _), r in broken:
            why = f"{type(r).__name__}: {r}" if isinstance(r, BaseException) else r.reason
            log.warning(f"rlvr reward: {iid}: evaluation error, its group gets no gradient ({why[:300]})")
        if log_metric is not None:
            log_metric("rlvr/patch_frac", sum(map(bool, patches)) / max(1, len(patches)))
            log_metric("rlvr/patches_evaluated", float(len(todo)))
            log_metric("rlvr/eval_error_frac", len(broken) / max(1, len(todo)))
        return rewards

    return rlvr_reward_func


def is_malformed(completion) -> bool:
    """An RLVR answer with no SEARCH/REPLACE edit (the oracle agent's format error)."""
    return not parse_search_replace(completion_text(completion))[1]


class RLVRTrainer(SRLTrainer):
    """SRLTrainer (GRPO + dynamic sampling = the DAPO filter for binary rewards) whose format-error
    metric counts answers without SEARCH/REPLACE edits."""

    is_malformed = staticmethod(is_malformed)


def eval_options(config) -> EvalOptions:
    return EvalOptions(repos_dir=config.repos_dir, timeouts=Timeouts(instance=config.eval_timeout))


def load_rlvr_tasks(source: str) -> list[Task]:
    """The tasks with a gold patch; bad records are reported and skipped, never fatal for the rest."""
    if not source:
        raise RLVRDataError("no tasks: set `tasks` in the recipe or pass --tasks")
    errors: list[TaskError] = []
    try:
        tasks = load_tasks(source, errors=errors)
    except (TaskError, OSError) as e:
        raise RLVRDataError(str(e)) from None
    for error in errors:
        log.warning(f"skipped: {error}")
    no_gold = [t.instance_id for t in tasks if not gold_files(t.patch)]
    if no_gold:
        log.info(f"{source}: skipped {len(no_gold)} tasks without a gold patch (it names the files to show): {', '.join(no_gold[:5])}")
    tasks = [t for t in tasks if t.instance_id not in no_gold]
    if not tasks:
        raise RLVRDataError(f"{source}: no usable tasks")
    return tasks


def rlvr_inputs(config) -> tuple[Any, list[Callable]]:
    """(train dataset, [reward function]) for an RLVR config: tasks -> base files (cached in the run
    directory) -> oracle prompts, and the tests-pass reward over the same tasks and files."""
    from accelerate import PartialState

    tasks = load_rlvr_tasks(config.tasks)
    options = eval_options(config)
    runner = open_executor(ExecutorConfig(config.executor, config.executor_address)) if config.executor != "local" else None
    with PartialState().main_process_first():  # the main process reads the images; the others the cache
        files = base_files(tasks, options, Path(config.output_dir) / FILES_CACHE, executor=runner)
    by_id = {t.instance_id: t for t in tasks}
    reward = make_rlvr_reward(by_id, files, options, workers=config.reward_workers,
                              run_id=f"rlvr-{Path(config.output_dir).name}", executor=runner)
    return rlvr_dataset(tasks, files), [reward]
