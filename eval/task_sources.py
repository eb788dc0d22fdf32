"""Where task records come from: a TaskSource per file type, chosen by suffix, else `datasets` (a name,
a folder of data files such as a downloaded dataset repository, or a saved dataset).

The built-in types (.jsonl, .json, .csv, .parquet) register through ``register_task_source`` as a
user's type does, so a new file type needs no change to swesrl. A source yields ``(label, record)``:
the label says where the record is ("line 3", "row 7", an index), the record is a mapping of task
fields, or a TaskError in its place when that one record cannot be decoded (the others still load).
A file that cannot be read at all raises TaskError.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from .predictions import json_lines
from .tasks import TaskError

Label = str | int


class TaskSource(Protocol):
    def __call__(self, path: Path) -> Iterator[tuple[Label, Any]]: ...


_SOURCES: dict[str, TaskSource] = {}


def register_task_source(suffix: str, source: TaskSource) -> None:
    """Read task files whose name ends in ``suffix`` (".yaml") with ``source``; a suffix is taken once."""
    suffix = suffix.lower()
    if not suffix.startswith("."):
        raise ValueError(f"a task file suffix starts with a dot, got {suffix!r}")
    if suffix in _SOURCES:
        raise ValueError(f"task files {suffix!r} already have a source")
    _SOURCES[suffix] = source


def unregister_task_source(suffix: str) -> None:
    _SOURCES.pop(suffix.lower(), None)


def task_records(source: str, split: str | None) -> Iterator[tuple[Label, Any]]:
    """(label, record) from a task file or a `datasets` name or folder; a source that cannot be read raises.
    ``split`` None means test for `datasets`; given with a single file it raises rather than being ignored."""
    path = Path(source)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix not in _SOURCES:
            known = ", ".join(_SOURCES)
            raise TaskError(source, None, None, f"unknown task file type {suffix!r} (known: {known})")
        if split is not None:
            raise TaskError(source, None, None, f"split {split!r} (--split) given for a single task file, which has no "
                                                "splits; --split applies to `datasets` names and folders of data files: "
                                                "drop it to read every task in the file")
        yield from _SOURCES[suffix](path)
        return
    if path.exists() and not path.is_dir():
        raise TaskError(source, None, None, "not a regular file")
    if not path.exists() and path.suffix.lower() in _SOURCES:  # a mistyped file, not a Hub name: no Hub retries
        raise TaskError(source, None, None, "no such file")
    yield from _dataset(source, split)


def _jsonl(path: Path) -> Iterator[tuple[Label, Any]]:
    for n, got in json_lines(path):  # got: the decoded line, or what is wrong with it
        yield f"line {n}", TaskError(str(path), f"line {n}", None, got) if isinstance(got, str) else got.value


def _json(path: Path) -> Iterator[tuple[Label, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise TaskError(str(path), f"line {e.lineno}", None, f"invalid JSON ({e.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("instances"), list):
        data = data["instances"]
    if not isinstance(data, list):
        raise TaskError(str(path), None, None, "expected a list of tasks or {\"instances\": [...]}")
    yield from enumerate(data)


def _csv(path: Path) -> Iterator[tuple[Label, Any]]:
    csv.field_size_limit(sys.maxsize)  # patches and issue texts exceed the 128 KiB default
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        for row in reader:
            yield f"row {reader.line_num}", row  # a record can span lines; the reader knows the line it ended on


def _parquet(path: Path) -> Iterator[tuple[Label, Any]]:
    import pyarrow.parquet as pq

    yield from enumerate(pq.read_table(path).to_pylist())


def _dataset(source: str, split: str | None) -> Iterator[tuple[Label, Any]]:
    """A `datasets` name on the hub or in its cache, a folder ``save_to_disk`` wrote, or a folder of
    data files (a downloaded dataset repository: ``data/test-*.parquet``, ``dev.jsonl``, ...) whose
    split ``datasets`` tells from the file names. A single file is read by its TaskSource instead:
    `datasets` would stop at the first bad line, and its CSV loader turns a version "2.20" into 2.2."""
    try:
        import datasets
    except ImportError:
        raise TaskError(source, None, None, "no such file, and the `datasets` package is not installed") from None
    saved = Path(source, "dataset_dict.json").is_file() or Path(source, "state.json").is_file()
    asked, split = split, split or "test"
    try:
        ds = datasets.load_from_disk(source) if saved else datasets.load_dataset(source, split=split)
    except ValueError as e:
        if "split" in str(e).lower():  # datasets: 'Unknown split "x". Should be one of [...]'
            raise TaskError(source, None, None, f"no split {split!r} (--split): {str(e).splitlines()[0]}") from None
        raise TaskError(source, None, None, f"cannot load as a file or `datasets` dataset: {e}") from None
    except Exception as e:  # datasets raises many types for a missing name or offline hub
        raise TaskError(source, None, None, f"cannot load as a file or `datasets` dataset: {e}") from None
    if isinstance(ds, datasets.DatasetDict):
        if split not in ds:
            raise TaskError(source, None, None, f"no split {split!r} (--split); it has {sorted(ds)}")
        ds = ds[split]
    elif asked is not None and str(ds.split) != asked:  # one saved split: it has no other
        raise TaskError(source, None, None, f"no split {asked!r} (--split); it is one saved dataset, split {ds.split or 'unnamed'}")
    yield from enumerate(ds)


for _suffix, _source in ((".jsonl", _jsonl), (".json", _json), (".csv", _csv), (".parquet", _parquet)):
    register_task_source(_suffix, _source)
