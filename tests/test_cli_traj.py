"""`swesrl traj` on the real shared trajectories: split, stats, inspect, convert, and bad input in a batch."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.trajectories import render_xml
from swesrl.trajectories.normalize import normalize
from swesrl.trajectories.readers import read_trajectories
from swesrl.trajectories.split import read_examples

runner = CliRunner()
# A small, varied subset of the real data: four source formats, a few MB in all.
SUBSET = [
    "swe-smith-ft/ft_xml_example.jsonl",
    "openhands-fncall/django__django-11179.json",
    "mini-swe-agent/psf__requests-1766.traj.json",
    "swe-agent/demo_function_calling_replace_marshmallow-code__marshmallow-1867.traj",
]


@pytest.fixture(scope="module")
def files(traj_data):
    return [str(traj_data / f) for f in SUBSET]


@pytest.fixture(scope="module")
def runs(files):
    return {t.id: t for f in files for t in read_trajectories(f)}


WIDTH = 200


def invoke(*args: str, width: int = WIDTH):
    """The command's output as a terminal `width` columns wide shows it."""
    return runner.invoke(app, ["traj", *args], env={"COLUMNS": str(width)})


def test_split_and_convert_of_a_folder_without_runs_fail_and_say_so(tmp_path):
    """An empty training file must not look like a success (a mistyped or not yet downloaded folder)."""
    empty = tmp_path / "runs"
    (empty / ".cache").mkdir(parents=True)
    (empty / ".cache" / "x.jsonl").write_text("{}\n")  # hidden: skipped
    for command, out in (("split", "steps.jsonl"), ("convert", "runs.jsonl")):
        r = invoke(command, str(empty), "-o", str(tmp_path / out))
        assert r.exit_code == 1 and f"no runs read from {empty}" in r.output, r.output
    [logged] = [json.loads(line) for line in (tmp_path / "steps.jsonl.errors.jsonl").read_text().splitlines()]
    assert "a folder with no files in it" in json.dumps(logged)


def test_split_targets_are_expert_actions_and_prompts_hold_issue_and_previous_k(tmp_path, files, runs):
    out = tmp_path / "steps.jsonl"
    r = invoke("split", *files, "-o", str(out), "--context-steps", "2", "--prompt-budget-tokens", "1000000")
    assert r.exit_code == 0, r.output
    examples = list(read_examples(out))
    assert f"wrote {len(examples)} examples" in r.output and "errors 0" in r.output
    assert {e.trajectory_id for e in examples} == set(runs)
    decided = {tid: normalize(t) for tid, t in runs.items()}
    for ex in examples:
        norm = decided[ex.trajectory_id]
        turn = next(d for d in norm.turns if d.index == ex.step_index)
        assert ex.target == render_xml(turn.action)
        assert norm.problem_statement.strip() in ex.messages[1]["content"]
        previous = [d.answer for d in norm.turns if d.index < ex.step_index and d.answer is not None][-2:]
        assert [m["content"] for m in ex.messages if m["role"] == "assistant"] == previous
    targets = sum(1 for n in decided.values() for d in n.turns if d.action is not None)
    assert len(examples) == targets


def test_split_to_parquet_opens_with_datasets(tmp_path, files):
    from datasets import load_dataset

    out = tmp_path / "steps.parquet"
    r = invoke("split", *files, "-o", str(out), "--context-steps", "all", "--no-submit")
    assert r.exit_code == 0, r.output
    n = int(r.output.split("wrote ")[1].split()[0])
    ds = load_dataset("parquet", data_files=str(out), split="train")
    assert ds.num_rows == n > 0
    assert set(ds[0]["messages"][0]) == {"role", "content"}
    assert "submit" not in set(ds["action_kind"])
    assert load_dataset("json", data_files=str(_to_jsonl(out, tmp_path)), split="train").num_rows == n


def _to_jsonl(parquet, tmp_path):
    from swesrl.trajectories.split import write_examples

    out = tmp_path / "same.jsonl"
    write_examples(read_examples(parquet), out)
    return out


