"""`swesrl traj ...`: read expert runs, inspect them, split them into step examples."""

from __future__ import annotations

import typer

app = typer.Typer(help="Expert trajectories: inspect, stats, convert, split into step examples.", no_args_is_help=True)
