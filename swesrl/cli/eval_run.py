"""`swesrl eval run`: the agent over tasks (predictions), then the evaluator over its patches; one report.

Composes the stages: the eval package builds each task's image, the agent works in a sandbox of it,
the eval package grades the patches. Both halves resume: finished runs and still-valid results are
kept, so an interrupted command is simply run again.
"""

from __future__ import annotations

import json
import threading
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from swesrl.agent.batch import Job, load_run, predictions, run_batch, trajectory_path
from swesrl.agent.loop import AgentResult, run_agent, save_trajectory

from .agent import (
    ApiKeyEnv,
    BaseImage,
    CommandTimeout,
    ContextSteps,
    CostLimit,
    FormatErrors,
    ImageTemplate,
    MaxNewTokens,
    MaxPromptTokens,
    Model,
    NativeTools,
    ReposDir,
    RequestTimeout,
    Seed,
    StepLimit,
    Temperature,
    TokenLimit,
    WallTime,
    agent_config,
    check_spec,
    load_policy,
    require_docker,
)
from .eval import require_eval
from .output import err

OUTCOME = {"resolved": "resolved", "unresolved": "unresolved", "patch_failed": "unresolved", "empty_patch": "unresolved"}


class Mode(str, Enum):
    agent = "agent"
    oracle = "oracle"
    pipeline = "pipeline"


