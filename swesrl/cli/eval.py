"""`swesrl eval ...`: evaluate SWE-bench predictions in fresh containers; validate tasks with their gold patch."""

from __future__ import annotations

import statistics
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Column, Table

from swesrl.errors import require

from . import SUMMARY
from .output import err, out
from .run_options import with_default

app = typer.Typer(help=SUMMARY["eval"], no_args_is_help=True)

# The same names and help as the run config's fields (swesrl eval config lists them).
REPOS_DIR = with_default("images.repos_dir", "--repos-dir")
IMAGE_TEMPLATE = with_default("images.image_template", "--image-template")
BASE_IMAGE = with_default("images.base_image", "--base-image")
TIMEOUT = with_default("eval.eval_timeout", "--eval-timeout")
START_TIMEOUT = with_default("eval.start_timeout", "--start-timeout")
COMMAND_TIMEOUT = with_default("eval.setup_timeout", "--setup-timeout")
TASKS = with_default("tasks", "--tasks", required=True)
SPLIT = with_default("split", "--split")
INSTANCES = with_default("instances", "--instance", "-i")
NETWORK = with_default("eval.network", "--network")
EXECUTOR = with_default("executor.kind", "--executor")
ADDRESS = with_default("executor.address", "--address")


def require_eval() -> None:
    require("swebench", "grading test logs (SWE-bench's parsers)", extra="eval")


def _load_tasks(path: str, repos_dir: Path | None, split: str | None, instances: list[str]):
    from swesrl.eval.tasks import TaskError, load_tasks

    errors: list[TaskError] = []
    try:
        tasks = load_tasks(path, split=split, errors=errors)
    except TaskError as e:
        err().print(f"[red]cannot read tasks:[/] {e}", markup=True, highlight=False)
        raise typer.Exit(1) from None
    for problem in errors:
        err().print(f"[yellow]skipped task:[/] {problem}", highlight=False)
    if not tasks:
        err().print(f"[red]no usable tasks in {path}[/]")
        raise typer.Exit(1)
    unknown = sorted(set(instances) - {t.instance_id for t in tasks})
    if unknown:
        err().print(f"[red]--instance: {path} has no task {', '.join(unknown)}[/]", highlight=False)
        raise typer.Exit(1)
    if instances:
        tasks = [t for t in tasks if t.instance_id in set(instances)]
    if repos_dir is not None and not repos_dir.is_dir():
        err().print(f"[red]--repos-dir {repos_dir} is not a folder[/]")
        raise typer.Exit(1)
    return tasks


def _options(repos_dir: Path | None, image_template: str | None, base_image: str | None, timeout: float,
             start_timeout: float, setup_timeout: float, seed: int = 0, allow_test_changes: bool = False,
             network: str = "none"):
    """The evaluation's options from these options, as `eval run` makes them from its config."""
    from swesrl.pipeline import eval_options
    from swesrl.run_config import EvalConfig, ImageConfig

    images = ImageConfig(str(repos_dir) if repos_dir else None, image_template, base_image)
    config = EvalConfig(eval_timeout=timeout, start_timeout=start_timeout, setup_timeout=setup_timeout, test_seed=seed,
                        allow_test_changes=allow_test_changes, network=network)
    try:
        return eval_options(images, config)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--network") from None


def _summary(report) -> None:
    """One screen: counts by outcome, the resolve rate, where time went, and what went wrong."""
    s = report.summary
    table = Table(title=f"run {s['run_id']}", show_header=True)
    table.add_column("outcome")
    table.add_column("instances", justify="right")
    for label, key in (("total", "total_instances"), ("submitted", "submitted_instances"), ("completed", "completed_instances"),
                       ("resolved", "resolved_instances"), ("unresolved", "unresolved_instances")):
        table.add_row(label, str(s[key]))
    table.add_row("empty patch", str(s["empty_patch_instances"]))
    table.add_row("error", str(s["error_instances"]))
    table.add_row("  of which the patch did not apply", str(len(s["patch_failed_ids"])))
    table.add_row("reused from an earlier run", str(len(report.reused)))
    out().print(table)
    submitted = max(1, s["submitted_instances"])
    out().print(f"resolved {s['resolved_instances']}/{s['submitted_instances']} submitted ({100 * s['resolved_instances'] / submitted:.1f}%), "
              f"{s['resolved_instances']}/{s['total_instances']} of all tasks")
    phases: dict[str, list[float]] = {}
    for t in s["timings"].values():
        for k, v in t.items():
            phases.setdefault(k, []).append(v)
    if phases:
        out().print("median seconds: " + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in phases.items()))
    shown = s["error_ids"][:8]
    for iid in shown:
        reason = s["reasons"].get(iid, "")
        out().print(f"  [dim]{iid}:[/] {reason if len(reason) < 300 else reason[:100] + ' [...] ' + reason[-200:]}", highlight=False)
    for e in s["prediction_errors"][:5]:
        out().print(f"  [yellow]prediction:[/] {e}", highlight=False)
    if len(s["prediction_errors"]) > 5:
        out().print(f"  ... {len(s['prediction_errors']) - 5} more prediction errors in the report")
    out().print(f"report: {report.path}")


