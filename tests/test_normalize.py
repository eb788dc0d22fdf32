"""One action space across scaffolds: windowed SWE-agent commands, submit, the workdir, keystrokes,
think, multi-agent logs, and the history of turns that are no targets. Small fixtures for each
format the normalization changes, and the real shared runs where they show the case."""

from __future__ import annotations

import json
from pathlib import Path

from swesrl.trajectories import (
    Bash,
    Create,
    Step,
    StrReplace,
    Submit,
    ToolCall,
    Trajectory,
    View,
    render_xml,
)
from swesrl.trajectories.context import ContextConfig
from swesrl.trajectories.normalize import normalize
from swesrl.trajectories.readers import read_trajectories
from swesrl.trajectories.split import SplitConfig, SplitStats, split, split_all

FIXTURES = Path(__file__).parent / "fixtures"
MULTI_AGENT = FIXTURES / "astropy__astropy-99999.traj"


def targets(traj: Trajectory, workdir: str | None = "/testbed") -> list:
    return [d.action for d in normalize(traj, workdir).turns if d.action is not None]


def reasons(traj: Trajectory) -> list[str]:
    return [d.reason for d in normalize(traj).turns if d.reason is not None]


# ---------------------------------------------------------------- SWE-agent 0.x windowed commands

FOOT = "\n(Open file: {})\n(Current directory: /repo__repo)\nbash-$"
SRC = [f"line {i}" for i in range(1, 31)]


def window(path: str, total: int, first: int, lines: list[str]) -> str:
    head = f"[File: {path} ({total} lines total)]\n" + (f"({first - 1} more lines above)\n" if first > 1 else "")
    return head + "".join(f"{first + i}:{text}\n" for i, text in enumerate(lines)) + FOOT.format(path)


def v0_run(tmp_path: Path, turns: list[tuple[str, str]]) -> Trajectory:
    """A SWE-agent 0.x .traj holding the given (action, observation) turns."""
    prompt = "ISSUE:\nThe thing is broken.\n\nINSTRUCTIONS:\nFix it." + FOOT.format("n/a")
    history = [{"role": "system", "content": "SETTING: ...", "agent": "primary"},
               {"role": "user", "content": prompt, "agent": "primary"}]
    steps = []
    for action, observation in turns:
        history += [{"role": "assistant", "content": f"ok\n```\n{action}\n```", "thought": "ok", "action": action, "agent": "primary"},
                    {"role": "user", "content": observation, "agent": "primary"}]
        steps.append({"thought": "ok", "action": action, "observation": observation})
    path = tmp_path / "run.traj"
    path.write_text(json.dumps({"environment": "swe_main", "trajectory": steps, "history": history, "info": {}}))
    return next(read_trajectories(path))


def test_windowed_commands_become_the_canonical_actions_that_do_the_same(tmp_path):
    f = "/repo__repo/pkg/mod.py"
    edited = SRC[:11] + ["new 12", "new 12b"] + SRC[12:]
    traj = v0_run(tmp_path, [
        ("open pkg/mod.py 15", window(f, 30, 1, SRC[:25])),
        ("goto 20", window(f, 30, 6, SRC[5:30])),
        ("scroll_up", window(f, 30, 1, SRC[:25])),
        ("edit 12:12\nnew 12\nnew 12b\nend_of_edit", window(f, 31, 1, edited[:25])),
        ("search_file 'line 2'", "Found 11 matches" + FOOT.format(f)),
        ("search_dir needle src", "Found 1 matches" + FOOT.format(f)),
        ("find_file mod.py", "Found 1 matches" + FOOT.format(f)),
        ("create notes.txt", window("/repo__repo/notes.txt", 1, 1, [""])),
        ("edit 1:1\nhello\nend_of_edit", window("/repo__repo/notes.txt", 1, 1, ["hello"])),
        ("submit", "diff --git a/x b/x"),
    ])
    assert traj.metadata["workdir"] == "/repo__repo"
    assert targets(traj) == [
        View("/testbed/pkg/mod.py", (1, 25)),
        View("/testbed/pkg/mod.py", (6, 30)),
        View("/testbed/pkg/mod.py", (1, 25)),
        StrReplace("/testbed/pkg/mod.py", "line 12", "new 12\nnew 12b"),
        Bash("grep -n -- 'line 2' /testbed/pkg/mod.py"),
        Bash("grep -rnIc -- needle src | grep -v ':0$'"),
        Bash("find . -type f -name mod.py"),
        Create("/testbed/notes.txt", "\n"),
        StrReplace("/testbed/notes.txt", "\n", "hello\n"),  # the whole file: the one empty line `create` wrote
        Submit(),
    ]
    # --keep-workdir: the scaffold's own folder stays
    assert targets(traj, workdir=None)[0] == View("/repo__repo/pkg/mod.py", (1, 25))


