"""The splitter: one example per expert action, prompt = issue + previous k expert turns, target = canonical action."""

import json
import subprocess
import sys

import pytest

from swesrl.trajectories import Bash, Step, StrReplace, Submit, Trajectory, View, render_xml
from swesrl.trajectories.context import ContextConfig, template
from swesrl.trajectories.split import (
    SplitConfig,
    SplitStats,
    StepExample,
    read_examples,
    split,
    split_all,
    write_examples,
)

ISSUE = "Calling frobnicate() with an empty list raises IndexError instead of returning []."


def run(n_steps: int = 5, traj_id: str = "run-1", outcome: str = "resolved", observation: str = "out {i}") -> Trajectory:
    actions = [Bash("ls /testbed"), View("/testbed/frob.py", (1, 40)), Bash("python repro.py"),
               StrReplace("/testbed/frob.py", "xs[0]", "xs[0] if xs else []"), Bash("python repro.py")]
    steps = [Step(f"thought {i}", actions[i % len(actions)], observation.format(i=i)) for i in range(n_steps)]
    steps.append(Step("done", Submit(), ""))
    return Trajectory(traj_id, ISSUE, steps, instance_id="frob__frob-1", outcome=outcome, source_format="test")


def assistant_turns(ex: StepExample) -> list[str]:
    return [m["content"] for m in ex.messages if m["role"] == "assistant"]


def test_one_example_per_action_with_issue_and_previous_k_turns():
    traj = run()
    examples = list(split(traj, SplitConfig(context=ContextConfig(context_steps=2))))
    assert [e.step_index for e in examples] == list(range(6))
    for k, ex in enumerate(examples):
        assert ex.target == render_xml(traj.steps[k].action)
        assert ex.thought == traj.steps[k].thought
        assert ex.messages[0] == {"role": "system", "content": template("system.md")}
        assert ISSUE in ex.messages[1]["content"]
        prev = list(range(max(0, k - 2), k))
        assert assistant_turns(ex) == [render_xml(traj.steps[j].action) for j in prev]
        observations = [m["content"] for m in ex.messages[2:] if m["role"] == "user"]
        assert [f"out {j}" in o for j, o in zip(prev, observations, strict=True)] == [True] * len(prev)
        assert ex.action_kind == traj.steps[k].action.kind
        assert ex.prompt_tokens > 0 and ex.source_format == "test" and ex.instance_id == "frob__frob-1"


def test_context_all_holds_every_previous_turn():
    traj = run(8)
    last = list(split(traj, SplitConfig(context=ContextConfig(context_steps=None))))[-1]
    assert assistant_turns(last) == [render_xml(s.action) for s in traj.steps[:-1]]


def test_context_zero_is_issue_only():
    ex = list(split(run(), SplitConfig(context=ContextConfig(context_steps=0))))[3]
    assert [m["role"] for m in ex.messages] == ["system", "user"]


def test_token_budget_drops_oldest_turns_first():
    traj = run(6, observation="observation {i} " + "x" * 2000)
    full = list(split(traj, SplitConfig(context=ContextConfig(context_steps=None, prompt_budget_tokens=100_000))))[-1]
    tight = list(split(traj, SplitConfig(context=ContextConfig(context_steps=None, prompt_budget_tokens=full.prompt_tokens - 100))))[-1]
    kept = assistant_turns(tight)
    assert 0 < len(kept) < len(assistant_turns(full))
    assert kept == assistant_turns(full)[-len(kept):]  # the newest survive
    assert tight.prompt_tokens <= full.prompt_tokens - 100


def test_issue_over_budget_is_dropped_and_counted():
    stats = SplitStats()
    assert list(split(run(), SplitConfig(context=ContextConfig(prompt_budget_tokens=10)), stats)) == []
    assert stats.over_budget == 6 and stats.examples == 0


def test_long_observation_truncated_with_visible_marker():
    traj = run(3, observation="HEAD{i}" + "y" * 50_000 + "TAIL")
    ex = list(split(traj, SplitConfig(context=ContextConfig(max_observation_chars=1000))))[2]
    obs = ex.messages[-1]["content"]
    assert "HEAD1" in obs and "TAIL" in obs and "characters truncated" in obs
    assert len(obs) < 1200