@app.command()
def patches(
    tasks: str = TASKS,
    split: str | None = SPLIT,
    instance: list[str] = INSTANCES,
    predictions: Path = typer.Option(..., "--predictions", exists=True, dir_okay=False, help="SWE-bench predictions: JSONL or a JSON list."),
    run_id: str = with_default("run_id", "--run-id", required=True),
    workers: int = with_default("workers", "--workers", "-w", min=1),
    redo: bool = typer.Option(False, "--redo", help="Re-evaluate instances that already have a valid result."),
    repos_dir: Path | None = REPOS_DIR,
    image_template: str | None = IMAGE_TEMPLATE,
    base_image: str | None = BASE_IMAGE,
    timeout: float = TIMEOUT,
    start_timeout: float = START_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
    seed: int = with_default("eval.test_seed", "--test-seed"),
    runs_dir: Path = with_default("runs_dir", "--runs-dir"),
    prune: str | None = typer.Option(None, "--prune", help="'instance': remove each instance image once the last instance using it is written, so at most --workers instance images exist at once (base and environment images stay)."),
    min_free_gb: float = with_default("eval.min_free_gb", "--min-free-gb"),
    allow_test_changes: bool = with_default("eval.allow_test_changes", "--allow-test-changes"),
    network: str = NETWORK,
    executor: str = EXECUTOR,
    address: str = ADDRESS,
) -> None:
    """Evaluate predictions: each patch applied in a fresh container of its task's image, the tests run and graded.

    Writes RUNS_DIR/RUN_ID/<instance_id>/{model.patch,eval.sh,test_output.txt,run_instance.log,report.json,result.json}
    (report.json in SWE-bench's shape, result.json swesrl's) and RUNS_DIR/RUN_ID/report.json (every field of
    SWE-bench's run report). A rerun with the same run id skips instances whose result is still valid
    (same task, image spec, patch, timeouts and seed) and redoes the rest.

    Example: swesrl eval patches --tasks tasks.jsonl --predictions preds.jsonl --run-id try1 --repos-dir repos/ --workers 2

    Example: swesrl eval patches --tasks tasks.jsonl --predictions preds.jsonl --run-id try1 --executor ray --address auto
    """
    from swesrl.eval.evaluate import evaluate_predictions
    from swesrl.eval.predictions import load_predictions
    from swesrl.executors import ExecutorConfig, open_executor

    if prune not in (None, "instance"):
        raise typer.BadParameter("only 'instance' is supported", param_hint="--prune")
    options = _options(repos_dir, image_template, base_image, timeout, start_timeout, command_timeout, seed, allow_test_changes, network)
    try:
        executor_config = ExecutorConfig(kind=executor, address=address)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--executor") from None
    require_eval()
    if executor_config.kind == "local":
        from swesrl.sandbox.factory import check_sandbox

        check_sandbox("docker")  # one line before any work when no daemon answers
    task_list = _load_tasks(tasks, repos_dir, split, instance)
    try:
        preds, pred_errors = load_predictions(predictions)
    except (OSError, ValueError) as e:
        err().print(f"[red]cannot read predictions:[/] {e}", highlight=False)
        raise typer.Exit(1) from None
    for problem in pred_errors:
        err().print(f"[yellow]prediction problem:[/] {problem}", highlight=False)
    if instance:  # the others' predictions are not this run's
        preds = [p for p in preds if p.instance_id in set(instance)]
    known = {t.instance_id for t in task_list}
    n = sum(p.instance_id in known for p in preds)
    counts = {"done": 0, "resolved": 0}
    runner = open_executor(executor_config, workers) if executor_config.kind != "local" else None

    with Progress(TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                  TimeElapsedColumn(), console=err(), transient=False) as progress:
        bar = progress.add_task("eval", total=n, rate="")

        def on_result(result, reused: bool) -> None:
            counts["done"] += 1
            counts["resolved"] += result.resolved
            rate = f"resolved {counts['resolved']}/{counts['done']} ({100 * counts['resolved'] / counts['done']:.0f}%)"
            progress.update(bar, advance=1, rate=rate)
            if not reused:
                progress.console.print(f"[dim]{result.instance_id}: {result.status}[/] {result.reason[:100]}", highlight=False)

        report = evaluate_predictions(
            task_list, preds, run_id, workers=workers, runs_dir=runs_dir, redo=redo,
            options=options,
            prune_after=prune, min_free_gb=min_free_gb, prediction_errors=pred_errors, on_result=on_result,
            executor=runner,
        )
    _summary(report)


