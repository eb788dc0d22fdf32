"""A task file type of the user's own: registered as a TaskSource, read by load_tasks and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.eval.task_sources import register_task_source, unregister_task_source
from swesrl.eval.tasks import TaskError, load_tasks

EXAMPLE = Path(__file__).parents[1] / "examples" / "tasks" / "tasks.jsonl"


def yaml_tasks(path: Path) -> Iterator[tuple[str | int, Any]]:
    """One YAML document per task; a document that is not a mapping is that record's error."""
    for i, doc in enumerate(yaml.safe_load_all(path.read_text(encoding="utf-8"))):
        yield f"document {i + 1}", doc if isinstance(doc, dict) else TaskError(str(path), f"document {i + 1}", None, "not a mapping")


@pytest.fixture
def yaml_source():
    register_task_source(".yaml", yaml_tasks)
    yield
    unregister_task_source(".yaml")


def test_user_source_loads_the_same_tasks_as_jsonl(yaml_source, tmp_path):
    records = [json.loads(line) for line in EXAMPLE.read_text().splitlines() if line.strip()]
    path = tmp_path / "tasks.YAML"  # suffixes match case-insensitively, as the built-in ones do
    path.write_text(yaml.safe_dump_all(records))
    assert load_tasks(path) == load_tasks(EXAMPLE)

    path.write_text(yaml.safe_dump_all([records[0], ["not", "a", "task"], {**records[1], "problem_statement": None}]))
    errors: list[TaskError] = []
    assert [t.instance_id for t in load_tasks(path, errors=errors)] == [records[0]["instance_id"]]
    assert [(e.record, e.field) for e in errors] == [("document 2", None), ("document 3", "problem_statement")]


def test_cli_reads_tasks_through_the_user_source(yaml_source, tmp_path):
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(yaml.safe_dump_all([json.loads(line) for line in EXAMPLE.read_text().splitlines() if line.strip()]))
    preds = tmp_path / "p.jsonl"
    preds.write_text("")
    res = CliRunner().invoke(app, ["eval", "patches", "--tasks", str(tasks), "--predictions", str(preds), "--run-id", "r",
                                   "--runs-dir", str(tmp_path), "-i", "a__a-9"])
    assert res.exit_code == 1 and "has no task a__a-9" in res.output, res.output


def test_unknown_suffix_names_the_known_ones_and_a_suffix_is_taken_once(tmp_path):
    path = tmp_path / "tasks.toml"
    path.write_text("")
    with pytest.raises(TaskError, match=r"unknown task file type '\.toml' \(known: \.jsonl, \.json, \.csv, \.parquet"):
        load_tasks(path)
    with pytest.raises(ValueError, match="already have a source"):
        register_task_source(".JSONL", yaml_tasks)
