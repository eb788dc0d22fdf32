"""`swesrl traj ...`: read expert runs, inspect them, split them into step examples."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from swesrl.settings import help_of
from swesrl.trajectories import Trajectory, TrajectoryError
from swesrl.trajectories.context import ContextConfig
from swesrl.trajectories.readers import FORMATS
from swesrl.trajectories.split import SplitConfig, SplitStats, split, split_all, write_examples

from . import SUMMARY
from .output import err, out

app = typer.Typer(help=SUMMARY["traj"], no_args_is_help=True)


class OnError(str, Enum):
    skip = "skip"
    fail = "fail"


Files = Annotated[list[Path], typer.Argument(exists=True, help="Trajectory files (any supported format) or folders of them.")]
# The prompt's settings: names, defaults and help are ContextConfig's (the agent's `agent.context.*`).
_CONTEXT = ContextConfig()
CONTEXT_STEPS = typer.Option(str(_CONTEXT.context_steps), "--context-steps",
                             help=help_of(ContextConfig, "context_steps").replace("; null = all", ", or 'all'"))
PROMPT_BUDGET = typer.Option(_CONTEXT.prompt_budget_tokens, "--prompt-budget-tokens", help=help_of(ContextConfig, "prompt_budget_tokens"))
MAX_OBS_CHARS = typer.Option(_CONTEXT.max_observation_chars, "--max-observation-chars", help=help_of(ContextConfig, "max_observation_chars"))
RUN_VIEW_OBS_CHARS = 1500  # `traj inspect` without --step: a readable view, not a prompt


def _format(value: str | None) -> str | None:
    from swesrl.trajectories.readers import check_format

    try:
        return None if value is None else check_format(value)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


FORMAT = typer.Option(None, "--format", callback=_format, help=(
    "Read every record as this format instead of sniffing it (e.g. a format of your own that a built-in one also "
    f"claims): a name in the reader registry; built in: {', '.join(FORMATS)}."))
TOKENIZER = typer.Option(None, "--tokenizer", help="Hugging Face tokenizer path for token counts (default: a 3.5 chars/token estimate).")
ON_ERROR = typer.Option(OnError.skip, "--on-error", help="skip: log bad records and go on; fail: stop at the first one (exit 1).")
ERRORS_FILE = typer.Option(None, "--errors-file", help="Where skipped records are logged as JSONL (default: OUT.errors.jsonl).")


def _context_steps(value: str) -> int | None:
    if value.strip().lower() == "all":
        return None
    try:
        k = int(value)
    except ValueError:
        raise typer.BadParameter(f"expected a number or 'all', got {value!r}", param_hint="--context-steps") from None
    if k < 0:
        raise typer.BadParameter("must be >= 0", param_hint="--context-steps")
    return k


class ErrorLog:
    """Skipped records, appended to a JSONL file as they happen (the file is created on the first one)."""

    def __init__(self, path: Path):
        self.path, self.count = path, 0
        self._f: TextIO | None = None
        path.unlink(missing_ok=True)  # a stale log from an earlier run would mislead

    def add(self, e: TrajectoryError) -> None:
        if self._f is None:
            self._f = self.path.open("w", encoding="utf-8")
        record = {"path": e.path, "record": e.record, "field": e.field, "problem": e.problem, "message": str(e)}
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._f.flush()
        self.count += 1

    def close(self) -> None:
        if self._f is not None:
            self._f.close()


def _read(paths: Sequence[Path], on_error: Callable[[TrajectoryError], None] | None, fmt: str | None) -> Iterator[Trajectory]:
    """Every run in every path; with on_error, a file that cannot be read at all is one more logged error."""
    from swesrl.trajectories.readers import read_trajectories

    for path in paths:
        try:
            yield from read_trajectories(path, on_error=on_error, format=fmt)
        except TrajectoryError as e:
            if on_error is None:
                raise
            on_error(e)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} inputs  {task.fields[runs]} runs  {task.fields[note]}"),
        TimeElapsedColumn(),
        console=err(),
        transient=True,
    )


def _tracked(paths: Sequence[Path], on_error, fmt: str | None, progress: Progress, note: Callable[[], str]) -> Iterator[Trajectory]:
    """_read with a progress bar: one tick per input path, the run count live."""
    task = progress.add_task("reading", total=len(paths), runs=0, note="")
    runs = 0
    for path in paths:
        progress.update(task, description=path.name)
        for traj in _read([path], on_error, fmt):
            runs += 1
            progress.update(task, runs=runs, note=note())
            yield traj
        progress.advance(task)


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(exists=True, help="A trajectory file (any supported format).")],
    index: int = typer.Option(0, "--index", "-i", help="Which run in the file (0-based), for files holding several."),
    step: int | None = typer.Option(None, "--step", "-s", help="Show the step example of this step: prompt messages and target."),
    context_steps: str = CONTEXT_STEPS,
    max_observation_chars: int | None = typer.Option(None, "--max-observation-chars", show_default=False, help=(
        f"Cut observations to this many characters: in the run view (default {RUN_VIEW_OBS_CHARS}), and with --step in "
        f"the example's prompt, as `traj split --max-observation-chars` cuts them (default {_CONTEXT.max_observation_chars}).")),
    fmt: str | None = FORMAT,
) -> None:
    """Show one expert run readably: the issue, then each step's thought, action and observation.

    With --step, the example shown is the one `traj split` writes with the same --context-steps and
    --max-observation-chars.

    Example: swesrl traj inspect runs/django__django-11179.json --step 3
    """
    from swesrl.trajectories.render import render_example, render_trajectory

    try:
        traj = next(islice(_read([file], None, fmt), index, None), None)
    except TrajectoryError as e:
        err().print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    if traj is None:
        err().print(f"[red]error:[/red] {file} holds fewer than {index + 1} runs")
        raise typer.Exit(1)
    # soft_wrap=False: the views are panels as wide as the terminal; soft wrap would crop their long lines.
    if step is None:
        out().print(render_trajectory(traj, RUN_VIEW_OBS_CHARS if max_observation_chars is None else max_observation_chars), soft_wrap=False)
        return
    context = ContextConfig(context_steps=_context_steps(context_steps))
    if max_observation_chars is not None:
        context = replace(context, max_observation_chars=max_observation_chars)
    config = SplitConfig(context=context)
    ex = next((e for e in split(traj, config) if e.step_index == step), None)
    if ex is None:
        if not 0 <= step < len(traj.steps):
            why = f"the run has {len(traj.steps)} steps (0..{len(traj.steps) - 1})"
        else:
            why = f"step {step} has no action ({traj.steps[step].action_error or 'none'}), so it is no example"
        err().print(f"[red]error:[/red] no example for step {step}: {why}")
        raise typer.Exit(1)
    out().print(render_example(ex), soft_wrap=False)


@app.command()
def stats(
    files: Files,
    context_steps: str = CONTEXT_STEPS,
    prompt_budget_tokens: int = PROMPT_BUDGET,
    tokenizer: str | None = TOKENIZER,
    fmt: str | None = FORMAT,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Runs per format, steps per run, action kinds, prompt sizes, resolved share, turns without action.

    Bad records are skipped and counted. Example: swesrl traj stats data/trajectories/ --json
    """
    from swesrl.trajectories.stats import corpus_stats

    errors: list[TrajectoryError] = []
    context = ContextConfig(context_steps=_context_steps(context_steps), prompt_budget_tokens=prompt_budget_tokens)
    config = SplitConfig(context=context, tokenizer=tokenizer)
    with _progress() as progress:
        s = corpus_stats(_tracked(files, errors.append, fmt, progress, lambda: ""), config)
    d = s.to_dict() | {"errors": len(errors)}
    if as_json:
        typer.echo(json.dumps(d, indent=2))
        return
    t = Table(title="trajectory corpus", show_header=False)
    t.add_row("runs", str(d["runs"]))
    for fmt, n in d["runs_per_format"].items():
        t.add_row(f"  format {fmt}", str(n))
    sp = d["steps_per_run"]
    t.add_row("steps per run", f"mean {sp['mean']}  min {sp['min']}  max {sp['max']}")
    for kind, n in d["action_kinds"].items():
        t.add_row(f"  action {kind}", str(n))
    t.add_row("turns without action", str(d["turns_without_action"]))
    known = d["runs"] - d["outcomes"].get("unknown", 0)
    share = "unknown (no run states its outcome)" if d["resolved_share"] is None else f"{d['resolved_share']} of {known} runs with a known outcome"
    t.add_row("resolved share", share)
    t.add_row("outcomes", ", ".join(f"{k} {v}" for k, v in d["outcomes"].items()))
    pt = d["prompt_tokens"]
    t.add_row("step examples", str(d["examples"]))
    kinds: dict[str, int] = {}
    for report in d["split"]["formats"].values():
        for kind, n in report["target_kinds"].items():
            kinds[kind] = kinds.get(kind, 0) + n
    t.add_row("  targets (canonical)", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])) or "none")
    t.add_row("  steps that are no target", ", ".join(f"{k} {v}" for k, v in d["split"]["dropped"].items()) or "none")
    t.add_row("prompt tokens", f"p50 {pt['p50']}  p90 {pt['p90']}  p99 {pt['p99']}  max {pt['max']}")
    t.add_row("errors (skipped records)", str(d["errors"]))
    out().print(t)
    for e in errors[:10]:
        err().print(f"[yellow]skipped:[/yellow] {e}")


