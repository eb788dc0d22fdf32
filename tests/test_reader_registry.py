"""A user's trajectory format, added without editing the package: registered in code or installed as a plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.trajectories.actions import Bash, Submit
from swesrl.trajectories.readers import (
    FORMATS,
    read_trajectories,
    register_reader,
    unregister_reader,
)
from swesrl.trajectories.readers.common import Where, make_trajectory
from swesrl.trajectories.schema import Step, Trajectory, TrajectoryError

# A made-up log format no built-in reader claims: {"toylog": 1, "task": ..., "moves": [{"cmd", "out"}]}.
RUNS = [
    {"toylog": 1, "id": "demo__demo-1", "task": "Fix the greeting.", "solved": True,
     "moves": [{"cmd": "cat hello.py", "out": "print('helo')"}, {"cmd": "sed -i s/helo/hello/ hello.py", "out": ""},
               {"cmd": "SUBMIT", "out": ""}]},
    {"toylog": 1, "id": "demo__demo-2", "task": "Add a test.", "solved": False,
     "moves": [{"cmd": "ls", "out": "hello.py"}]},
]


def sniff(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("toylog") == 1


def parse(obj: dict[str, Any], where: Where) -> Trajectory:
    steps = []
    for i, move in enumerate(where.get(obj, "moves", list)):
        command = where.get(where.obj(move, f"moves[{i}]"), "cmd", str, f"moves[{i}].cmd")
        steps.append(Step("", Submit() if command == "SUBMIT" else Bash(command), move.get("out", "")))
    return make_trajectory("toylog", where, obj.get("id"), where.get(obj, "task", str), steps,
                           outcome="resolved" if obj.get("solved") else "unresolved")


@pytest.fixture
def toylog(tmp_path):
    register_reader("toylog", sniff, parse, steps_field="moves")
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RUNS))
    yield path
    unregister_reader("toylog")


def test_registered_reader_is_sniffed_and_its_errors_name_the_field(toylog):
    runs = list(read_trajectories(toylog))
    assert [(t.instance_id, t.source_format, t.outcome, len(t.steps)) for t in runs] == [
        ("demo__demo-1", "toylog", "resolved", 3), ("demo__demo-2", "toylog", "unresolved", 1)]
    assert runs[0].steps[1].action == Bash("sed -i s/helo/hello/ hello.py")
    assert "toylog" not in FORMATS  # the built-in list stays the package's own

    toylog.write_text(json.dumps({"toylog": 1, "task": "t", "moves": [{"cmd": 3}]}) + "\n"
                      + json.dumps({"toylog": 1, "task": "t", "moves": []}) + "\n")
    errors: list[TrajectoryError] = []
    assert list(read_trajectories(toylog, on_error=errors.append)) == []
    assert [(e.path, e.record, e.field, e.problem) for e in errors] == [
        (str(toylog), 1, "moves[0].cmd", "expected a string, got an integer"),
        (str(toylog), 2, "moves", "empty run: no steps")]


def test_registered_reader_feeds_traj_stats(toylog):
    result = CliRunner().invoke(app, ["traj", "stats", str(toylog), "--json"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["runs_per_format"] == {"toylog": 2}
    assert stats["outcomes"] == {"resolved": 1, "unresolved": 1}
    assert stats["action_kinds"] == {"bash": 3, "submit": 1}


def test_a_format_name_is_registered_once(toylog):
    with pytest.raises(ValueError, match="'toylog' is already registered"):
        register_reader("toylog", sniff, parse)


def test_installed_plugin_is_found_through_its_entry_point(tmp_path):
    """A package that names a reader under ``swesrl.readers`` is read by the CLI with no code calling swesrl."""
    site = tmp_path / "site"
    (site / "toylog_plugin-0.1.dist-info").mkdir(parents=True)
    (site / "toylog_plugin-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: toylog-plugin\nVersion: 0.1\n")
    (site / "toylog_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[swesrl.readers]\ntoylog = toylog_plugin:READER\nbroken = toylog_plugin:MISSING\n")
    (site / "toylog_plugin.py").write_text(textwrap.dedent("""
        from swesrl.trajectories.readers.registry import Reader
        from swesrl.trajectories.schema import Step, Trajectory
        from swesrl.trajectories.actions import Bash

        def parse(obj, where):
            return Trajectory(obj["id"], obj["task"], [Step("", Bash(m["cmd"]), m["out"]) for m in obj["moves"]],
                              source_format="toylog", source_path=where.path)

        READER = Reader("toylog", lambda obj: isinstance(obj, dict) and obj.get("toylog") == 1, parse, "moves")
    """))
    runs = tmp_path / "runs.jsonl"
    runs.write_text("".join(json.dumps(r) + "\n" for r in RUNS))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "swesrl", "traj", "stats", str(runs), "--json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["runs_per_format"] == {"toylog": 2}
    assert "trajectory reader plugin 'broken'" in done.stderr and "not loaded" in done.stderr


def test_format_option_reads_a_user_format_that_a_built_in_one_also_claims(toylog, tmp_path):
    """Every `traj` command takes the same --format: a registry name; a bad one is a usage error with close names."""
    from dataclasses import replace

    from swesrl.trajectories.readers import swesrl_format, write_trajectories

    saved = tmp_path / "saved.jsonl"  # swesrl's own format: the built-in reader claims these records
    write_trajectories(read_trajectories(toylog), saved)
    register_reader("audited", swesrl_format.sniff,
                    lambda obj, where: replace(swesrl_format.parse(obj, where), source_format="audited"))
    try:
        runner = CliRunner()
        sniffed = runner.invoke(app, ["traj", "stats", str(saved), "--json"])
        forced = runner.invoke(app, ["traj", "stats", str(saved), "--json", "--format", "audited"])
        assert json.loads(sniffed.stdout)["runs_per_format"] == {"toylog": 2}
        assert json.loads(forced.stdout)["runs_per_format"] == {"audited": 2}
        out = tmp_path / "steps.jsonl"
        split = runner.invoke(app, ["traj", "split", str(saved), "-o", str(out), "--format", "audited"])
        assert split.exit_code == 0 and "audited: 2 runs" in split.output
        converted = tmp_path / "again.jsonl"
        assert runner.invoke(app, ["traj", "convert", str(saved), "-o", str(converted), "--format", "audited"]).exit_code == 0
        assert {t.source_format for t in read_trajectories(converted)} == {"audited"}
        for command in (["stats", str(saved)], ["split", str(saved), "-o", str(out)], ["convert", str(saved), "-o", str(converted)],
                        ["inspect", str(saved)]):
            bad = runner.invoke(app, ["traj", *command, "--format", "audit"], env={"COLUMNS": "300"})
            assert bad.exit_code == 2, command
            assert "unknown format 'audit' (did you mean audited?)" in " ".join(bad.output.split()), command
    finally:
        unregister_reader("audited")
