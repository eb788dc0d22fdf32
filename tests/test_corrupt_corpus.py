"""A corpus of broken and awkward files: each bad item is one clear error, everything else still reads."""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path

import pytest

from swesrl.trajectories import Bash, ToolCall, TrajectoryError
from swesrl.trajectories.readers import read_trajectories, sniff_format

HUGE = 50 * 1024 * 1024


def _swe_smith_rows(traj_data: Path) -> list[str]:
    return [line for line in (traj_data / "swe-smith-ft/ft_xml_example.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus(traj_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corrupt")
    real = (traj_data / "swe-agent/pydantic__pydantic.acb0f10f.pr_8316.traj").read_bytes()
    (root / "truncated.traj").write_bytes(real[: len(real) // 2])

    rows = _swe_smith_rows(traj_data)
    as_string = json.loads(rows[0]) | {"messages": "not a list"}
    int_content = json.loads(rows[1])
    int_content["messages"][2]["content"] = 42
    (root / "wrong_types.jsonl").write_text("\n".join([json.dumps(as_string), json.dumps(int_content), rows[2]]) + "\n")

    (root / "empty_run.traj").write_text(json.dumps({"trajectory": [], "history": [], "info": {}}))
    (root / "empty_file.jsonl").write_bytes(b"")
    (root / "number.json").write_text("42")
    (root / "garbage.bin").write_bytes(random.Random(0).randbytes(4096))
    (root / ".DS_Store").write_bytes(b"\x00\x01hidden files are skipped")
    lines = [rows[0], "{this is not json", rows[1], b'{"messages": "caf\xe9"}'.decode("latin-1"), rows[2]]
    (root / "one_bad_line.jsonl").write_bytes(
        b"\n".join(line.encode("latin-1") if "caf" in line else line.encode() for line in lines) + b"\n"
    )

    unknown_tool = {
        "instance_id": "example__repo-1",
        "messages": [
            {"role": "system", "content": "You are an agent."},
            {"role": "user", "content": "<pr_description>\nThe docs link is dead.\n</pr_description>"},
            {"role": "assistant", "content": "Look it up.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "browse_web", "arguments": '{"url": "https://example.org", "depth": 2}'}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "404"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"id": "c2", "type": "function", "function": {"name": "execute_bash", "arguments": '{"command": "ls"}'}}]},
            {"role": "tool", "tool_call_id": "c2", "content": "docs"},
        ],
    }
    (root / "unknown_tool.json").write_text(json.dumps(unknown_tool))

    # A mini-swe-agent run whose one observation is 50 MB, written in pieces to keep the test light.
    with (root / "huge.traj.json").open("w") as f:
        f.write('{"trajectory_format": "mini-swe-agent-1", "instance_id": "big__big-1", "info": {}, "messages": [')
        f.write('{"role": "user", "content": "<pr_description>\\nBig output.\\n</pr_description>"}, ')
        f.write('{"role": "assistant", "content": "THOUGHT: print a lot.\\n\\n```bash\\nyes | head\\n```"}, ')
        f.write('{"role": "user", "content": "')
        line = "y" * 79 + "\\n"  # 81 characters of JSON text, 80 once decoded
        chunk = line * (1 << 14)
        decoded = 0
        while decoded < HUGE:
            f.write(chunk)
            decoded += len(chunk) // 81 * 80
        f.write('"}]}')
    return root


def _errors_by_file(corpus: Path) -> tuple[list, dict[str, list[TrajectoryError]]]:
    errors: list[TrajectoryError] = []
    trajectories = list(read_trajectories(corpus, on_error=errors.append))
    by_file: dict[str, list[TrajectoryError]] = {}
    for e in errors:
        by_file.setdefault(Path(e.path).name, []).append(e)
    return trajectories, by_file


def test_each_bad_item_is_one_error_and_the_rest_reads(corpus: Path):
    trajectories, errors = _errors_by_file(corpus)

    assert sorted(errors) == ["empty_file.jsonl", "empty_run.traj", "garbage.bin", "number.json",
                              "one_bad_line.jsonl", "truncated.traj", "wrong_types.jsonl"]
    (truncated,) = errors["truncated.traj"]
    assert "invalid JSON" in truncated.problem and "truncated.traj" in str(truncated)
    wrong = errors["wrong_types.jsonl"]
    assert [(e.record, e.field) for e in wrong] == [(1, "messages"), (2, "messages[2].content")]
    assert "got a string" in wrong[0].problem and "got an integer" in wrong[1].problem
    (empty,) = errors["empty_run.traj"]
    assert empty.field == "trajectory" and "no steps" in empty.problem
    assert "empty file" in errors["empty_file.jsonl"][0].problem
    assert "must start with { or [" in errors["number.json"][0].problem
    assert "not a JSON" in errors["garbage.bin"][0].problem
    bad_lines = errors["one_bad_line.jsonl"]
    assert [e.record for e in bad_lines] == [2, 4]
    assert "invalid JSON" in bad_lines[0].problem and "UTF-8" in bad_lines[1].problem

    counts: dict[str, int] = {}
    for t in trajectories:
        counts[Path(t.source_path).name] = counts.get(Path(t.source_path).name, 0) + 1
    assert counts == {"huge.traj.json": 1, "one_bad_line.jsonl": 3, "unknown_tool.json": 1, "wrong_types.jsonl": 1}


def test_without_on_error_the_first_bad_item_raises(corpus: Path):
    with pytest.raises(TrajectoryError, match=r"wrong_types\.jsonl, record 1, field 'messages'"):
        list(read_trajectories(corpus / "wrong_types.jsonl"))
    with pytest.raises(TrajectoryError, match="not a JSON"):
        sniff_format(corpus / "garbage.bin")
    with pytest.raises(TrajectoryError, match="no such file"):
        list(read_trajectories(corpus / "missing.jsonl"))


def test_unknown_tool_becomes_a_tool_call(corpus: Path):
    (t,) = read_trajectories(corpus / "unknown_tool.json")
    assert t.source_format == "openai-chat" and t.problem_statement == "The docs link is dead."
    assert t.steps[0].action == ToolCall.make("browse_web", {"url": "https://example.org", "depth": 2})
    assert t.steps[0].action_error is None and t.steps[0].observation == "404"
    assert t.steps[1].action == Bash("ls")


def test_a_50_mb_observation_reads_within_bounded_memory(corpus: Path):
    tracemalloc.start()
    try:
        (t,) = read_trajectories(corpus / "huge.traj.json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (step,) = t.steps
    assert step.action == Bash("yes | head") and step.thought == "print a lot."
    assert len(step.observation) >= HUGE and step.observation.startswith("y" * 79 + "\n")
    file_size = (corpus / "huge.traj.json").stat().st_size
    assert peak < 4 * file_size, f"peak {peak / 2**20:.0f} MiB for a {file_size / 2**20:.0f} MiB file"
