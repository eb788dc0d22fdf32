"""Every shared real trajectory reads through the public API, with step counts derived from the raw JSON."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import TRAJ_DATA, shared_files

from swesrl.trajectories import (
    Bash,
    Create,
    StrReplace,
    Submit,
    ToolCall,
    Trajectory,
    TrajectoryError,
    View,
)
from swesrl.trajectories.readers import FORMATS, read_trajectories, sniff_format, write_trajectories

FOLDER_FORMAT = {
    "swe-agent": "swe-agent",
    "swe-smith-ft": "swe-smith",
    "mini-swe-agent": "mini-swe-agent",
    "openhands-fncall": "openai-chat",
    "swe-gym-openhands": "openai-chat",
    "openhands-events": "openhands-events",
    "nebius-swe-agent": "nebius",
}
FILES = shared_files(TRAJ_DATA)


def _rows(path: Path) -> list:
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else [json.loads(text)]


def raw_step_counts(path: Path) -> list[int]:
    """Steps per run, counted straight from the raw JSON (the unit each format's README row names)."""
    folder, counts = path.parent.name, []
    for row in _rows(path):
        if folder == "swe-agent":
            counts.append(len(row["trajectory"]))
        elif folder == "nebius-swe-agent":
            counts.append(sum(t["role"] == "ai" for t in row["trajectory"]))
        elif folder == "openhands-fncall":  # + the final turn in fncall_response
            counts.append(sum(m["role"] == "assistant" for m in row["fncall_messages"]) + 1)
        elif folder == "openhands-events":
            events = row["history"] if isinstance(row, dict) else row
            counts.append(sum(e.get("source") == "agent" and e.get("action") not in (None, "system", "think") for e in events))
        else:
            messages = row["messages"] if isinstance(row, dict) else row
            counts.append(sum(m["role"] == "assistant" for m in messages))
    return counts


def read_all(path: Path) -> list[Trajectory]:
    errors: list[TrajectoryError] = []
    trajectories = list(read_trajectories(path, on_error=errors.append))
    assert errors == []
    return trajectories


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shared_file_reads_with_independent_step_counts(path: Path, traj_data: Path):
    trajectories = read_all(path)
    assert [len(t.steps) for t in trajectories] == raw_step_counts(path)
    for t in trajectories:
        assert t.source_format == FOLDER_FORMAT[path.parent.name]
        assert t.source_path == str(path)
        assert t.problem_statement.strip()
        assert t.outcome in ("resolved", "unresolved", "unknown")
        assert all(s.raw for s in t.steps)
        assert sum(bool(s.thought) for s in t.steps) >= len(t.steps) // 2
        assert all((s.action is None) == (s.action_error is not None) for s in t.steps)
    assert len({t.id for t in trajectories}) == len(trajectories)
    assert [t.id for t in read_all(path)] == [t.id for t in trajectories]  # deterministic


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sniffing_uses_content_not_name(path: Path, tmp_path: Path, traj_data: Path):
    renamed = tmp_path / "data.json"
    shutil.copyfile(path, renamed)
    assert sniff_format(renamed) == FOLDER_FORMAT[path.parent.name]
    assert [len(t.steps) for t in read_all(renamed)] == raw_step_counts(path)


def _one(relative: str) -> Trajectory:
    (trajectory,) = read_all(TRAJ_DATA / relative)
    return trajectory


def test_swe_agent_1x_prefers_structured_calls_and_keeps_the_submission(traj_data: Path):
    t = _one("swe-agent/pandas-dev__pandas.95280573.pr_53652.traj")
    raw = json.loads((traj_data / "swe-agent/pandas-dev__pandas.95280573.pr_53652.traj").read_text())
    assert isinstance(t.steps[0].action, Bash) and t.steps[0].action.command.startswith("find /testbed ")
    assert t.steps[1].action == View("/testbed/pandas/core/indexes/base.py", (6035, 6050))
    assert isinstance(t.steps[-1].action, Submit)
    assert t.final_patch == raw["info"]["submission"]
    assert t.instance_id == "pandas-dev__pandas.95280573.pr_53652" and t.repo == "pandas-dev/pandas"
    assert t.problem_statement.startswith("BUG: [pyarrow] AttributeError")
    assert t.metadata["swe_agent_version"] == "1.x"
    assert [bool(s.thought) for s in t.steps] == [bool(r["thought"].strip()) for r in raw["trajectory"]]

    demo = _one("swe-agent/demo_function_calling_replace_marshmallow-code__marshmallow-1867.traj")
    assert demo.base_commit == "bfd2593d4b416122e30cdefe0c72d322ef471611"
    # windowed-editor tools stay tools, with the arguments of the structured call
    assert demo.steps[5].action == ToolCall.make("open", {"path": "src/marshmallow/fields.py", "line_number": 1474})
    assert demo.steps[6].action.name == "edit" and set(demo.steps[6].action.args) == {"search", "replace"}


def test_swe_agent_0x_aci_commands(traj_data: Path):
    t = _one("swe-agent/v0_gpt4_pydicom__pydicom-1458.traj")
    assert t.metadata["swe_agent_version"] == "0.x"
    assert t.steps[0].action == ToolCall.make("create", {"filename": "reproduce_bug.py"})
    edit = t.steps[1].action
    assert edit.name == "edit" and edit.args["start"] == "1" and edit.args["end"] == "1"
    assert edit.args["replacement"].startswith("import numpy as np\n") and "end_of_edit" not in edit.args["replacement"]
    assert t.steps[2].action == Bash("python reproduce_bug.py")
    assert t.steps[4].action == ToolCall.make("open", {"path": "pydicom/pixel_data_handlers/numpy_handler.py", "line_number": 293})
    assert isinstance(t.steps[-1].action, Submit)
    assert t.problem_statement.startswith("Pixel Representation attribute should be optional")
    assert "INSTRUCTIONS" not in t.problem_statement and t.final_patch


def test_swe_smith_xml_matches_the_same_runs_logged_by_swe_agent(traj_data: Path):
    smith = {t.instance_id: t for t in read_all(traj_data / "swe-smith-ft/ft_xml_example.jsonl")}
    for name in ("pandas-dev__pandas.95280573.pr_53652", "pydantic__pydantic.acb0f10f.pr_8316"):
        agent = _one(f"swe-agent/{name}.traj")
        xml = smith[name]
        assert [s.action for s in xml.steps] == [s.action for s in agent.steps]
        assert [s.thought for s in xml.steps] == [s.thought for s in agent.steps]
        assert xml.problem_statement == agent.problem_statement
    first = smith["getmoto__moto.694ce1f4.pr_7331"]
    assert not any(s.observation.startswith(("OBSERVATION:", "Observation:")) for s in first.steps)
    assert first.final_patch is None  # the format holds no final patch


def test_mini_swe_agent_format_errors_are_kept_not_invented(traj_data: Path):
    path = traj_data / "mini-swe-agent/pytest-dev__pytest-7490.traj.json"
    t = _one("mini-swe-agent/pytest-dev__pytest-7490.traj.json")
    raw = json.loads(path.read_text())
    rejected = sum(m["role"] == "user" and m["content"].startswith("Please always provide EXACTLY ONE action") for m in raw["messages"])
    assert sum(s.action is None for s in t.steps) == rejected == 3
    assert sorted(s.action_error for s in t.steps if s.action is None) == ["2 actions", "2 actions", "3 actions"]
    assert all(isinstance(s.action, Bash) for s in t.steps if s.action is not None)
    assert not any(s.thought.startswith("THOUGHT") for s in t.steps)
    assert t.final_patch == raw["info"]["submission"] and t.instance_id == "pytest-dev__pytest-7490"

    bare = _one("mini-swe-agent/github_issue.traj.json")  # newer layout: bare list, mswea_bash_command
    assert bare.steps[0].action.command.startswith("cat ")
    assert bare.final_patch.startswith("diff --git") and bare.instance_id is None


def test_openai_chat_logs(traj_data: Path):
    t = _one("openhands-fncall/django__django-11179.json")
    assert t.instance_id == "django__django-11179" and t.repo == "django/django"
    assert t.steps[0].action == Bash("ls -R /workspace/django__django__3.0")
    assert isinstance(t.steps[1].action, Create) and isinstance(t.steps[-1].action, Submit)
    assert t.steps[-1].observation == ""  # the appended fncall_response got no answer
    assert t.problem_statement.startswith("delete() on instances of models without any dependencies")

    rows = [json.loads(line) for line in (traj_data / "swe-gym-openhands/rows.jsonl").read_text().splitlines()]
    for row, t in zip(rows, read_all(traj_data / "swe-gym-openhands/rows.jsonl"), strict=True):
        assert t.outcome == "resolved" and t.final_patch == row["test_result"]["git_patch"]
        multi = [m for m in row["messages"] if m["role"] == "assistant" and len(m.get("tool_calls") or []) > 1]
        several = [s for s in t.steps if s.action_error and s.action_error.endswith(" actions")]
        assert len(several) == len(multi)
        for s in several:  # every call and every tool answer kept in raw
            assert len(s.raw[0]["tool_calls"]) == sum(r.get("role") == "tool" for r in s.raw[1:])
    mypy = read_all(traj_data / "swe-gym-openhands/rows.jsonl")[0]
    assert mypy.steps[0].action == View("/workspace/python__mypy__1.6", (0, -1))
    assert mypy.steps[0].observation.startswith("ERROR:")  # label "OBSERVATION:" removed


def test_openhands_events(traj_data: Path):
    t = _one("openhands-events/output-one-run.jsonl")
    raw = json.loads((traj_data / "openhands-events/output-one-run.jsonl").read_text())
    assert t.instance_id == "ponylang__ponyc-4595" and t.repo == "ponylang/ponyc"
    assert t.base_commit == raw["instance"]["base_commit"]
    assert t.final_patch == raw["test_result"]["git_patch"]
    assert isinstance(t.steps[0].action, Bash) and t.steps[0].observation.startswith("total ")
    assert View("/workspace/ponylang__ponyc__0.1/src/libponyc/ast/parser.c", (650, 700)) in [s.action for s in t.steps]
    assert any(isinstance(s.action, StrReplace) for s in t.steps)
    assert isinstance(t.steps[-1].action, Submit)
    think = next(e["args"]["thought"] for e in raw["history"] if e.get("action") == "think")
    assert think in t.steps[-1].thought  # think is folded into the next step, not lost

    basic = _one("openhands-events/runtime_trajs_basic.json")
    create = basic.steps[0].action  # from the model's tool call; args hold an empty "content"
    assert isinstance(create, Create) and create.path == "/workspace/game_2048.py" and "class Game2048" in create.file_text
    assert basic.problem_statement.startswith("Please create a simple 2048 game")


def test_nebius_rows(traj_data: Path):
    first, second = read_all(traj_data / "nebius-swe-agent/rows.jsonl")
    assert first.outcome == "resolved" and first.final_patch.lstrip().startswith("diff --git")
    assert first.steps[0].action == Bash("ls -F")
    assert first.steps[1].action == ToolCall.make("find_file", {"file_name": "image.py", "dir": "plumbum"})
    assert second.steps[1].action.name == "edit" and second.steps[1].action.args["start"] == "1"
    assert all(s.thought and "```" not in s.thought for s in first.steps + second.steps)
    assert first.problem_statement.startswith("SyntaxError in plumbum/cli/image.py")


def test_directory_reads_every_file_in_sorted_order(traj_data: Path):
    trajectories = read_all(traj_data)
    expected = [(str(p), n) for p in FILES for n in raw_step_counts(p)]
    assert [(t.source_path, len(t.steps)) for t in trajectories] == expected
    assert {t.source_format for t in trajectories} == set(FORMATS) - {"swesrl"}


def test_swesrl_format_round_trips(traj_data: Path, tmp_path: Path):
    originals = read_all(traj_data)
    out = tmp_path / "runs.jsonl"
    assert write_trajectories(originals, out) == len(originals)
    assert sniff_format(out) == "swesrl"
    back = read_all(out)
    without_raw = [dataclasses.replace(t, steps=[dataclasses.replace(s, raw=None) for s in t.steps]) for t in originals]
    assert back == without_raw
    assert [t.source_format for t in back] == [t.source_format for t in originals]


def test_swesrl_writes_append_and_survive_an_interrupted_line(traj_data: Path, tmp_path: Path):
    runs = read_all(traj_data / "nebius-swe-agent/rows.jsonl")
    out = tmp_path / "runs.jsonl"
    write_trajectories(runs[:1], out)
    with out.open("ab") as f:
        f.write(b'{"format": "swesrl.trajectory/1", "id": "cut-o')  # a writer killed mid-line
    write_trajectories(runs[1:], out)
    errors: list[TrajectoryError] = []
    back = list(read_trajectories(out, on_error=errors.append))
    assert [t.id for t in back] == [t.id for t in runs]
    assert len(errors) == 1 and errors[0].record == 2 and "invalid JSON" in errors[0].problem
    assert errors[0].problem == "invalid JSON: Invalid control character at column 47"  # the line's end, its own column
    with out.open("ab") as f:
        f.write(b'{"format": \n')  # cut after a key: the line ends where a value was due
    more: list[TrajectoryError] = []
    assert len(list(read_trajectories(out, on_error=more.append))) == len(runs)
    assert more[-1].problem == "invalid JSON: Expecting value at the end of the line"


def test_explicit_format_skips_sniffing(traj_data: Path):
    path = traj_data / "mini-swe-agent/astropy__astropy-7166.traj.json"
    assert [len(t.steps) for t in read_trajectories(path, format="mini-swe-agent")] == raw_step_counts(path)
    with pytest.raises(TrajectoryError, match="trajectory"):
        list(read_trajectories(path, format="swe-agent"))
    with pytest.raises(ValueError, match="unknown format"):
        read_trajectories(path, format="no-such-format")  # checked at the call, before any reading


def test_ids_name_instance_file_and_record(traj_data: Path):
    ids = [t.id for t in read_all(traj_data / "swe-smith-ft/ft_xml_example.jsonl")]
    assert ids[0] == "pandas-dev__pandas.95280573.pr_53652:ft_xml_example:1"
    assert all(re.fullmatch(r"[^:]+:ft_xml_example:\d+", i) for i in ids)
