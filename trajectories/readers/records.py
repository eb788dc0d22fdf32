"""File -> records: one JSON document, a JSON list of runs, or JSONL read line by line.

Which of these a file is comes from its bytes, never its name. JSONL streams: only one line is in
memory at a time, so a corpus of many runs never has to fit in memory at once.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from ..schema import TrajectoryError
from .common import OnError, Where

_HEAD = 8192
_BOM = b"\xef\xbb\xbf"


def _json_error(e: ValueError, one_line: bool = False) -> str:
    """``one_line``: the text was one JSONL line (the record names the file's line; a position past its
    end is the line's end, not a 'line 2')."""
    if isinstance(e, json.JSONDecodeError):
        at = f"line {e.lineno} column {e.colno}" if not one_line else f"column {e.colno}" if e.lineno == 1 else "the end of the line"
        return f"invalid JSON: {e.msg.removesuffix(' at')} at {at}"  # (json's 'Invalid control character at')
    if isinstance(e, UnicodeDecodeError):
        return f"not UTF-8 text: {e.reason} at byte {e.start}"
    return f"invalid JSON: {e}"


def iter_records(path: Path, report: OnError, is_run: Callable[[list[Any]], bool]) -> Iterator[tuple[int | None, Any]]:
    """Yield ``(record, value)``: record is the JSONL line number, the index in a JSON list, or None.

    ``is_run`` says whether a top-level JSON list is itself one run (a bare message or event list)
    rather than a list of runs. Problems go to ``report`` and reading goes on where it can.
    """
    where = Where(str(path))
    try:
        f = path.open("rb")
    except OSError as e:
        report(where.error(None, f"cannot open: {e.strerror or e}"))
        return
    with f:
        head = f.read(_HEAD)
        bom = len(_BOM) if head.startswith(_BOM) else 0  # Windows editors write one; json reads past it
        head = head[bom:]
        start = head.lstrip()[:1]
        if not start:
            report(where.error(None, "empty file"))
            return
        if b"\x00" in head or start not in b"{[":
            report(where.error(None, "not a JSON or JSONL file: it must start with { or [ (binary or other text?)"))
            return
        f.seek(bom)
        first = f.readline()
        value = _loads(first)
        if isinstance(value, dict):
            yield 1, value
            yield from _jsonl(f, 2, where, report)
            return
        f.seek(bom)
        data = f.read()
    try:
        value = json.loads(data)
    except ValueError as e:
        if not _has_object_line(data):
            report(where.error(None, _json_error(e)))
            return
        # A JSONL file whose first line is broken: report that line, read the rest.
        yield from _jsonl(io.BytesIO(data), 1, where, report)
        return
    del data
    if isinstance(value, dict):  # the first byte was { or [, so a parsed value is a dict or a list
        yield None, value
    elif not value:
        report(where.error(None, "empty list: no runs"))
    elif is_run(value):
        yield None, value
    else:
        yield from enumerate(value)


def _has_object_line(data: bytes) -> bool:
    """Does a line after the first hold a whole non-empty JSON object at column 0 (JSONL, not pretty JSON)?"""
    pos = data.find(b"\n") + 1
    while 0 < pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end == -1 else end
        if data.startswith(b"{", pos) and _loads(data[pos:end]):
            return True
        pos = end + 1
    return False


def _loads(line: bytes) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def _jsonl(f: IO[bytes], first_line: int, where: Where, report: OnError) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(f, first_line):
        if line.isspace():  # (no copy of a long line, unlike strip)
            continue
        try:
            yield number, json.loads(line)
        except ValueError as e:
            report(TrajectoryError(where.path, number, None, _json_error(e, one_line=True)))
