"""The reader registry: every trajectory format, built-in or a user's, is a TrajectoryReader found here.

A format is a name, a ``sniff`` that recognizes one of its records and a ``parse`` that turns a
record into runs. ``register_reader`` adds one at run time; an installed package can add one
without any call by naming a TrajectoryReader under the ``swesrl.readers`` entry-point group
(loaded on the first lookup). Sniffing asks the built-in formats first, in their registration order,
so a user's format never changes how a known format is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol

from ..schema import Trajectory
from .common import Where

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "swesrl.readers"


class TrajectoryReader(Protocol):
    """One source format. ``parse`` raises TrajectoryError (via ``where.error``) on a bad record."""

    @property
    def name(self) -> str: ...

    @property
    def steps_field(self) -> str:
        """The record field an empty run is reported on."""
        ...

    def sniff(self, obj: Any) -> bool: ...

    def parse(self, obj: Any, where: Where) -> Trajectory | list[Trajectory]: ...


@dataclass(frozen=True)
class Reader:
    """A TrajectoryReader made of two functions: what ``register_reader`` builds."""

    name: str
    sniff: Callable[[Any], bool]
    parse: Callable[[Any, Where], Trajectory | list[Trajectory]]
    steps_field: str = "steps"


_READERS: dict[str, TrajectoryReader] = {}
_plugins_loaded = False


def register_reader(
    name: str,
    sniff: Callable[[Any], bool],
    parse: Callable[[Any, Where], Trajectory | list[Trajectory]],
    steps_field: str = "steps",
) -> TrajectoryReader:
    """Add a format; ``read_trajectories`` and every ``swesrl traj`` command read it from then on."""
    return add_reader(Reader(name, sniff, parse, steps_field))


def add_reader(reader: TrajectoryReader) -> TrajectoryReader:
    """Add any TrajectoryReader; a name already taken is an error (formats are told apart by name)."""
    if reader.name in _READERS:
        raise ValueError(f"a trajectory reader named {reader.name!r} is already registered")
    _READERS[reader.name] = reader
    return reader


def unregister_reader(name: str) -> None:
    """Remove a user's format (tests and plugins that are unloaded)."""
    _READERS.pop(name, None)


def readers() -> dict[str, TrajectoryReader]:
    """Every registered format by name, in sniffing order (installed plugins loaded on first use)."""
    _load_plugins()
    return _READERS


def _load_plugins() -> None:
    """Add the readers installed packages name under ``swesrl.readers``; a broken one is logged and skipped."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            reader = ep.load()
            add_reader(reader)
        except Exception as e:  # a third-party plugin can fail in any way; reading the rest goes on
            log.warning("trajectory reader plugin %r (%s) not loaded: %s: %s", ep.name, ep.value, type(e).__name__, e)