@app.command()
def validate(
    tasks: str = TASKS,
    split: str | None = SPLIT,
    repos_dir: Path | None = REPOS_DIR,
    image_template: str | None = IMAGE_TEMPLATE,
    base_image: str | None = BASE_IMAGE,
    timeout: float = TIMEOUT,
    start_timeout: float = START_TIMEOUT,
    command_timeout: float = COMMAND_TIMEOUT,
    instance: list[str] = INSTANCES,
    network: str = NETWORK,
    keep: Path = typer.Option(Path("runs/validate"), "--out", "-o", help="Each phase's logs and per-test outcomes go to OUT/gold and OUT/unpatched, one folder per instance."),
) -> None:
    """Check tasks: the gold patch must resolve each one, and the unpatched tree (tests run) must not.

    Prints a table; exits 1 when any task fails validation. What each phase saw (test output, eval
    script, per-test outcomes in result.json) stays under --out.

    Example: swesrl eval validate --tasks examples/tasks/tasks.jsonl
    """
    from swesrl.eval.evaluate import validate_tasks, validation_ok
    from swesrl.eval.results import write_result

    options = _options(repos_dir, image_template, base_image, timeout, start_timeout, command_timeout, network=network)
    require_eval()
    from swesrl.sandbox.factory import check_sandbox

    check_sandbox("docker")  # one line, not one failure per task, when no daemon answers
    task_list = _load_tasks(tasks, repos_dir, split, instance)
    table = Table(Column("instance", overflow="fold"), "gold patch", "unpatched", "valid")  # whole ids at any width
    why: dict[str, str] = {}

    def on_result(task, gold, empty) -> None:
        write_result(keep / "gold", gold, task.patch)
        write_result(keep / "unpatched", empty, "")
        ok = validation_ok(gold, empty)
        if not ok:
            why[task.instance_id] = f"gold: {gold.reason}" if gold.status != "resolved" else f"unpatched: {empty.status} {empty.reason}"
        table.add_row(task.instance_id, gold.status, empty.status, "[green]yes[/]" if ok else "[red]no[/]")
        err().print(f"[dim]{task.instance_id}: gold {gold.status}, unpatched {empty.status}[/]", highlight=False)

    results = validate_tasks(task_list, options=options, on_result=on_result)
    out().print(table)
    for iid, reason in why.items():
        out().print(f"[red]{iid}[/]: {reason}", highlight=False)
    bad = [t.instance_id for t, g, e in results if not validation_ok(g, e)]
    out().print(f"{len(results) - len(bad)}/{len(results)} tasks valid (logs: {keep})")
    if bad:
        raise typer.Exit(1)


@app.command("swebench-logs")
def swebench_logs(
    run_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="An evaluation run folder (RUNS_DIR/RUN_ID)."),
    logs_dir: Path = typer.Option(Path("logs/run_evaluation"), "--logs-dir", help="Where swebench's tools look (its RUN_EVALUATION_LOG_DIR)."),
) -> None:
    """Lay an evaluation run out as swebench's logs/run_evaluation/<run_id>/<model>/<instance_id> (links to its
    instance folders), so swebench's own tools (make_run_report) read it.

    Example: swesrl eval swebench-logs runs/eval/expert-replay
    """
    from swesrl.eval.swebench_format import link_run

    root = link_run(run_dir, logs_dir)
    out().print(f"linked into {root}")


def _register_run() -> None:
    from .eval_run import config, run  # beside patches/validate

    app.command("run")(run)
    app.command("config")(config)


_register_run()
