"""Where tasks come from on the command line: --split for a `datasets` name (an error, not ignored,
with a single task file), --instance filters, and one line (no traceback) when the dataset cannot be
reached. `sandbox build` and `pull` take a `datasets` name as `eval` does (README: pull SWE-bench
Verified's images)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from swesrl.cli import app


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.mark.parametrize("cmd", [
    ["eval", "run", "--model", "replay", "--run-id", "x"],
    ["agent", "run", "--model", "replay", "--task", "a__a-1"],
    ["eval", "validate"],
    ["sandbox", "build"],
    ["sandbox", "pull"],
])
def test_unreachable_dataset_is_one_line(cmd, offline, tmp_path, monkeypatch):
    pytest.importorskip("datasets")
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, [*cmd, "--tasks", "no-such-org/no-such-dataset", "--split", "dev"])
    assert res.exit_code == 1, res.output
    assert "no-such-org/no-such-dataset: cannot load" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("cmd", [
    ["eval", "run", "--model", "replay", "--run-id", "x"],
    ["agent", "run", "--model", "replay", "--task", "a__a-1"],
    ["eval", "validate"],
    ["sandbox", "build"],
])
def test_a_mistyped_task_file_is_one_line_at_once(cmd, tmp_path, monkeypatch):
    """Not sent to the Hub as a dataset name (online, half a minute of retries before the same error)."""
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(app, [*cmd, "--tasks", "data/taks.jsonl"])
    assert res.exit_code == 1, res.output
    assert res.output.strip().endswith("data/taks.jsonl: no such file") and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


TASKS = Path(__file__).parents[1] / "examples" / "tasks" / "tasks.jsonl"


@pytest.mark.parametrize("cmd", [
    ["eval", "run", "--model", "replay", "--run-id", "x", "--runs-dir", "runs"],
    ["agent", "run", "--model", "replay", "--task", "jpvanhal__inflection-1"],
    ["eval", "validate", "--out", "runs"],
    ["eval", "patches", "--predictions", "preds.jsonl", "--run-id", "x", "--runs-dir", "runs"],
])
def test_split_with_a_single_task_file_is_an_error(cmd, tmp_path, monkeypatch):
    """A task file has no splits: --split with one stops with one line naming the file, before any work."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "preds.jsonl").write_text("")
    res = CliRunner().invoke(app, [*cmd, "--tasks", str(TASKS), "--split", "dev"])
    assert res.exit_code == 1, res.output
    assert f"{TASKS}: split 'dev' (--split) given for a single task file" in " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert not (tmp_path / "runs").exists()


def test_instance_filter_names_unknown_ids(tmp_path):
    tasks = Path(__file__).parents[1] / "examples" / "tasks" / "tasks.jsonl"
    preds = tmp_path / "p.jsonl"
    preds.write_text("")
    res = CliRunner().invoke(app, ["eval", "patches", "--tasks", str(tasks), "--predictions", str(preds), "--run-id", "r",
                                   "--runs-dir", str(tmp_path), "-i", "a__a-9"])
    assert res.exit_code == 1 and "has no task a__a-9" in res.output
