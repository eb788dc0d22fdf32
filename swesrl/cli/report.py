"""`swesrl report RUN_DIR`: an HTML page (and Markdown) of a run folder."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    target: Path = typer.Argument(..., exists=True, metavar="RUN_DIR|AGENT_RUN.jsonl",
                                  help="A run folder (training outputs, evaluation runs, agent runs) or one `agent run` trajectory."),
    out: Path = typer.Option(None, "--out", "-o", help="Where to write report.html and report.md (default RUN_DIR/report, or OUT.report/ beside a trajectory)."),
) -> None:
    """Write an HTML report of a run folder, with plots and a per-instance table.

    Plots: training reward, groups kept, format errors, completion length, resolve rates; the tables
    link each instance and each `agent run` (OUT.jsonl beside OUT.config.yaml) to a page of its steps.
    Markdown beside it.

    Example: swesrl report runs/quickstart

    Example: swesrl report runs/agent/myproject-20261130-101500.jsonl
    """
    from swesrl.report import write_report

    try:
        path = write_report(target, out)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="RUN_DIR|AGENT_RUN.jsonl") from None
    typer.echo(f"report: {path}")