@app.command("split")
def split_cmd(
    files: Files,
    output: Annotated[Path, typer.Option("--output", "-o", help="OUT.jsonl or OUT.parquet.")],
    context_steps: str = CONTEXT_STEPS,
    prompt_budget_tokens: int = PROMPT_BUDGET,
    max_observation_chars: int = MAX_OBS_CHARS,
    tokenizer: str | None = TOKENIZER,
    fmt: str | None = FORMAT,
    only_resolved: bool = typer.Option(False, "--only-resolved", help="Skip runs whose outcome is not 'resolved'."),
    submit: bool = typer.Option(True, "--submit/--no-submit", help="Keep submit steps as targets."),
    drop_last: bool = typer.Option(False, "--drop-last", help="Drop each run's last action (the paper's N-1 examples)."),
    dedupe: bool = typer.Option(False, "--dedupe", help="Drop examples whose (prompt, target) already appeared."),
    keep_workdir: bool = typer.Option(
        False, "--keep-workdir", help="Keep the scaffold's repository folder (e.g. /workspace/repo__1.0) instead of /testbed."
    ),
    on_error: OnError = ON_ERROR,
    errors_file: Path | None = ERRORS_FILE,
) -> None:
    """Split expert runs into SRL step examples: prompt = issue + previous turns, target = the expert's action.

    Prints the split report (per source format: runs, examples, dropped steps by reason, target kinds)
    and writes it beside the output as OUT.report.json.

    Example: swesrl traj split data/trajectories/ -o steps.parquet --context-steps 2 --only-resolved
    """
    if output.suffix.lower() not in (".jsonl", ".parquet"):
        raise typer.BadParameter(f"{output}: must end in .jsonl or .parquet", param_hint="--output")
    config = SplitConfig(
        context=ContextConfig(_context_steps(context_steps), max_observation_chars, prompt_budget_tokens),
        only_resolved=only_resolved,
        keep_submit=submit,
        drop_last=drop_last,
        dedupe=dedupe,
        tokenizer=tokenizer,
        workdir=None if keep_workdir else SplitConfig.workdir,
    )
    _check_tokenizer(tokenizer)
    log = ErrorLog(errors_file or output.with_name(output.name + ".errors.jsonl"))
    stats = SplitStats()
    try:
        with _progress() as progress:
            runs = _tracked(files, log.add if on_error is OnError.skip else None, fmt, progress, lambda: f"{stats.examples} examples")
            written = write_examples(split_all(runs, config, stats), output)
    except TrajectoryError as e:
        err().print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    finally:
        log.close()
    report = output.with_name(output.name + ".report.json")
    report.write_text(json.dumps(stats.to_dict() | {"errors": log.count, "output": str(output), "context": asdict(config.context)},
                                 indent=2) + "\n", encoding="utf-8")
    out().print(_report_lines(stats), soft_wrap=True, highlight=False, markup=False)
    out().print(
        f"[green]wrote[/green] {written} examples to {output}; report {report}\n"
        f"runs read {stats.trajectories} (unresolved skipped {stats.unresolved_skipped}, id collisions renamed "
        f"{stats.id_collisions}); errors {log.count}" + (f" (see {log.path})" if log.count else ""),
        soft_wrap=True,
    )
    _fail_if_none_read(stats.trajectories, files)


