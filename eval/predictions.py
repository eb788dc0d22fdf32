"""Predictions in SWE-bench's format (JSONL lines or a JSON list of {instance_id, model_name_or_path,
model_patch}) and the checks a patch must pass before it is worth a container."""

from __future__ import annotations

import hashlib
import json
import re
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
    return Prediction(iid, patch, name, where)


def load_predictions(path: str | Path) -> tuple[list[Prediction], list[PredictionError]]:
    """Read every prediction; malformed records become errors and the rest still load.
    A later prediction for the same instance replaces the earlier one, and the replacement is reported."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    records: list[tuple[str, Any]] = []
    errors: list[PredictionError] = []
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {e.lineno}: invalid JSON ({e.msg})") from None
        records = [(f"{path}, record {i}", d) for i, d in enumerate(data)]
    elif stripped.startswith("{") and path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}, line {e.lineno}: invalid JSON ({e.msg})") from None
        # swebench also accepts {instance_id: prediction}
        records = [(f"{path}, key {k!r}", d) for k, d in data.items()]
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                records.append((f"{path}, line {n}", json.loads(line)))
            except json.JSONDecodeError as e:
                errors.append(PredictionError(f"{path}, line {n}", None, f"invalid JSON ({e.msg})"))
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
_BINARY = re.compile(r"^(GIT binary patch|Binary files .* differ)$", re.M)


def patch_problem(patch: str | None) -> tuple[str, str] | None:
    """(status, reason) when a patch cannot be evaluated as given, else None.
    `git apply --check` in the tree stays the authority on whether a well-formed patch applies."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    if patch is None or not patch.strip():
        return "empty_patch", "the patch is empty"
    if "\x00" in patch or _BINARY.search(patch):
        return "patch_failed", "binary patch: only text diffs are evaluated"
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
