"""Run a model on tasks and evaluate its patches: the composition `swesrl eval run` and the
quickstart call. `agent_on_task` is what running the model on one instance is; an executor
(swesrl.executors: threads here, or Ray tasks on a cluster) only decides where it runs.

The eval package builds each task's image, the agent (or the oracle / Agentless-mini protocol) works
in a sandbox of it, the eval package grades the patches, and each outcome is written back into its
trajectory (`traj split --only-resolved` reads it). Both halves resume: finished runs and still-valid
results are kept, so an interrupted run is simply started again.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from swesrl.agent.batch import Job, load_run, predictions, run_batch, trajectory_path
from swesrl.agent.loop import AgentResult, Confirm, OnStep, run_agent, save_trajectory
from swesrl.agent.policies import (
    Policy,
    Sampling,
    make_policy,
    parse_spec,
    require_backend,
    require_model_folder,
)
from swesrl.errors import require
from swesrl.eval.grading import EMPTY_PATCH, PATCH_FAILED, RESOLVED, UNRESOLVED
from swesrl.eval.tasks import Task, TaskError, load_tasks
from swesrl.executors import open_executor
from swesrl.sandbox.factory import check_sandbox, open_sandbox
from swesrl.util import write_atomic

from .run_config import EvalConfig, ImageConfig, ModelConfig, RunConfig, save_run_config
from .settings import SettingsError

if TYPE_CHECKING:
    from swesrl.eval.evaluate import EvalOptions, Report

log = logging.getLogger(__name__)
Outcome = Literal["resolved", "unresolved", "unknown"]
# grading status -> the trajectory's outcome (an error grades nothing: "unknown")
OUTCOME: dict[str, Outcome] = {RESOLVED: "resolved", UNRESOLVED: "unresolved", PATCH_FAILED: "unresolved",
                               EMPTY_PATCH: "unresolved"}
CONFIG_FILE = "config.yaml"


@dataclass
class RunOutcome:
    report: Report
    missing: list[str]  # instances without a finished run (not graded; a rerun retries them)
    config_path: Path


def check_run(config: RunConfig) -> None:
    """What can be known wrong before reading tasks: settings, the model spec, missing extras."""
    if not config.tasks:
        raise SettingsError("no tasks: give --tasks FILE (or tasks: in the config)")
    if not config.run_id:
        raise SettingsError("no run id: give --run-id NAME (or run_id: in the config)")
    try:
        parse_spec(config.model.spec)
    except ValueError as e:
        raise SettingsError(f"model.spec: {e}") from None
    if config.mode == "pipeline" and config.pipeline.samples > 1 and (config.model.temperature == 0 or config.model.seed is not None):
        raise SettingsError("pipeline.samples (--samples) above 1 needs model.temperature > 0 and no model.seed: greedy "
                            "decoding, or a seed set for every call, gives every sample the same answer")
    require_backend(config.model.spec)
    if config.executor.kind == "local":  # (on a cluster each node loads the model from its own disk)
        require_model_folder(config.model.spec)
    require("swebench", "grading test logs (SWE-bench's parsers)", extra="eval")


def check_model_server(config: RunConfig) -> None:
    """A remote model's server answers and takes the key (seconds), before images or tasks cost anything."""
    if parse_spec(config.model.spec)[0] == "openai":
        from swesrl.agent.openai_policy import OpenAIPolicy

        policy = load_policy(config)
        assert isinstance(policy, OpenAIPolicy)
        policy.check()


def select_tasks(config: RunConfig, problems: list[TaskError] | None = None) -> list[Task]:
    """The config's tasks (only ``instances`` when given); bad records go to ``problems``."""
    task_list = load_tasks(config.tasks, split=config.split, errors=problems)
    if config.instances:
        unknown = sorted(set(config.instances) - {t.instance_id for t in task_list})
        if unknown:
            raise SettingsError(f"instances: {config.tasks} has no task {', '.join(unknown)}")
        task_list = [t for t in task_list if t.instance_id in set(config.instances)]
    if not task_list:
        raise SettingsError(f"{config.tasks}: no tasks to run")
    return task_list


def load_policy(config: RunConfig) -> Policy:
    m = config.model
    return make_policy(m.spec, Sampling(temperature=m.temperature, max_new_tokens=m.max_new_tokens, seed=m.seed),
                       api_key_env=m.api_key_env, request_timeout=m.request_timeout, native_tools=m.native_tools)