def run(
    tasks: Annotated[str, typer.Option("--tasks", help="Tasks file (JSON/JSONL/CSV/Parquet) or dataset name.")],
    model: Model,
    run_id: Annotated[str, typer.Option("--run-id", help="Names runs/<run-id>/: trajectories, predictions, results, report.")],
    workers: Annotated[int, typer.Option("--workers", "-w", help="Instances run at once (agent and evaluation).")] = 1,
    mode: Annotated[Mode, typer.Option("--mode", help="agent: multi-turn agent; oracle: one answer with SEARCH/REPLACE edits to the gold patch's files (the paper's oracle file edit); pipeline: localize the files, then the same repair (the paper's end-to-end, Agentless-mini).")] = Mode.agent,
    samples: Annotated[int, typer.Option("--samples", min=1, help="pipeline mode: repairs sampled (with --temperature > 0); above 1 they are reranked with model-written reproduction scripts.")] = 1,
    instance: Annotated[list[str] | None, typer.Option("--instance", "-i", help="Only these instance ids; repeatable.")] = None,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where run folders live.")] = Path("runs"),
    step_limit: StepLimit = 50,
    token_limit: TokenLimit = None,
    cost_limit: CostLimit = None,
    wall_time: WallTime = 3600.0,
    command_timeout: CommandTimeout = 120.0,
    max_format_errors: FormatErrors = 3,
    ctx_steps: ContextSteps = "2",
    max_prompt_tokens: MaxPromptTokens = 8192,
    temperature: Temperature = 0.0,
    max_new_tokens: MaxNewTokens = 1024,
    seed: Seed = None,
    api_key_env: ApiKeyEnv = "OPENAI_API_KEY",
    native_tools: NativeTools = False,
    request_timeout: RequestTimeout = 300.0,
    repos_dir: ReposDir = None,
    image_template: ImageTemplate = None,
    base_image: BaseImage = None,
) -> None:
    """Generate predictions with a model over tasks, then evaluate them in Docker; one report.

    Example: swesrl eval run --tasks examples/tasks/tasks.jsonl --model replay --workers 2 --run-id replay-check
    """
    from swesrl.agent.agentless import PipelineConfig, run_pipeline
    from swesrl.agent.oracle import gold_files, run_oracle
    from swesrl.eval.environment import ensure_task_image
    from swesrl.eval.evaluate import EvalOptions, evaluate_predictions
    from swesrl.eval.predictions import Prediction
    from swesrl.eval.tasks import load_tasks
    from swesrl.sandbox.docker_sandbox import DockerSandbox

    check_spec(model)
    require_eval()
    problems: list = []
    task_list = load_tasks(tasks, errors=problems)
    for p in problems:
        err.print(f"[yellow]skipped task[/]: {p}")
    if instance:
        unknown = sorted(set(instance) - {t.instance_id for t in task_list})
        if unknown:
            raise typer.BadParameter(f"{tasks} has no task {', '.join(unknown)}", param_hint="--instance")
        task_list = [t for t in task_list if t.instance_id in set(instance)]
    if not task_list:
        raise typer.BadParameter(f"{tasks}: no tasks to run", param_hint="--tasks")
    if samples > 1 and (temperature == 0 or seed is not None):
        raise typer.BadParameter("above 1 needs --temperature > 0 and no --seed: greedy decoding, or a seed set for "
                                 "every call, gives every sample the same answer", param_hint="--samples")
    require_docker()
    policy = load_policy(model, temperature, max_new_tokens, seed, api_key_env, native_tools, request_timeout)
    config = agent_config(step_limit, token_limit, cost_limit, wall_time, command_timeout, max_format_errors, ctx_steps, max_prompt_tokens)
    by_id = {t.instance_id: t for t in task_list}
    run_dir = runs_dir / run_id
    traj_dir = run_dir / "trajectories"
    build_lock = threading.Lock()  # one image build at a time; runs share the images they need

    def run_one(job: Job, path: Path) -> AgentResult:
        task = by_id[job.instance_id]
        player = policy.for_instance(task.instance_id)
        with build_lock:
            image = ensure_task_image(task, repos_dir=repos_dir, image_template=image_template, base_image=base_image)
        with DockerSandbox(image, run_id=run_id, instance_id=task.instance_id) as sandbox:
            if mode is Mode.oracle:
                return run_oracle(player, sandbox, task.problem_statement, gold_files(task.patch), out=path,
                                  instance_id=task.instance_id, repo=task.repo, base_commit=task.base_commit)
            if mode is Mode.pipeline:
                return run_pipeline(player, sandbox, task.problem_statement, gold_files=gold_files(task.patch) if task.patch else None,
                                    config=PipelineConfig(samples=samples, command_timeout=command_timeout), out=path,
                                    instance_id=task.instance_id, repo=task.repo, base_commit=task.base_commit)
            return run_agent(player, sandbox, task.problem_statement, config=config, out=path,
                             instance_id=task.instance_id, repo=task.repo, base_commit=task.base_commit)

    jobs = [Job(t.instance_id, t.problem_statement, t.repo, t.base_commit) for t in task_list]
    err.print(f"[bold]{run_id}[/]: {len(jobs)} tasks, model {policy.name}, mode {mode.value}, {workers} worker(s)")
    for o in run_batch(jobs, run_one, traj_dir, workers):
        note = " (finished earlier)" if o.skipped else f": {o.error}" if o.error else ""
        err.print(f"  {o.instance_id}: {o.exit_status}{note}")

    ids = [t.instance_id for t in task_list]
    rows = predictions(traj_dir, ids, policy.name)
    missing = sorted(set(ids) - {r["instance_id"] for r in rows})
    if missing:
        err.print(f"[yellow]{len(missing)} instance(s) without a finished run (infrastructure or backend errors, "
                  f"not graded; run the command again to retry)[/]: {', '.join(missing)}")
    pred_path = run_dir / "predictions.jsonl"
    pred_path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    preds = [Prediction(r["instance_id"], r["model_patch"], r["model_name_or_path"], f"{pred_path}, line {i}")
             for i, r in enumerate(rows, start=1)]
    options = EvalOptions(repos_dir=str(repos_dir) if repos_dir else None, image_template=image_template, base_image=base_image)
    result = evaluate_predictions(task_list, preds, run_id, workers=workers, runs_dir=runs_dir, options=options,
                                  on_result=lambda r, reused: err.print(f"  eval {r.instance_id}: {r.status}{' (kept)' if reused else ''}"))
    for iid, r in result.results.items():  # the outcome goes into the trajectory: `traj split --only-resolved` reads it
        path = trajectory_path(traj_dir, iid)
        saved = load_run(path)
        if saved is not None and saved.outcome != OUTCOME.get(r.status, "unknown"):
            saved.outcome = OUTCOME.get(r.status, "unknown")
            save_trajectory(saved, path)
    s = result.summary
    typer.echo(f"{s['resolved_instances']}/{s['total_instances']} resolved ({result.resolve_rate:.1%}); report: {result.path}")
