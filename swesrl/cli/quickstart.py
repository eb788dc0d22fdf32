"""`swesrl quickstart`: the whole pipeline on the bundled data, on CPU, in minutes."""

from __future__ import annotations

from pathlib import Path

import typer


def quickstart(
    out: Path = typer.Option(Path("runs/quickstart"), "--out", "-o", help="Run folder for every stage's output."),
    workers: int = typer.Option(2, "--workers", "-w", help="Instances evaluated at once."),
) -> None:
    """The whole pipeline on the bundled data, on CPU, in minutes.

    Split the bundled expert runs, build a tiny model, SFT warm start, SRL, run the trained agent and the
    expert replay on the bundled tasks in Docker, and write the report. Each stage prints its own command.

    Example: swesrl quickstart --out runs/quickstart
    """
    from swesrl.quickstart import run_quickstart

    try:
        run_quickstart(out, workers)
    except FileNotFoundError as e:
        raise typer.BadParameter(str(e)) from None