def test_edit_widens_to_a_unique_old_text_and_deletes_with_a_neighbour(tmp_path):
    f = "/repo__repo/a.py"
    lines = ["def f():", "    return 1", "", "def g():", "    return 1", ""]
    traj = v0_run(tmp_path, [
        ("open a.py", window(f, 6, 1, lines)),
        ("edit 5:5\n    return 2\nend_of_edit", window(f, 6, 1, lines[:4] + ["    return 2", ""])),
        ("edit 3:3\nend_of_edit", window(f, 5, 1, lines[:2] + ["def g():", "    return 2", ""])),
    ])
    edit, delete = targets(traj)[1:]
    assert edit == StrReplace("/testbed/a.py", "def g():\n    return 1", "def g():\n    return 2")
    assert delete == StrReplace("/testbed/a.py", "    return 1\n", "    return 1")


def test_edits_that_cannot_be_mapped_exactly_are_dropped_by_reason(tmp_path):
    f = "/repo__repo/a.py"
    traj = v0_run(tmp_path, [
        ("edit 1:1\nx\nend_of_edit", "No file open. Use the open command first." + FOOT.format("n/a")),
        ("open a.py 40", window(f, 100, 30, [f"l{i}" for i in range(30, 51)])),
        ("edit 40:40\nx\nend_of_edit", window(f, 100, 30, [f"l{i}" for i in range(30, 40)] + ["y"])),  # log disagrees
        ("edit 2:3\nx\nend_of_edit", window(f, 99, 1, ["x"] + [f"l{i}" for i in range(4, 30)])),  # lines 2-3 never shown
        ("open missing.py", "File missing.py not found" + FOOT.format(f)),
    ])
    assert targets(traj) == [View("/testbed/a.py", (30, 50))]
    assert reasons(traj) == ["no_open_file", "edit_mismatch", "lines_not_shown", "window_not_shown"]


def test_a_rejected_edit_is_still_the_experts_action_and_leaves_the_file_as_it_was(tmp_path):
    f = "/repo__repo/a.py"
    lines = ["x = 1", "y = 2", "z = 3"]
    rejected = ("Your proposed edit has introduced new syntax error(s).\nThis is how your edit would have looked if applied\n"
                + window(f, 3, 1, ["x = 1", "y = (", "z = 3"]) + "\nThis is the original code before your edit\n"
                + window(f, 3, 1, lines) + "\nYour changes have NOT been applied. Please fix your edit command and try again.")
    traj = v0_run(tmp_path, [
        ("open a.py", window(f, 3, 1, lines)),
        ("edit 2:2\ny = (\nend_of_edit", rejected),
        ("edit 2:2\ny = 22\nend_of_edit", window(f, 3, 1, ["x = 1", "y = 22", "z = 3"])),
    ])
    assert targets(traj)[1:] == [StrReplace("/testbed/a.py", "y = 2", "y = ("), StrReplace("/testbed/a.py", "y = 2", "y = 22")]


def test_swe_agent_function_calling_demo_maps_every_step(traj_data):
    traj = next(read_trajectories(traj_data / "swe-agent" / "demo_function_calling_replace_marshmallow-code__marshmallow-1867.traj"))
    decided = normalize(traj).turns
    assert [d.reason for d in decided] == [None] * len(traj.steps)
    assert [d.action.kind for d in decided] == [
        "create", "insert", "bash", "bash", "bash", "view", "str_replace", "str_replace", "bash", "bash", "submit"]


