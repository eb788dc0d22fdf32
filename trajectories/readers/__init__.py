"""Trajectory readers, one module per source format, chosen by sniffing the content.

``read_trajectories(path)`` reads a file (JSON, a JSON list of runs, or JSONL) or a directory
(its files, recursively, in sorted order) and yields Trajectory objects lazily. The format comes
from the records themselves, never the file name, unless ``format`` names it. Each bad record or
file becomes a TrajectoryError naming the file, record and field: raised when ``on_error`` is None,
otherwise handed to ``on_error`` while reading goes on with the next record or file.

Formats live in the registry (``registry.py``): each is a TrajectoryReader with a ``name``, a
``sniff(obj) -> bool`` and a ``parse(obj, where) -> Trajectory`` (or a list of them: a multi-agent
log is one run per sub-agent). The built-in formats, one module each, register through
``register_reader`` like a user's format does.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..schema import Trajectory, TrajectoryError
from . import (
    mini_swe_agent,
    nebius,
    openai_chat,
    openhands_events,
    swe_agent,
    swe_smith,
    swesrl_format,
)
from .common import OnError, Where, file_stem, kind
from .records import iter_records
from .registry import TrajectoryReader, add_reader, readers, register_reader, unregister_reader
from .swesrl_format import write_trajectories

# Sniffing order: OpenHands fncall logs also hold an XML rendering in "messages", so openai-chat
# (which keys on "fncall_messages") is asked before swe-smith.
_BUILT_IN = (swe_agent, openai_chat, swe_smith, mini_swe_agent, openhands_events, nebius, swesrl_format)
for _module in _BUILT_IN:
    register_reader(_module.NAME, _module.sniff, _module.parse, steps_field=_module.STEPS_FIELD)
FORMATS: tuple[str, ...] = tuple(m.NAME for m in _BUILT_IN)  # the built-in formats

__all__ = [
    "FORMATS", "TrajectoryReader", "add_reader", "check_format", "read_trajectories", "register_reader", "sniff_format",
    "unregister_reader", "write_trajectories",
]


def _raise(error: TrajectoryError) -> None:
    raise error


def _sniff(obj: Any) -> TrajectoryReader | None:
    return next((r for r in readers().values() if r.sniff(obj)), None)


def _unknown(obj: Any, where: Where) -> TrajectoryError:
    """Say what is wrong with a record no format claims: a container of the wrong type, or the keys seen."""
    if isinstance(obj, dict):
        for key in ("messages", "fncall_messages", "trajectory", "history", "steps"):
            if key in obj and not isinstance(obj[key], list):
                return where.error(key, f"expected a list, got {kind(obj[key])}")
        keys = ", ".join(sorted(map(str, obj))[:12]) or "none"
        return where.error(None, f"unknown trajectory format (keys: {keys})")
    return where.error(None, f"unknown trajectory format ({kind(obj)})")


def sniff_format(path: str | Path) -> str:
    """The format of a file's first recognizable record; raises TrajectoryError when there is none."""
    errors: list[TrajectoryError] = []
    for record, obj in iter_records(Path(path), errors.append, lambda value: _sniff(value) is not None):
        found = _sniff(obj)
        if found is not None:
            return found.name
        errors.append(_unknown(obj, Where(str(path), record)))
    raise errors[0] if errors else TrajectoryError(str(path), None, None, "no records")


def check_format(format: str) -> str:
    """``format`` if a reader of that name is registered; else ValueError naming the known ones (and the close ones)."""
    known = list(readers())
    if format in known:
        return format
    close = difflib.get_close_matches(format, known, n=2, cutoff=0.5)
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    raise ValueError(f"unknown format {format!r}{hint}; known formats: {', '.join(known)}")


def read_trajectories(
    path: str | Path, on_error: OnError | None = None, format: str | None = None
) -> Iterator[Trajectory]:
    """The trajectories in a file or directory, lazily; see the module docstring for errors.

    Hidden files and folders (names starting with a dot) in a directory are skipped.
    """
    if format is not None:
        check_format(format)
    return _read_path(Path(path), on_error or _raise, format)


def _read_path(path: Path, report: OnError, format: str | None) -> Iterator[Trajectory]:
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            report(TrajectoryError(str(path), None, None, "a folder with no files in it (hidden ones are skipped)"))
    elif path.exists():
        files = [path]
    else:
        report(TrajectoryError(str(path), None, None, "no such file or directory"))
        return
    for file in files:
        yield from _read_file(file, report, format, _name(file.relative_to(path)) if file != path else None)


def _name(relative: Path) -> str:
    """A file's name in ids: its path under the folder read, without the format suffixes."""
    return str(relative.parent / file_stem(relative.name)) if relative.parent != Path(".") else file_stem(relative.name)


def _read_file(path: Path, report: OnError, format: str | None, label: str | None = None) -> Iterator[Trajectory]:
    reader = readers()[format] if format else None

    def is_run(value: list[Any]) -> bool:
        return reader.sniff(value) if reader else _sniff(value) is not None

    for record, obj in iter_records(path, report, is_run):
        where = Where(str(path), record, label)
        if reader is None:
            reader = _sniff(obj)  # one file, one format: later records get field-level errors
            if reader is None:
                report(_unknown(obj, where))
                continue
        try:
            parsed = reader.parse(obj, where)
            runs = parsed if isinstance(parsed, list) else [parsed]
            if not any(t.steps for t in runs):
                raise where.error(reader.steps_field, "empty run: no steps")
        except TrajectoryError as e:
            report(e)
            continue
        except (KeyError, TypeError, AttributeError, ValueError, IndexError, RecursionError) as e:
            report(where.error(None, f"cannot read record ({type(e).__name__}: {e})"))
            continue
        yield from (t for t in runs if t.steps)