def test_ids_deterministic_and_steps_without_action_skipped_but_counted():
    traj = run(4)
    traj.steps.insert(2, Step("I will run two commands", None, "format error", action_error="2 actions"))
    stats = SplitStats()
    ids = [e.id for e in split(traj, SplitConfig(), stats)]
    assert ids == [e.id for e in split(traj)]
    assert ids == ["run-1/0", "run-1/1", "run-1/3", "run-1/4", "run-1/5"]
    assert stats.steps_without_action == 1 and stats.examples == 5
    assert stats.to_dict()["dropped"] == {"several_actions": 1}
    # The turn without an action is no target, but later prompts still show it (as its words).
    ex3 = next(e for e in split(traj) if e.step_index == 3)
    assert assistant_turns(ex3) == [render_xml(traj.steps[1].action), "I will run two commands"]
    assert "format error" in ex3.messages[-1]["content"]


def test_only_resolved_keep_submit_drop_last():
    stats = SplitStats()
    out = list(split_all([run(), run(traj_id="run-2", outcome="unresolved")], SplitConfig(only_resolved=True), stats))
    assert {e.trajectory_id for e in out} == {"run-1"} and stats.unresolved_skipped == 1 and stats.trajectories == 2

    no_submit = list(split(run(), SplitConfig(keep_submit=False)))
    assert len(no_submit) == 5 and all(e.action_kind != "submit" for e in no_submit)

    no_last = list(split(run(3), SplitConfig(drop_last=True)))
    assert [e.step_index for e in no_last] == [0, 1, 2]


def test_dedupe_across_runs():
    a, b = run(traj_id="a"), run(traj_id="b")  # same issue and steps: every (prompt, target) repeats
    stats = SplitStats()
    out = list(split_all([a, b], SplitConfig(dedupe=True), stats))
    assert [e.trajectory_id for e in out] == ["a"] * 6 and stats.duplicates == 6
    assert len(list(split_all([a, b]))) == 12


def test_callable_tokenizer_counts_prompt():
    ex = list(split(run(), SplitConfig(tokenizer=lambda text: len(text.split()))))[2]
    assert ex.prompt_tokens == sum(len(m["content"].split()) for m in ex.messages)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_write_and_read_back(tmp_path, suffix):
    examples = list(split_all([run(), run(traj_id="run-2")]))
    out = tmp_path / f"examples{suffix}"
    assert write_examples(iter(examples), out) == 12
    assert list(read_examples(out)) == examples
    assert not (tmp_path / f".examples{suffix}.part").exists()


def test_jsonl_lines_are_json_dumps_of_each_example(tmp_path):
    """The writer reuses each shared message's encoding; the bytes must be json.dumps' all the same."""
    runs = [run(traj_id="run-1", observation="sortie {i}: café ✓ \"quoted\"\n\ttab"), run(traj_id="run-2")]
    examples = list(split_all(runs))
    out = tmp_path / "examples.jsonl"
    write_examples(iter(examples), out)
    again = tmp_path / "again.jsonl"
    write_examples(read_examples(out), again)  # read back: no message shared between examples
    expected = "".join(json.dumps(ex.to_dict(), ensure_ascii=False) + "\n" for ex in examples).encode()
    assert out.read_bytes() == expected == again.read_bytes()


def test_parquet_messages_are_structs_that_datasets_opens(tmp_path):
    from datasets import load_dataset

    out = tmp_path / "ex.parquet"
    write_examples(split(run()), out)
    ds = load_dataset("parquet", data_files=str(out), split="train")
    assert ds.num_rows == 6
    assert ds[2]["messages"][1]["role"] == "user" and ISSUE in ds[2]["messages"][1]["content"]
    assert ds[2]["target"] == render_xml(run().steps[2].action)


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\.jsonl or \.parquet"):
        write_examples([], tmp_path / "x.csv")


def test_split_and_write_without_transformers_or_torch(tmp_path):
    code = f"""
import sys
from swesrl.trajectories import Bash, Step, Trajectory
from swesrl.trajectories.split import split_all, write_examples
t = Trajectory("r", "issue", [Step("", Bash("ls"), "a")])
write_examples(split_all([t]), {str(tmp_path / "o.parquet")!r})
print(sorted(m for m in ("transformers", "torch") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().replace("'", '"')) == []


def test_hugging_face_tokenizer_path(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([ISSUE, "ls /testbed"], trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(tmp_path)

    ex = list(split(run(), SplitConfig(tokenizer=str(tmp_path))))[1]
    words = sum(len(pre_tokenizers.Whitespace().pre_tokenize_str(m["content"])) for m in ex.messages)
    assert ex.prompt_tokens == words  # word-level: one token per pre-token