def eval_options(images: ImageConfig, ev: EvalConfig) -> EvalOptions:
    """The evaluation's options from a run config's settings (`eval run`; `eval patches` and `validate` too)."""
    from swesrl.eval.evaluate import EvalOptions, Timeouts

    return EvalOptions(repos_dir=images.repos_dir, image_template=images.image_template, base_image=images.base_image,
                       timeouts=Timeouts(start=ev.start_timeout, command=ev.setup_timeout, instance=ev.eval_timeout),
                       seed=ev.test_seed, reject_tampering=not ev.allow_test_changes, network=ev.network)


def run_and_evaluate(config: RunConfig, tasks: list[Task], *, on_line: Callable[[str], None] = log.info) -> RunOutcome:
    """The model over ``tasks`` (trajectories, predictions), then the evaluation; the resolved config
    is saved in the run folder first. ``on_line`` gets one line per finished instance and phase.
    The run id is held machine-wide throughout, agent phase included: a second process is refused."""
    from swesrl.sandbox.ownership import run_lock

    with run_lock(config.run_id):
        return _run_and_evaluate(config, tasks, on_line)


def _run_and_evaluate(config: RunConfig, tasks: list[Task], on_line: Callable[[str], None]) -> RunOutcome:
    from swesrl.eval.evaluate import evaluate_predictions
    from swesrl.eval.predictions import Prediction
    from swesrl.sandbox.prune import prune

    runner = open_executor(config.executor) if config.executor.kind != "local" else None
    if runner is None:
        check_sandbox("docker")  # before the model loads and anything is written (a cluster's nodes have their own)
    run_dir = Path(config.runs_dir) / config.run_id
    config_path = save_run_config(config, run_dir / CONFIG_FILE)
    # here, one model serves every worker thread; on a cluster each node loads its own (agent_on_task)
    policy = None if runner is not None else load_policy(config)
    traj_dir = run_dir / "trajectories"
    run_one = functools.partial(agent_on_task, config, {t.instance_id: t for t in tasks}, policy)
    jobs = [Job(t.instance_id, t.problem_statement, t.repo, t.base_commit) for t in tasks]
    where = f"{config.workers} worker(s)" if runner is None else f"executor {config.executor.kind}"
    on_line(f"{config.run_id}: {len(jobs)} tasks, model {policy.name if policy else config.model.spec}, mode {config.mode}, {where}")
    for o in run_batch(jobs, run_one, traj_dir, config.workers, executor=runner,
                       cleanup=functools.partial(prune, config.run_id, force=True)):
        note = " (finished earlier)" if o.skipped else f": {o.error}" if o.error else ""
        on_line(f"  {o.instance_id}: {o.exit_status}{note}")

    ids = [t.instance_id for t in tasks]
    rows = predictions(traj_dir, ids, config.model.spec)
    missing = sorted(set(ids) - {r["instance_id"] for r in rows})
    if missing:
        on_line(f"{len(missing)} instance(s) without a finished run (infrastructure or backend errors, not graded; "
                f"run the command again to retry): {', '.join(missing)}")
    pred_path = run_dir / "predictions.jsonl"
    pred_path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    preds = [Prediction(r["instance_id"], r["model_patch"], r["model_name_or_path"], f"{pred_path}, line {i}")
             for i, r in enumerate(rows, start=1)]
    ev = config.eval
    options = eval_options(config.images, ev)
    report = evaluate_predictions(tasks, preds, config.run_id, workers=config.workers, runs_dir=config.runs_dir,
                                  options=options, min_free_gb=ev.min_free_gb, executor=runner,
                                  on_result=lambda r, reused: on_line(f"  eval {r.instance_id}: {r.status}{' (kept)' if reused else ''}"))
    for iid, r in report.results.items():
        path = trajectory_path(traj_dir, iid)
        saved = load_run(path)
        if saved is not None and saved.outcome != OUTCOME.get(r.status, "unknown"):
            saved.outcome = OUTCOME.get(r.status, "unknown")
            save_trajectory(saved, path)
    return RunOutcome(report, missing, config_path)


_build_lock = threading.Lock()  # one image build at a time per process; runs share the images they need