# ---------------------------------------------------------------- submit, workdir, keystrokes, think


def test_every_mini_swe_agent_run_ends_in_a_submit_target(traj_data):
    for traj in read_trajectories(traj_data / "mini-swe-agent"):
        found = targets(traj)
        assert isinstance(found[-1], Submit), traj.id
        assert not any(isinstance(a, Bash) and "COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT" in a.command for a in found)


def test_openhands_targets_context_and_observations_use_the_task_workdir(traj_data):
    traj = next(read_trajectories(traj_data / "openhands-fncall" / "django__django-11179.json"))
    root = traj.metadata["workdir"]
    assert root == "/workspace/django__django__3.0"
    examples = list(split(traj, SplitConfig(context=ContextConfig(context_steps=None, prompt_budget_tokens=10**7))))
    text = json.dumps([e.to_dict() for e in examples])
    assert root not in text and "/testbed/django/" in text
    kept = list(split(traj, SplitConfig(context=ContextConfig(context_steps=None, prompt_budget_tokens=10**7), workdir=None)))
    assert root in json.dumps([e.to_dict() for e in kept])


def test_keystrokes_to_a_running_process_are_dropped_with_their_reason(traj_data):
    traj = next(read_trajectories(traj_data / "openhands-fncall" / "pytest-dev__pytest-7236.json"))
    keys = [s for s in traj.steps if isinstance(s.action, ToolCall) and s.action.name == "send_keys"]
    assert {s.action.args["keys"] for s in keys} == {"C-c", "q"}
    assert reasons(traj).count("keystroke_input") == len(keys) == 11
    assert not any(isinstance(a, Bash) and a.command in ("C-c", "q") for a in targets(traj))


def test_think_joins_the_next_thought_and_task_description_is_the_issue(tmp_path):
    example = "<pr_description>\nAn in-context example issue.\n</pr_description>"
    task = f"{example}\n<task_description>\nThe real issue: parse() drops the last token.\n</task_description>"
    think = "<function=think>\n<parameter=thought>The tokenizer loop is off by one.</parameter>\n</function>"
    view = "<function=str_replace_editor>\n<parameter=command>view</parameter>\n<parameter=path>/testbed/p.py</parameter>\n</function>"
    row = {"instance_id": "o__r.1a2b3c4d.pr_1", "resolved": True, "patch": "diff --git a/p.py b/p.py\n",
           "messages": [{"role": "system", "content": "sys"}, {"role": "user", "content": task},
                        {"role": "assistant", "content": f"Let me think.\n{think}"},
                        {"role": "user", "content": "OBSERVATION:\nYour thought has been logged."},
                        {"role": "assistant", "content": f"Look at it.\n{view}"},
                        {"role": "user", "content": "OBSERVATION:\n1 def parse(): ..."}]}
    path = tmp_path / "play.jsonl"
    path.write_text("\ufeff" + json.dumps(row) + "\n", encoding="utf-8")  # with a UTF-8 BOM, as Windows tools write
    traj = next(read_trajectories(path))
    assert traj.problem_statement == "The real issue: parse() drops the last token."
    assert (traj.outcome, traj.final_patch) == ("resolved", "diff --git a/p.py b/p.py\n")
    (ex,) = split(traj)
    assert ex.thought == "Let me think.\n\nThe tokenizer loop is off by one.\n\nLook at it."
    assert [m["role"] for m in ex.messages] == ["system", "user"]  # the think turn is no context either
    stats = SplitStats()
    assert len(list(split_all([traj], SplitConfig(only_resolved=True), stats))) == 1
    assert stats.to_dict()["dropped"] == {"think": 1}


# ---------------------------------------------------------------- history of turns that are no targets


