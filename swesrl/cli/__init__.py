"""The `swesrl` command: one subcommand group per pipeline stage. It composes the stages; nothing imports it.

Subcommands load on use: `swesrl traj ...` never imports the agent, and `swesrl --help` lists the
commands from the table below without importing any of them (bench/cli_startup.py measures it).
"""

from __future__ import annotations

import functools
import importlib
import inspect
from typing import TYPE_CHECKING

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:  # typer vendors its own click (importing the real one would cost ~15 ms)
    from typer._click.core import Command, Context
    from typer._click.formatting import HelpFormatter

# name -> (module in swesrl.cli, attribute: a Typer group or a command function, one-line summary).
# A group's Typer takes its help from here (SUMMARY); a command's docstring starts with its summary
# (tests/test_cli_startup.py checks both).
COMMANDS = {
    "traj": ("traj", "app", "Expert trajectories: inspect, stats, convert, split into step examples."),
    "train": ("train", "app", "Train: SRL (GRPO + step reward + dynamic sampling), SFT baseline, RLVR."),
    "model": ("model", "app", "Model utilities: tiny random-initialized Qwen2 models; export a training run as a model folder."),
    "agent": ("agent", "app", "The agent: a model works on an issue inside a Docker sandbox."),
    "sandbox": ("sandbox", "app", "Docker sandbox: build and list images, open a shell in one, remove leftovers."),
    "eval": ("eval", "app", "SWE-bench evaluation: run predictions' patches against the tasks' tests in Docker."),
    "report": ("report", "report", "Write an HTML report of a run folder, with plots and a per-instance table."),
    "quickstart": ("quickstart", "quickstart", "The whole pipeline on the bundled data, on CPU, in minutes."),
    "doctor": ("doctor", "doctor", "Check Docker, the base image, optional extras and disk space; say how to fix each problem."),
}
SUMMARY = {name: summary for name, (_, _, summary) in COMMANDS.items()}


@functools.cache
def load_command(name: str) -> Command:
    """The real click command of a subcommand, importing its module (and only its module)."""
    module_name, attribute, _ = COMMANDS[name]
    module = importlib.import_module(f"{__name__}.{module_name}")
    target = getattr(module, attribute)
    command: Command
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:
        info = typer.models.CommandInfo(name=name, callback=target)
        command = typer.main.get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode="rich")
    _reflow(command)
    return command


def _reflow(command: Command) -> None:
    """Join the docstring's source line breaks within each paragraph (typer's rich help keeps them after
    the first, so the help broke at the source's lines as well as the terminal's width)."""
    if command.help:
        command.help = "\n\n".join(" ".join(p.split()) for p in inspect.cleandoc(command.help).split("\n\n"))
    for sub in getattr(command, "commands", {}).values():
        _reflow(sub)


class _Root(TyperGroup):
    """Lazy subcommands, and operational failures (no Docker, a missing extra, a locked run) as one
    line and an exit code; anything else is a bug and keeps its traceback."""

    _listing = False

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, name: str) -> Command | None:
        if name not in COMMANDS:
            return None
        if self._listing:  # the help screen needs names and summaries only
            return TyperCommand(name, help=SUMMARY[name], short_help=SUMMARY[name])
        return load_command(name)

    def format_help(self, ctx: Context, formatter: HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: Context):
        from swesrl.errors import SwesrlError

        try:
            return super().invoke(ctx)
        except SwesrlError as e:
            from rich.markup import escape

            from .output import err

            err().print(f"[red]error:[/] {escape(str(e))}", highlight=False)
            raise typer.Exit(e.exit_code) from None


app = typer.Typer(
    cls=_Root,
    name="swesrl",
    help="Teach small language models to fix real software bugs (SRL), and prove it by running their patches.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help here and plain one-line errors everywhere; typer's rich renderer costs 0.4 s to import
)


def _version(value: bool) -> None:
    if value:
        from swesrl import __version__

        typer.echo(f"swesrl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Expert trajectories -> step examples -> SRL training -> the agent in a Docker sandbox -> SWE-bench evaluation."""
    from swesrl.logs import setup_logging

    setup_logging()


def main() -> None:
    app()
