"""The `swesrl` command: one subcommand group per pipeline stage. It composes the stages; nothing imports it."""

from __future__ import annotations

import typer
from rich.markup import escape
from typer.core import TyperGroup

from swesrl import __version__
from swesrl.errors import SwesrlError
from swesrl.logs import setup_logging

from . import agent, doctor, eval, eval_run, model, quickstart, report, sandbox, train, traj
from .output import err


class _Root(TyperGroup):
    """Operational failures (no Docker, a missing extra, a locked run) are one line and an exit code;
    anything else is a bug and keeps its traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except SwesrlError as e:
            err.print(f"[red]error:[/] {escape(str(e))}", highlight=False)
            raise typer.Exit(e.exit_code) from None


app = typer.Typer(
    cls=_Root,
    name="swesrl",
    help="Teach small language models to fix real software bugs (SRL), and prove it by running their patches.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
app.add_typer(traj.app, name="traj")
app.add_typer(sandbox.app, name="sandbox")
eval.app.command("run")(eval_run.run)
app.add_typer(eval.app, name="eval")
app.add_typer(agent.app, name="agent")
app.add_typer(train.app, name="train")
app.add_typer(model.app, name="model")
app.command("report")(report.report)
app.command("quickstart")(quickstart.quickstart)
app.command("doctor")(doctor.doctor)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"swesrl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Expert trajectories -> step examples -> SRL training -> the agent in a Docker sandbox -> SWE-bench evaluation."""
    setup_logging()


def main() -> None:
    app()
