"""The CLI's two consoles: results on stdout, progress and errors on stderr.

Soft wrap: lines stay whole whatever the terminal width, so logs and pipes keep paths and reasons
greppable (the terminal wraps what it shows). Tables, panels and rules still fit the terminal.

A new console at each use: rich reads COLUMNS (and NO_COLOR...) once, when a console is made, and a
process that runs many commands (tests through CliRunner, each with its own COLUMNS) must not draw
them all at the width of the first. Making one costs ~15 us.
"""

from __future__ import annotations

from rich.console import Console


def out() -> Console:
    """The results console, sized by the terminal (or COLUMNS) as it is now."""
    return Console(soft_wrap=True)


def err() -> Console:
    """The progress and errors console, sized by the terminal (or COLUMNS) as it is now."""
    return Console(stderr=True, soft_wrap=True)