def agent_on_task(config: RunConfig, tasks: Mapping[str, Task], policy: Policy | None, job: Job, out: Path | None) -> AgentResult:
    """The model on one task, wherever it runs (a worker thread here or a task on a cluster node): the
    task's image, built where it is missing, a sandbox of it, and the configured mode. ``policy`` None
    loads the config's model, once per process; ``out`` None keeps the run in memory (the caller saves it)."""
    from swesrl.agent.agentless import run_pipeline
    from swesrl.agent.oracle import gold_files, run_oracle
    from swesrl.eval.environment import ensure_task_image

    task, images = tasks[job.instance_id], config.images
    player = (policy or _process_policy(config.model)).for_instance(task.instance_id)
    with _build_lock:
        image = ensure_task_image(task, repos_dir=images.repos_dir, image_template=images.image_template,
                                  base_image=images.base_image)
    iid, repo, base = task.instance_id, task.repo, task.base_commit
    with open_sandbox("docker", image, run_id=config.run_id, instance_id=iid) as sandbox:
        if config.mode == "oracle":
            return run_oracle(player, sandbox, task.problem_statement, gold_files(task.patch), out=out,
                              instance_id=iid, repo=repo, base_commit=base)
        if config.mode == "pipeline":
            gold = gold_files(task.patch) if task.patch else None
            return run_pipeline(player, sandbox, task.problem_statement, gold_files=gold, config=config.pipeline,
                                out=out, instance_id=iid, repo=repo, base_commit=base)
        return run_agent(player, sandbox, task.problem_statement, config=config.agent, out=out,
                         instance_id=iid, repo=repo, base_commit=base)


@functools.lru_cache(maxsize=1)
def _process_policy(model: ModelConfig) -> Policy:
    return load_policy(RunConfig(model=model))


def repo_image(repo: Path, packages: list[str], install_cmd: list[str] | None,
               progress: Callable[[str], None] = log.info) -> str:
    """An instance image of a local repository (git or plain folder) as it is on disk, with
    ``packages`` installed; the install command defaults to an editable pip install when the
    repository has build files. A git repository's uncommitted changes (new files too, not ignored
    ones) are committed on top of HEAD in the image, so the agent works on what the user sees and
    its patch applies to the working tree."""
    from swesrl.sandbox.images import (
        EnvironmentSpec,
        InstanceSpec,
        RepoSource,
        ensure_instance_image,
    )
    from swesrl.sandbox.repo_sources import working_tree_changes

    if (repo / ".git").exists():
        source = RepoSource(kind="git", location=str(repo.resolve()), patch=working_tree_changes(repo) or None)
    else:
        source = RepoSource(kind="dir", location=str(repo.resolve()))
    if install_cmd is None:
        has_build = (repo / "pyproject.toml").exists() or (repo / "setup.py").exists()
        install_cmd = ["python -m pip install --no-deps --no-build-isolation -e ."] if has_build else []
    spec = InstanceSpec(EnvironmentSpec(python_packages=tuple(packages)), source, tuple(c for c in install_cmd if c.strip()))
    return ensure_instance_image(spec, progress=progress)


def run_on_issue(config: RunConfig, image: str, problem: str, out: Path, *, instance_id: str | None = None,
                 repo: str | None = None, base_commit: str | None = None, label: str = "agent",
                 on_step: OnStep | None = None, confirm: Confirm | None = None) -> AgentResult:
    """The agent on one issue in a sandbox of ``image``; the resolved config is saved beside ``out``,
    the patch beside it as ``.patch`` when the run ends."""
    check_sandbox("docker")
    save_run_config(config, out.with_suffix(".config.yaml"))
    policy = load_policy(config).for_instance(instance_id)
    with open_sandbox("docker", image, run_id=config.run_id or "agent", instance_id=instance_id or label) as sandbox:
        result = run_agent(policy, sandbox, problem, config=config.agent, out=out, instance_id=instance_id,
                           repo=repo, base_commit=base_commit, on_step=on_step, confirm=confirm)
    write_atomic(patch_path(out), result.patch)
    return result


def patch_path(trajectory: Path) -> Path:
    """Where an `agent run` keeps its patch: beside the trajectory."""
    return trajectory.with_suffix(".patch")