@pytest.fixture
def batch_with_bad_file(tmp_path, traj_data):
    d = tmp_path / "in"
    d.mkdir()
    for f in SUBSET[:2]:
        shutil.copy(traj_data / f, d)
    text = (traj_data / SUBSET[2]).read_text()
    (d / "broken.traj.json").write_text(text[: len(text) // 2])  # cut mid-record
    return d


def test_bad_file_is_logged_and_skipped(tmp_path, batch_with_bad_file):
    out = tmp_path / "steps.jsonl"
    r = invoke("split", str(batch_with_bad_file), "-o", str(out))
    assert r.exit_code == 0, r.output
    errors = [json.loads(line) for line in (tmp_path / "steps.jsonl.errors.jsonl").read_text().splitlines()]
    assert len(errors) >= 1 and all("broken.traj.json" in e["path"] for e in errors)
    assert f"errors {len(errors)}" in r.output
    assert {e.trajectory_id for e in read_examples(out)}  # the good files made it


def test_bad_file_with_on_error_fail_exits_1_and_names_it(tmp_path, batch_with_bad_file):
    out = tmp_path / "steps.parquet"
    r = invoke("split", str(batch_with_bad_file), "-o", str(out), "--on-error", "fail")
    assert r.exit_code == 1
    assert "broken.traj.json" in r.output
    assert not out.exists() and not (tmp_path / ".steps.parquet.part").exists()


def test_stats_json(files, runs):
    r = invoke("stats", *files, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    steps = sum(len(t.steps) for t in runs.values())
    assert d["runs"] == len(runs) and d["steps"] == steps
    assert sum(d["action_kinds"].values()) + d["turns_without_action"] == steps
    assert sum(d["runs_per_format"].values()) == len(runs) and d["errors"] == 0
    pt = d["prompt_tokens"]
    assert d["examples"] == d["split"]["examples"] == steps - sum(d["split"]["dropped"].values())
    assert 0 < pt["p50"] <= pt["p90"] <= pt["p99"] <= pt["max"] <= 8192


def test_stats_table(files):
    r = invoke("stats", *files)
    assert r.exit_code == 0 and "prompt tokens" in r.output and "resolved share" in r.output


def test_inspect_run_and_step(files, runs):
    first = next(read_trajectories(files[1]))
    r = invoke("inspect", files[1])
    assert r.exit_code == 0, r.output
    assert first.problem_statement.strip().splitlines()[0][:60] in r.output and "step 0" in r.output
    r = invoke("inspect", files[1], "--step", "2")
    assert r.exit_code == 0, r.output
    assert "target" in r.output and "<function=" in r.output
    r = invoke("inspect", files[1], "--step", "100000")
    assert r.exit_code == 1 and "no example for step" in r.output
    r = invoke("inspect", files[1], "--index", "99")
    assert r.exit_code == 1 and "fewer than 100 runs" in r.output


def test_inspect_step_cuts_observations_as_split_does(tmp_path):
    """--max-observation-chars applies to the --step example too: it shows what `traj split` writes with the
    same options (bundled example runs; run 2's step 2 observation is over 1,500 characters)."""
    runs = str(Path(__file__).parents[1] / "examples" / "training" / "train_runs.jsonl")
    out = tmp_path / "steps.jsonl"
    r = invoke("split", runs, "-o", str(out), "--context-steps", "2", "--max-observation-chars", "200")
    assert r.exit_code == 0, r.output
    traj = list(read_trajectories(runs))[2]
    ex = next(e for e in read_examples(out) if e.trajectory_id == traj.id and e.step_index == 3)
    markers = [line for m in ex.messages for line in m["content"].splitlines() if "characters truncated ...]" in line]
    assert markers
    shown = invoke("inspect", runs, "-i", "2", "--step", "3", "--context-steps", "2", "--max-observation-chars", "200")
    assert shown.exit_code == 0, shown.output
    assert all(marker in shown.output for marker in markers)
    whole = invoke("inspect", runs, "-i", "2", "--step", "3", "--context-steps", "2")  # split's default: 8000
    assert whole.exit_code == 0 and "characters truncated" not in whole.output
    view = invoke("inspect", runs, "-i", "2", "--max-observation-chars", "200")
    assert view.exit_code == 0 and "characters truncated" in view.output



def test_inspect_neutralizes_control_characters_and_wraps_long_lines(tmp_path):
    """An observation is command output: its escapes must not drive the terminal, in the run view or in the
    --step example that carries it into the next step's prompt; panel lines wrap instead of being cut."""
    runs = Path(__file__).parents[1] / "examples" / "training" / "train_runs.jsonl"
    record = json.loads(runs.read_text().splitlines()[0])
    long_line = " ".join(f"w{i:04}" for i in range(60)) + " LONG-LINE-END"  # wider than WIDTH: cropped, its end is lost
    record["steps"][0]["observation"] = f"\x1b[31mred\x1b[0m \x1b]0;pwned\x07 bell\x07 nul\x00 c1\x9b\n{long_line}\n"
    crafted = tmp_path / "crafted.jsonl"
    crafted.write_text(json.dumps(record) + "\n")
    for args in ([], ["--step", "1"]):
        r = invoke("inspect", str(crafted), "--max-observation-chars", "10000", *args)
        assert r.exit_code == 0, r.output
        assert not any(c in r.output for c in "\x1b\x07\x00\x9b"), repr(r.output)
        shown = ["\\x1b[31mred\\x1b[0m", "\\x1b]0;pwned\\x07", "bell\\x07", "nul\\x00", "c1\\x9b"]
        assert all(s in r.output for s in shown), r.output
        assert "LONG-LINE-END" in r.output and max(map(len, r.output.splitlines())) <= WIDTH, r.output


@pytest.mark.parametrize("command", [["inspect"], ["inspect", "--step", "1"], ["stats"]])
def test_each_command_is_drawn_at_the_width_of_its_terminal(command):
    """Rich reads COLUMNS once, when a console is made: the CLI makes one per use, so a process that runs
    commands at several widths (these tests) draws each at its own, not all at the first one's."""
    runs = str(Path(__file__).parents[1] / "examples" / "training" / "train_runs.jsonl")
    shown = []
    for width in (60, 200, 60):
        r = invoke(*command, runs, width=width)
        assert r.exit_code == 0, r.output
        assert max(map(len, r.output.splitlines())) <= width, r.output
        shown.append(r.output)
    narrow, wide, narrow_again = shown
    assert narrow == narrow_again and max(map(len, wide.splitlines())) > 60
    assert len(narrow.splitlines()) > len(wide.splitlines())  # wrapped, not cut


def test_convert_round_trips(tmp_path, files, runs):
    out = tmp_path / "runs.jsonl"
    r = invoke("convert", *files, "-o", str(out))
    assert r.exit_code == 0, r.output
    back = list(read_trajectories(out))
    assert [t.id for t in back] == list(runs)
    assert [t.to_dict() for t in back] == [t.to_dict() for t in runs.values()]
    assert invoke("convert", *files, "-o", str(out)).exit_code == 0  # a re-run replaces, never appends
    assert len(list(read_trajectories(out))) == len(runs)


def test_bad_options_are_refused(tmp_path, files):
    r = invoke("split", files[0], "-o", str(tmp_path / "x.jsonl"), "--context-steps", "some")
    assert r.exit_code == 2 and "number or 'all'" in r.output
    r = invoke("split", files[0], "-o", str(tmp_path / "x.csv"))
    assert r.exit_code == 2 and ".jsonl or .parquet" in r.output


def test_split_prints_and_writes_the_split_report(tmp_path, traj_data):
    out = tmp_path / "steps.jsonl"
    r = invoke("split", str(traj_data), "-o", str(out), "--prompt-budget-tokens", "3000")
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "steps.jsonl.report.json").read_text())
    assert report["examples"] == len(list(read_examples(out))) and report["answer_not_exact"] == 0
    assert report["steps"] == report["examples"] + sum(report["dropped"].values())
    assert report["context_cut"] > 0  # a tight budget cuts some contexts; the report says how many
    for name, fmt in report["formats"].items():
        assert f"{name}: {fmt['runs']} runs, {fmt['steps']} steps -> {fmt['examples']} examples" in r.output
        assert sum(fmt["target_kinds"].values()) == fmt["examples"]
    assert report["formats"]["openai-chat"]["dropped"]["keystroke_input"] == 11


def test_same_file_name_in_two_inputs_gets_distinct_ids(tmp_path, traj_data):
    runs = tmp_path / "runs"
    for sub in ("a", "b"):
        (runs / sub).mkdir(parents=True)
        shutil.copy(traj_data / SUBSET[0], runs / sub)
    out = tmp_path / "steps.jsonl"
    r = invoke("split", str(runs / "a" / "ft_xml_example.jsonl"), str(runs / "b" / "ft_xml_example.jsonl"), "-o", str(out))
    assert r.exit_code == 0, r.output
    ids = [e.id for e in read_examples(out)]
    assert len(ids) == len(set(ids)) and "id collisions renamed 3" in r.output
    r = invoke("split", str(runs / "a"), str(runs / "b"), "-o", str(out))
    ids = [e.id for e in read_examples(out)]
    assert len(ids) == len(set(ids))
    r = invoke("split", str(runs), "-o", str(tmp_path / "all.jsonl"))  # one folder: named by their paths in it
    assert r.exit_code == 0 and "id collisions renamed 0" in r.output
    assert {e.trajectory_id.split(":")[1] for e in read_examples(tmp_path / "all.jsonl")} == {"a/ft_xml_example", "b/ft_xml_example"}


def test_a_bad_tokenizer_path_is_one_line(tmp_path, files):
    r = invoke("split", files[0], "-o", str(tmp_path / "x.jsonl"), "--tokenizer", str(tmp_path / "no-such-tokenizer"))
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [f"error: --tokenizer: cannot load tokenizer '{tmp_path / 'no-such-tokenizer'}': no such file or directory"]


def test_stats_says_unknown_when_no_run_states_its_outcome(traj_data):
    r = invoke("stats", str(traj_data / "mini-swe-agent"), "--json")
    assert json.loads(r.stdout)["resolved_share"] is None
    assert "unknown (no run states its outcome)" in invoke("stats", str(traj_data / "mini-swe-agent")).output
    d = json.loads(invoke("stats", str(traj_data / "nebius-swe-agent"), "--json").stdout)
    assert d["resolved_share"] == 1.0 and d["outcomes"] == {"resolved": 2}
