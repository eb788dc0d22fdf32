"""`swesrl report RUN_DIR`: an HTML page (and Markdown) of a run folder."""

from __future__ import annotations

from pathlib import Path

import typer


def report(
    run_dir: Path = typer.Argument(..., exists=True, file_okay=False, help="A run folder: training outputs and/or evaluation runs."),
    out: Path = typer.Option(None, "--out", "-o", help="Where to write report.html and report.md (default RUN_DIR/report)."),
) -> None:
    """Write an HTML report of a run folder, with plots and a per-instance table.

    Plots: training reward, groups kept, format errors, completion length, resolve rates; the table
    links each instance to its trajectory. Markdown beside it.

    Example: swesrl report runs/quickstart
    """
    from swesrl.report import write_report

    path = write_report(run_dir, out)
    typer.echo(f"report: {path}")
