"""Predictions in SWE-bench's format (JSONL lines or a JSON list of {instance_id, model_name_or_path,
model_patch}) and the checks a patch must pass before it is worth a container."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any


@dataclass(frozen=True)
class Prediction:
    instance_id: str
    model_patch: str | None
    model_name_or_path: str = ""
    where: str = ""  # "file, line N": for messages
    invalid: str | None = None  # the record was malformed beyond its instance id: why

    @property
    def patch_hash(self) -> str:
        return patch_hash(self.model_patch)


@dataclass(frozen=True)
class PredictionError:
    """A prediction that cannot be tied to a task (no instance id, or an id no task has)."""

    where: str
    instance_id: str | None
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


def patch_hash(patch: str | None) -> str:
    return hashlib.sha256((patch or "").encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _prediction(raw: Any, where: str) -> Prediction | PredictionError:
    if not isinstance(raw, dict):
        return PredictionError(where, None, f"expected an object, got {type(raw).__name__}")
    iid = raw.get("instance_id")
    if not isinstance(iid, str) or not iid.strip():
        return PredictionError(where, None, "field 'instance_id' is missing or not a string")
    name = raw.get("model_name_or_path")
    name = name if isinstance(name, str) else ""
    if "model_patch" not in raw:
        return Prediction(iid, None, name, where, "field 'model_patch' is missing")
    patch = raw["model_patch"]
    if patch is not None and not isinstance(patch, str):
        return Prediction(iid, None, name, where, f"field 'model_patch' is a {type(patch).__name__}, expected a string")
    bad = text_problem(patch or "")
    if bad:
        return Prediction(iid, None, name, where, f"field 'model_patch' {bad}")
    return Prediction(iid, patch, name, where)


def text_problem(text: str) -> str | None:
    """Why `text` cannot be written as UTF-8 (a lone surrogate, as JSON's \\udXXX escapes allow), else None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return f"is not valid text: a lone surrogate {text[e.start]!r} at character {e.start}"
    return None


def json_lines(path: Path) -> Iterator[tuple[int, Any | str]]:
    """(line number, value) for each non-blank line, each decoded on its own; a line that is not UTF-8
    or not JSON (or nested past Python's recursion limit) gives a message instead of a value."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield n, f"not UTF-8 (byte {raw[e.start]:#04x} at column {e.start + 1})"
                continue
            try:
                yield n, _Decoded(json.loads(line))
            except json.JSONDecodeError as e:
                yield n, f"invalid JSON ({e.msg})"
            except RecursionError:
                yield n, "invalid JSON (nested too deeply)"


@dataclass(frozen=True)
class _Decoded:
    value: Any


def load_predictions(path: str | Path) -> tuple[list[Prediction], list[PredictionError]]:
    """Read every prediction; malformed records become errors and the rest still load.
    A later prediction for the same instance replaces the earlier one, and the replacement is reported."""
    path = Path(path)
    records: list[tuple[str, Any]] = []
    errors: list[PredictionError] = []
    with open(path, "rb") as f:
        first = f.read(4096).lstrip()
    if first.startswith(b"[") or (first.startswith(b"{") and path.suffix == ".json"):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}, byte {e.start}: not UTF-8") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {e.lineno}: invalid JSON ({e.msg})") from None
        except RecursionError:
            raise ValueError(f"{path}: invalid JSON (nested too deeply)") from None
        if isinstance(data, list):
            records = [(f"{path}, record {i}", d) for i, d in enumerate(data)]
        elif isinstance(data, dict):  # swebench also accepts {instance_id: prediction}
            records = [(f"{path}, key {k!r}", d) for k, d in data.items()]
    else:
        for n, got in json_lines(path):
            if isinstance(got, _Decoded):
                records.append((f"{path}, line {n}", got.value))
            else:
                errors.append(PredictionError(f"{path}, line {n}", None, got))
    by_id: dict[str, Prediction] = {}
    for where, raw in records:
        p = _prediction(raw, where)
        if isinstance(p, PredictionError):
            errors.append(p)
            continue
        if p.instance_id in by_id:
            errors.append(PredictionError(where, p.instance_id, f"duplicate instance_id: replaces {by_id[p.instance_id].where}"))
        by_id[p.instance_id] = p
    return list(by_id.values()), errors


_HEADER = re.compile(r"^(?:---|\+\+\+) (\S+)", re.M)
_BINARY = re.compile(r"^Binary files .* differ$", re.M)  # a binary change without its data ("GIT binary patch" has it)


def patch_problem(patch: str | None) -> tuple[str, str] | None:
    """(status, reason) when a patch cannot be evaluated as given, else None.
    `git apply --check` in the tree stays the authority on whether a well-formed patch applies."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    if patch is None or not patch.strip():
        return "empty_patch", "the patch is empty"
    if "\x00" in patch:
        return "patch_failed", "binary patch: NUL bytes in the diff text (use git diff --binary)"
    if _BINARY.search(patch):
        return "patch_failed", "binary patch without its data ('Binary files ... differ'; use git diff --binary)"
    # unidiff keeps '\r' in CRLF paths and parses prose as zero files without complaint: normalize and count.
    # A hunk it finds malformed may still apply (git apply and the tolerant fallback decide), so on a parse
    # error the file headers are read with a regex instead.
    text = patch.replace("\r\n", "\n")
    try:
        paths = [p for f in PatchSet(text) for p in (f.source_file, f.target_file)]
    except UnidiffParseError:
        paths = _HEADER.findall(text)
    if not paths:
        return "patch_failed", "not a diff: no file headers found"
    for raw in paths:
        if raw is None or raw == "/dev/null":
            continue
        path = raw[2:] if raw.startswith(("a/", "b/")) else raw
        parts = PurePosixPath(path).parts
        if path.startswith("/") or ".." in parts or (parts and parts[0] == ".git"):
            return "patch_failed", f"the patch touches a path outside the repository: {raw}"
    return None