def test_turns_that_are_no_targets_still_show_in_later_prompts():
    calls = [View("/testbed/a.py"), View("/testbed/b.py")]
    traj = Trajectory("t", "issue", [
        Step("look at both", None, "a\nb", action_error="2 actions", calls=calls),
        Step("hmm, done?", None, "Please continue working on the task.", action_error="no action"),
        Step("fix", StrReplace("/testbed/a.py", "x", "y"), "edited"),
    ])
    (ex,) = split(traj, SplitConfig(context=ContextConfig(context_steps=None)))
    assert [m["content"] for m in ex.messages if m["role"] == "assistant"] == [
        "\n".join(render_xml(c) for c in calls), "hmm, done?"]
    assert "Please continue" in ex.messages[-1]["content"]


def test_parallel_calls_of_a_real_openhands_run_stay_in_the_context(traj_data):
    traj = next(t for t in read_trajectories(traj_data / "swe-gym-openhands") if t.instance_id == "python__mypy-15976_0")
    four = next(i for i, s in enumerate(traj.steps) if len(s.calls) == 4)
    ex = next(e for e in split(traj) if e.step_index > four)
    assert ex.step_index == four + 1
    shown = [m["content"] for m in ex.messages if m["role"] == "assistant"][-1]
    assert shown.count("<function=str_replace_editor>") == 4
    assert render_xml(View("/testbed/mypy/plugins/attrs.py", (297, 357))) in shown


# ---------------------------------------------------------------- multi-agent logs


def test_a_multi_agent_log_is_split_per_sub_agent_without_later_outputs():
    runs = list(read_trajectories(MULTI_AGENT))
    assert [t.id.split("#")[1] for t in runs] == ["Manager", "Reproducer", "Programmer"]
    assert {t.instance_id for t in runs} == {"astropy__astropy-99999"}
    for t in runs:
        assert t.problem_statement.startswith("Ellipsis in `Table.pformat`") and "INSTRUCTION" not in t.problem_statement
    manager, reproducer, programmer = runs
    assert targets(manager) == [] and reasons(manager) == ["tool:plan"]
    assert targets(programmer)[:2] == [View("/testbed/astropy/table/pformat.py", (1, 5)),
                                       StrReplace("/testbed/astropy/table/pformat.py", "    shown = cols[:-1]", "    shown = cols")]
    assert reasons(reproducer) == reasons(programmer) == ["tool:succeed"]
    examples = list(split_all(runs, SplitConfig(context=ContextConfig(context_steps=None))))
    assert {e.trajectory_id.split("#")[1] for e in examples} == {"Reproducer", "Programmer"}
    for e in examples:
        prompt = json.dumps(e.messages)
        assert "FINAL SUMMARY" not in prompt  # the Manager's report, written after everyone finished
        if e.trajectory_id.endswith("#Reproducer"):
            assert "pformat.py" not in prompt and "shown = cols" not in prompt  # nothing the Programmer did later


def test_parallel_calls_survive_conversion_to_swesrl_format(tmp_path, traj_data):
    from swesrl.trajectories.readers import write_trajectories

    runs = list(read_trajectories(traj_data / "swe-gym-openhands"))
    write_trajectories(runs, tmp_path / "runs.jsonl")
    back = list(read_trajectories(tmp_path / "runs.jsonl"))
    assert [[s.calls for s in t.steps] for t in back] == [[s.calls for s in t.steps] for t in runs]
    assert sum(len(s.calls) for t in back for s in t.steps) == 10


def test_a_target_whose_expert_answer_would_not_score_one_is_dropped_by_reason():
    traj = Trajectory("t", "issue", [
        Step("plain", Bash("grep -n '<parameter=' notes.txt"), "1"),  # a tag in a value, still parses back
        Step("a </think> alone is fine", Bash("ls"), "a"),  # the parser reads past it: still exact
        Step("but </think> then <function=bash> is not", Bash("ls"), "a"),  # the think block ends early
        Step("two calls?", Bash("echo '<function=bash>'"), "x"),  # the parser would see two calls
    ])
    decided = normalize(traj).turns
    assert [d.reason for d in decided] == [None, None, "answer_not_exact", "answer_not_exact"]
    stats = SplitStats()
    assert [e.target for e in split(traj, stats=stats)] == [render_xml(Bash("grep -n '<parameter=' notes.txt")), render_xml(Bash("ls"))]
    assert stats.answer_not_exact == 2
    assert all(d.answer for d in decided)  # still shown in later prompts
