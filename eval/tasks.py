"""SWE-bench tasks: the `Task` record and `load_tasks` from a task file (see `task_sources`) or a `datasets` name.

A task carries the SWE-bench fields plus what swebench 5 expects each instance to carry itself (an
image or a build spec, an eval script or test command, a log parser, an eval type). Real SWE-bench
instances that lack the swesrl fields get them from the small map in `eval/data/environments.json`.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from swesrl.errors import SwesrlError
from swesrl.sandbox.repo_sources import REPO_KINDS, RepoSource

REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement")
TEXT_FIELDS = ("patch", "test_patch", "hints_text", "version", "environment_setup_commit", "created_at")
EVAL_TYPES = ("pass_and_fail", "fail_only")


class TaskError(SwesrlError, ValueError):
    """A malformed task: names the source, the record (line or index), the field and the problem."""

    def __init__(self, source: str, record: str | int | None, field_name: str | None, problem: str):
        self.source, self.record, self.field, self.problem = str(source), record, field_name, problem
        where = str(source)
        if record is not None:
            where += f", {record}" if isinstance(record, str) else f", record {record}"
        if field_name:
            where += f", field {field_name!r}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Environment:
    """How to build a task's image, in the shape task files write it (flat): packages on top of the base
    image, then the repo and its install. `environment.task_to_instance_spec` maps it onto the sandbox's
    build specs (EnvironmentSpec, InstanceSpec), the one place the two meet; the repo is the sandbox's own
    RepoSource."""

    python_packages: tuple[str, ...] = ()
    setup_commands: tuple[str, ...] = ()
    base_image: str | None = None
    repo: RepoSource | None = None  # None: found in --repos-dir at evaluation time
    install_commands: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    python: str | None = None  # wanted Python ("3.9"): the base image with the nearest one is used
    deviations: tuple[str, ...] = ()  # where a derived environment differs from SWE-bench's (recorded, not input)


@dataclass(frozen=True)
class Task:
    """One SWE-bench instance. FAIL_TO_PASS / PASS_TO_PASS are lists (JSON-encoded strings are decoded)."""

    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    patch: str = ""
    test_patch: str = ""
    FAIL_TO_PASS: list[str] = field(default_factory=list)
    PASS_TO_PASS: list[str] = field(default_factory=list)
    hints_text: str = ""
    version: str = ""
    environment_setup_commit: str = ""
    created_at: str = ""
    image: str | None = None  # a prebuilt instance image; when set, nothing is built
    environment: Environment | None = None
    eval_script: str | None = None  # a full script (swebench 5 style); default: built from test_cmd
    test_cmd: str | None = None  # e.g. "pytest -rA"; the test files touched by test_patch are appended
    log_parser: str = "parse_log_pytest"  # a key of swebench's PARSER_REGISTRY
    eval_type: str = "pass_and_fail"

    def spec_hash(self) -> str:
        """Hash of every field that changes how a patch is evaluated (not the issue text or gold patch)."""
        d = asdict(self)
        for name in ("problem_statement", "hints_text", "patch", "created_at"):
            d.pop(name)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---- building a Task from one record ------------------------------------------------------------


def _str_list(value: Any, source: str, record: Any, name: str) -> list[str]:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN from pandas/csv
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except json.JSONDecodeError as e:
            raise TaskError(source, record, name, f"not a JSON-encoded list of test names ({e.msg})") from None
    if hasattr(value, "tolist"):  # numpy / pyarrow arrays
        value = value.tolist()
    if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
        raise TaskError(source, record, name, f"expected a list of test names, got {type(value).__name__}")
    return list(value)


def _maybe_json(value: Any, source: str, record: Any, name: str) -> Any:
    """CSV and Parquet columns hold nested fields as JSON strings."""
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as e:
            raise TaskError(source, record, name, f"invalid JSON ({e.msg})") from None
    return value


def _str_tuple(value: Any, source: str, record: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, (list, tuple)) or not all(isinstance(x, str) for x in value):
        raise TaskError(source, record, name, "expected a list of strings")
    return tuple(value)


def _environment(raw: Any, source: str, record: Any, base_dir: Path | None) -> Environment:
    raw = _maybe_json(raw, source, record, "environment")
    if not isinstance(raw, dict):
        raise TaskError(source, record, "environment", f"expected an object, got {type(raw).__name__}")
    unknown = set(raw) - {f.name for f in fields(Environment)} - {"deviations"}
    if unknown:
        raise TaskError(source, record, "environment", f"unknown keys {sorted(unknown)}")
    repo = None
    if raw.get("repo") is not None:
        r = raw["repo"]
        if not isinstance(r, dict) or r.get("kind") not in REPO_KINDS or not isinstance(r.get("location"), str):
            raise TaskError(source, record, "environment.repo", f"expected {{kind: one of {REPO_KINDS}, location: str, ...}}")
        unknown = set(r) - {f.name for f in fields(RepoSource)}
        if unknown:
            raise TaskError(source, record, "environment.repo", f"unknown keys {sorted(unknown)}")
        location = r["location"]
        # Local paths relative to the tasks file travel with it; sdist names, URLs and absolute paths stay.
        local = r["kind"] in ("dir", "tarball") or (r["kind"] == "git" and "://" not in location and ":" not in location)
        if local and base_dir is not None and not Path(location).is_absolute():
            location = str((base_dir / location).resolve())
        repo = RepoSource(r["kind"], location, r.get("commit"), r.get("patch"), r.get("subdir"))
    env = raw.get("env") or {}
    if isinstance(env, dict):
        env = tuple(sorted((str(k), str(v)) for k, v in env.items()))
    elif isinstance(env, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in env):
        env = tuple((str(k), str(v)) for k, v in env)
    else:
        raise TaskError(source, record, "environment.env", "expected an object of NAME: value")
    return Environment(
        python_packages=_str_tuple(raw.get("python_packages"), source, record, "environment.python_packages"),
        setup_commands=_str_tuple(raw.get("setup_commands"), source, record, "environment.setup_commands"),
        base_image=raw.get("base_image"),
        repo=repo,
        install_commands=_str_tuple(raw.get("install_commands"), source, record, "environment.install_commands"),
        env=env,
        python=_python(raw.get("python"), source, record),
    )


def _python(value: Any, source: str, record: Any) -> str | None:
    if value is None:
        return None
    value = str(value)
    parts = value.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise TaskError(source, record, "environment.python", f"expected a Python version like '3.9', got {value!r}")
    return value


def task_from_dict(d: Any, source: str = "<dict>", record: Any = None, base_dir: Path | None = None) -> Task:
    """Validate one record; raises TaskError naming the field. Fills the environment for known repos."""
    if not isinstance(d, dict):
        raise TaskError(source, record, None, f"expected an object, got {type(d).__name__}")
    for name in REQUIRED:
        value = d.get(name)
        if not isinstance(value, str) or not value.strip():
            raise TaskError(source, record, name, "missing or empty" if not value else f"expected a string, got {type(value).__name__}")
    kw: dict[str, Any] = {name: d[name] for name in REQUIRED}
    for name in TEXT_FIELDS:
        value = d.get(name)
        if value is None or (isinstance(value, float) and value != value):
            continue
        if not isinstance(value, str):
            value = str(value) if name == "version" and isinstance(value, (int, float)) else value
            if name == "created_at" and isinstance(value, datetime.date):  # a timestamp column (pandas, parquet)
                value = value.isoformat()
            if not isinstance(value, str):
                raise TaskError(source, record, name, f"expected a string, got {type(value).__name__}")
        kw[name] = value
    for name in ("FAIL_TO_PASS", "PASS_TO_PASS"):
        kw[name] = _str_list(d.get(name), source, record, name)
    for name in ("image", "eval_script", "test_cmd", "log_parser", "eval_type"):
        value = d.get(name)
        if value in (None, "") or (isinstance(value, float) and value != value):
            continue
        if not isinstance(value, str):
            raise TaskError(source, record, name, f"expected a string, got {type(value).__name__}")
        kw[name] = value
    if kw.get("eval_type", "pass_and_fail") not in EVAL_TYPES:
        raise TaskError(source, record, "eval_type", f"expected one of {EVAL_TYPES}, got {kw['eval_type']!r}")
    if d.get("environment") not in (None, ""):
        kw["environment"] = _environment(d["environment"], source, record, base_dir)
    task = Task(**kw)
    if not task.FAIL_TO_PASS:
        raise TaskError(source, record, "FAIL_TO_PASS", "no tests: a task needs at least one FAIL_TO_PASS test")
    if task.eval_script is None and not task.test_patch.strip() and task.test_cmd is None:
        raise TaskError(source, record, "test_patch", "no test_patch, test_cmd or eval_script: nothing says which tests to run")
    return with_known_defaults(task)


# ---- defaults for known SWE-bench repos ---------------------------------------------------------


def known_environments() -> dict[str, Any]:
    """The shipped map: {"repos": {"owner/name": {test_cmd, versions: {v: spec}}}, "log_parsers": {...}}."""
    return json.loads(resources.files("swesrl.eval").joinpath("data/environments.json").read_text())


def with_known_defaults(task: Task) -> Task:
    """Fill log parser, test command and environment from the shipped map where the task lacks them."""
    known = known_environments()
    changes: dict[str, Any] = {}
    parser = known["log_parsers"].get(task.repo)
    if parser and task.log_parser == Task.log_parser:
        changes["log_parser"] = parser
    entry = known["repos"].get(task.repo)
    if entry is not None and not task.image and not task.eval_script:
        if task.test_cmd is None:
            changes["test_cmd"] = entry["test_cmd"]
        spec = entry["versions"].get(task.version)
        if task.environment is None and spec is not None:
            changes["environment"] = Environment(
                python_packages=tuple(spec.get("python_packages", ())),
                setup_commands=tuple(spec.get("setup_commands", ())),
                install_commands=tuple(spec.get("install_commands", ())),
                env=tuple(sorted(spec.get("env", {}).items())),
            )
    return replace(task, **changes) if changes else task


# ---- loading ------------------------------------------------------------------------------------


def load_tasks(source: str | Path, *, split: str | None = None, errors: list[TaskError] | None = None) -> list[Task]:
    """Load tasks. With `errors` given, bad records are collected there and the good ones returned;
    without it the first bad record raises. A file that cannot be read at all always raises.
    ``split`` picks a `datasets` split (default test); a single task file has none, so one given raises."""
    source = str(source)
    base_dir = Path(source).resolve().parent if Path(source).is_file() else None
    tasks: list[Task] = []
    seen: dict[str, Any] = {}
    from .task_sources import task_records  # the sources build on TaskError, defined here

    for record, raw in task_records(source, split):
        try:
            if isinstance(raw, TaskError):
                raise raw
            task = task_from_dict(dict(raw) if not isinstance(raw, dict) and hasattr(raw, "keys") else raw, source, record, base_dir)
            if task.instance_id in seen:
                raise TaskError(source, record, "instance_id", f"duplicate of {seen[task.instance_id]}: {task.instance_id}")
            seen[task.instance_id] = record if isinstance(record, str) else f"record {record}"
            tasks.append(task)
        except TaskError as e:
            if errors is None:
                raise
            errors.append(e)
    return tasks