def _check_tokenizer(tokenizer: str | None) -> None:
    """Load the tokenizer before reading anything: a bad path is one line, not a traceback mid-split."""
    from swesrl.trajectories.split import TokenizerError, token_counter

    try:
        token_counter(tokenizer)
    except TokenizerError as e:
        err().print(f"[red]error:[/red] --tokenizer: {e}", soft_wrap=True)
        raise typer.Exit(1) from None


def _report_lines(stats: SplitStats) -> str:
    """The split report, one line per source format: where every expert step went."""
    d = stats.to_dict()
    lines = ["split report (per source format):"]
    for name, r in [*d["formats"].items(), ("all", d)]:
        dropped = ", ".join(f"{k} {v}" for k, v in r["dropped"].items()) or "none"
        kinds = ", ".join(f"{k} {v}" for k, v in r["target_kinds"].items()) if "target_kinds" in r else ""
        lines.append(
            f"  {name}: {r['runs']} runs, {r['steps']} steps -> {r['examples']} examples; dropped: {dropped}; "
            + (f"targets: {kinds}; " if kinds else "")
            + f"context cut for the budget: {r['context_cut']}; expert answers not scoring 1.0: {r['answer_not_exact']}"
        )
    return "\n".join(lines)


@app.command()
def convert(
    files: Files,
    output: Annotated[Path, typer.Option("--output", "-o", help="OUT.jsonl in swesrl's own trajectory schema.")],
    fmt: str | None = FORMAT,
    on_error: OnError = ON_ERROR,
    errors_file: Path | None = ERRORS_FILE,
) -> None:
    """Convert runs from any supported format into swesrl's own JSONL schema (one run per line).

    Example: swesrl traj convert data/trajectories/openhands-fncall/ -o runs.jsonl
    """
    from swesrl.trajectories.readers.swesrl_format import write_trajectories

    if output.suffix.lower() != ".jsonl":
        raise typer.BadParameter(f"{output}: must end in .jsonl", param_hint="--output")
    log = ErrorLog(errors_file or output.with_name(output.name + ".errors.jsonl"))
    part = output.with_name(output.name + ".part")  # renamed at the end: a cut-off run never looks complete
    part.unlink(missing_ok=True)
    try:
        with _progress() as progress:
            written = write_trajectories(_tracked(files, log.add if on_error is OnError.skip else None, fmt, progress, lambda: ""), part)
        part.replace(output)
    except TrajectoryError as e:
        err().print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from None
    finally:
        log.close()
        part.unlink(missing_ok=True)
    out().print(f"[green]wrote[/green] {written} runs to {output}; errors {log.count}" + (f" (see {log.path})" if log.count else ""), soft_wrap=True)
    _fail_if_none_read(written, files)


def _fail_if_none_read(runs: int, files: Sequence[Path]) -> None:
    """Exit 1 when no input gave a single run: an empty training file must not look like a success."""
    if not runs:
        err().print(f"[red]error:[/red] no runs read from {', '.join(map(str, files))}", soft_wrap=True)
        raise typer.Exit(1)
