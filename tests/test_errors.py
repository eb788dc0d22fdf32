"""Operational failures are one line before any work starts: a missing extra names what installs it."""

from __future__ import annotations

import json
import logging
import sys

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.util import safe_name, truncate_middle, write_atomic

runner = CliRunner()


@pytest.fixture
def tasks_file(tmp_path):
    task = {"instance_id": "calc-1", "repo": "me/calc", "base_commit": "abc", "problem_statement": "add subtracts",
            "FAIL_TO_PASS": ["test_calc.py::test_add"], "PASS_TO_PASS": [], "test_cmd": "pytest -rA"}
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(task) + "\n")
    return path


def test_eval_run_without_the_eval_extra_stops_before_the_agent(tasks_file, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "swebench", None)  # find_spec answers None, as when not installed
    result = runner.invoke(app, ["eval", "run", "--tasks", str(tasks_file), "--model", "replay", "--run-id", "r",
                                 "--runs-dir", str(tmp_path)])
    assert result.exit_code == 3, result.output
    assert "pip install 'swesrl[eval]'" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "r").exists()


def test_training_without_trl_names_the_train_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "trl", None)
    result = runner.invoke(app, ["train", "srl", "--recipe", "tiny-cpu", "--data", str(tmp_path / "steps.jsonl"),
                                 "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 3 and "pip install 'swesrl[train]'" in result.output
    assert not (tmp_path / "out").exists()


def test_an_hf_model_without_transformers_names_the_train_extra(tasks_file, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    result = runner.invoke(app, ["agent", "run", "--task", "calc-1", "--tasks", str(tasks_file), "--model", "hf:x"])
    assert result.exit_code == 3 and "pip install 'swesrl[train]'" in result.output


def test_a_mistyped_model_folder_is_one_line_before_any_work(tasks_file, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "empty").mkdir()
    commands = {
        "runs/srk": [["agent", "run", "--task", "calc-1", "--tasks", str(tasks_file), "--model", "hf:runs/srk"],
                     ["eval", "run", "--tasks", str(tasks_file), "--model", "vllm:runs/srk", "--run-id", "r"],
                     ["train", "sft", "--recipe", "tiny-cpu-sft", "--data", str(tasks_file), "--model", "runs/srk",
                      "-o", "runs/sft"]],
        "empty": [["train", "evaluate", "--data", str(tasks_file), "--model", "empty"]],
        "tasks.jsonl": [["agent", "run", "--task", "calc-1", "--tasks", str(tasks_file), "--model", f"hf:{tasks_file}"]],
    }
    for name, runs in commands.items():
        for args in runs:
            result = runner.invoke(app, args)
            assert result.exit_code == 1, (args, result.output)
            assert len(result.output.strip().splitlines()) == 1 and name in result.output, (args, result.output)
    assert [p.name for p in (tmp_path / "runs").iterdir()] == []


def test_shared_helpers(tmp_path):
    assert safe_name("../owner/repo:1.0 x") == "_owner_repo_1.0_x"
    assert safe_name("a/b") != safe_name("a_c")
    cut = truncate_middle("a" * 50 + "b" * 50, 30)
    assert cut.startswith("a" * 20) and cut.endswith("b" * 10) and "[... 70 characters truncated ...]" in cut
    path = tmp_path / "f.txt"
    write_atomic(path, "one")
    write_atomic(path, "two")
    assert path.read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_an_interrupted_atomic_write_keeps_the_old_file_and_leaves_no_tmp_file(tmp_path, monkeypatch):
    """A cancelled Ray task gets KeyboardInterrupt wherever it is: once it was between the write and the
    rename of an instance's model.patch, and the run folder kept a `.model.patch.PID.tmp` (a red CI run)."""
    import os

    path = tmp_path / "model.patch"
    write_atomic(path, "old")

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(path, "new")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["model.patch"]


@pytest.mark.parametrize(("rank", "shown"), [("0", True), ("3", False)])
def test_library_messages_show_on_the_main_process_only(rank, shown, monkeypatch, capsys):
    from swesrl.logs import setup_logging

    monkeypatch.setenv("RANK", rank)
    monkeypatch.setattr(logging.getLogger("swesrl"), "level", logging.NOTSET)  # restored after the test
    setup_logging()
    logging.getLogger("swesrl.training.data").info("skipped 2 rows")
    logging.getLogger("swesrl.training.data").warning("no checkpoint")
    err = capsys.readouterr().err
    assert ("skipped 2 rows" in err) == shown and "no checkpoint" in err
