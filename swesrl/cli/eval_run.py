"""`swesrl eval run` (the model over tasks, then the evaluation; one report) and `swesrl eval config`
(every run setting, resolved). Parse and print: swesrl.pipeline composes the stages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from .output import err
from .run_options import (
    BaseImage,
    ConfigFiles,
    FormatErrors,
    ImageTemplate,
    MaxNewTokens,
    Model,
    ReposDir,
    RunId,
    Seed,
    Sets,
    Split,
    StepLimit,
    Tasks,
    Temperature,
    option,
    shortcut_values,
)

EXTRA = {"run_id": "run_id", "tasks": "tasks", "split": "split", "runs_dir": "runs_dir", "workers": "workers", "mode": "mode",
         "instance": "instances", "samples": "pipeline.samples", "eval_timeout": "eval.eval_timeout",
         "executor": "executor.kind", "address": "executor.address"}


def _config(local: dict):
    from swesrl.run_config import load_run_config

    return load_run_config(local["config"] or [], shortcut_values(local, EXTRA), local["set_"] or [])


def run(
    config: ConfigFiles = None,
    set_: Sets = None,
    tasks: Tasks = None,
    split: Split = None,
    model: Model = None,
    run_id: RunId = None,
    workers: Annotated[int | None, option("workers", "--workers", "-w")] = None,
    mode: Annotated[str | None, option("mode", "--mode")] = None,
    samples: Annotated[int | None, option("pipeline.samples", "--samples")] = None,
    instance: Annotated[list[str] | None, option("instances", "--instance", "-i")] = None,
    runs_dir: Annotated[Path | None, option("runs_dir", "--runs-dir")] = None,
    step_limit: StepLimit = None,
    max_format_errors: FormatErrors = None,
    temperature: Temperature = None,
    max_new_tokens: MaxNewTokens = None,
    seed: Seed = None,
    repos_dir: ReposDir = None,
    image_template: ImageTemplate = None,
    base_image: BaseImage = None,
    eval_timeout: Annotated[float | None, option("eval.eval_timeout", "--eval-timeout")] = None,
    executor: Annotated[str | None, option("executor.kind", "--executor")] = None,
    address: Annotated[str | None, option("executor.address", "--address")] = None,
) -> None:
    """Generate predictions with a model over tasks, then evaluate them in Docker; one report.

    Settings: defaults, then -c files, then these options, then --set; the resolved config is saved as
    RUNS_DIR/RUN_ID/config.yaml (repeat a run with -c that file). Model specs: hf:PATH, vllm:PATH,
    openai:MODEL@BASE_URL, replay or replay:PATH.

    Example: swesrl eval run --tasks examples/tasks/tasks.jsonl --model replay --workers 2 --run-id replay-check

    Example: swesrl eval run -c my-run.yaml --set agent.step_limit=10
    """
    from swesrl.eval.tasks import TaskError
    from swesrl.pipeline import check_model_server, check_run, run_and_evaluate, select_tasks

    cfg = _config(locals())
    check_run(cfg)
    check_model_server(cfg)
    problems: list[TaskError] = []
    task_list = select_tasks(cfg, problems)
    for p in problems:
        err().print(f"[yellow]skipped task[/]: {p}", highlight=False)
    result = run_and_evaluate(cfg, task_list, on_line=lambda line: err().print(line, markup=False, highlight=False))
    s = result.report.summary
    typer.echo(f"{s['resolved_instances']}/{s['total_instances']} resolved ({result.report.resolve_rate:.1%}); "
               f"report: {result.report.path}; config: {result.config_path}")


def config(
    config: ConfigFiles = None,
    set_: Sets = None,
) -> None:
    """Print every run setting, resolved from the defaults, -c files and --set, as YAML with its help.

    Save the output as my-run.yaml, edit it, and run it with `swesrl eval run -c my-run.yaml`.

    Example: swesrl eval config --set model.spec=hf:runs/srl > my-run.yaml
    """
    from swesrl import settings
    from swesrl.run_config import RunConfig, help_of

    cfg = _config({**locals(), **dict.fromkeys(["run_id", "tasks", "split", "runs_dir", "workers", "mode", "instance",
                                                "samples", "eval_timeout", "executor", "address"])})
    lines = []
    for key in settings.keys(RunConfig):
        lines.append(f"# {key}: {help_of(key)}")
    typer.echo("\n".join(lines))
    typer.echo(yaml.safe_dump(settings.to_dict(cfg), sort_keys=False, default_flow_style=False), nl=False)
