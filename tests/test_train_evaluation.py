"""Held-out step evaluation (`swesrl train evaluate`, training/evaluation.py) and the validation that
training runs at each checkpoint with it (`--val-data`, `best_checkpoint`)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_train_data import write_step_examples  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXPERT_RUNS = ROOT / "examples" / "trajectories" / "expert_runs.jsonl"

pytest.importorskip("torch")


def swesrl(*args: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "swesrl", *args], capture_output=True, text=True)
    assert proc.returncode == 0, f"swesrl {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def bundled_steps(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("steps") / "steps.jsonl"
    swesrl("traj", "split", str(EXPERT_RUNS), "-o", str(out))
    return out


def test_training_runs_hold_whole_tasks_out_and_every_variant_makes_the_experts_fix():
    from swesrl.trajectories.readers import read_trajectories

    experts = {t.instance_id: t for t in read_trajectories(EXPERT_RUNS)}
    train = list(read_trajectories(ROOT / "examples" / "training" / "train_runs.jsonl"))
    heldout = list(read_trajectories(ROOT / "examples" / "training" / "heldout_runs.jsonl"))
    train_ids, heldout_ids = {t.instance_id for t in train}, {t.instance_id for t in heldout}
    assert not train_ids & heldout_ids and train_ids | heldout_ids == set(experts) and len(heldout_ids) == 2
    for run in train + heldout:
        assert run.outcome == "resolved" and run.final_patch == experts[run.instance_id].final_patch, run.id
    assert len({tuple(str(s.action) for s in r.steps) for r in train}) == len(train) == 5 * len(train_ids)


def test_trivial_baselines_score_what_they_answer(bundled_steps):
    from swesrl.training.evaluation import (
        EMPTY_BASH,
        SUBMIT,
        baselines,
        previous_action,
        score_answers,
        step_rows,
    )
    from swesrl.training.rewards import model_action_text, srl_reward

    rows = step_rows(bundled_steps)
    result = baselines(rows[10:], rows[:10])
    submits = sum(r["target"] == model_action_text(SUBMIT) for r in rows[10:])
    assert submits > 0 and result["submit"]["exact_match"] == pytest.approx(submits / len(rows[10:]))
    assert result["submit"]["distinct_answers"] == result["empty bash"]["distinct_answers"] == 1
    assert result["empty bash"]["reward_mean"] == pytest.approx(sum(srl_reward(EMPTY_BASH, r["target"]) for r in rows[10:]) / 40)
    # copying the previous expert action: the first step of a run has none (the empty bash call instead)
    first, second = rows[0], rows[1]
    assert previous_action(first) == EMPTY_BASH
    assert model_action_text(previous_action(second)) == first["target"]
    # the best constant is one of the training targets and no other training target scores more on them
    best = result["best constant"]["answer"]
    assert best in {r["target"] for r in rows[:10]}
    train_scores = {t: score_answers([f"<think>\n\n</think>\n{t}"] * 10, rows[:10])["reward_mean"] for t in {r["target"] for r in rows[:10]}}
    assert train_scores[best] == max(train_scores.values())
    assert result["previous expert action"]["action_kinds"] != result["submit"]["action_kinds"]


def test_score_answers_counts_malformed_exact_and_distinct_answers():
    from swesrl.training.evaluation import SUBMIT, score_answers

    rows = [{"target": "<function=submit>\n</function>"}, {"target": "<function=bash>\n<parameter=command>ls</parameter>\n</function>"}]
    ls = "<think>\nlook\n</think>\n<function=bash>\n<parameter=command>ls</parameter>\n</function>"
    s = score_answers([SUBMIT, "<think> no action", ls, ls], rows)  # two answers per row
    assert s["answers"] == 4 and s["exact_match"] == 0.75 and s["format_error_rate"] == 0.25
    assert s["distinct_answers"] == 2 and s["action_kinds"] == {"bash": 0.5, "submit": 0.25, "malformed": 0.25}
    assert s["reward_mean"] == pytest.approx((1 - 1 + 1 + 1) / 4)
    with pytest.raises(ValueError, match="3 answers for 2 rows"):
        score_answers([SUBMIT] * 3, rows)


def test_evaluate_cli_writes_models_and_baselines_on_the_same_rows(bundled_steps, tmp_path):
    from rich.console import Console

    from swesrl.training.evaluation import heldout_table
    from swesrl.training.tiny_model import init_tiny_model

    model = init_tiny_model(tmp_path / "tiny", corpus=[bundled_steps])
    heldout = tmp_path / "heldout.jsonl"
    lines = bundled_steps.read_text().splitlines()
    heldout.write_text("\n".join(lines[:6]) + "\n")
    out = tmp_path / "eval.json"
    printed = swesrl("train", "evaluate", "--data", str(heldout), "--train-data", str(bundled_steps), "--model", f"init={model}",
                     "--samples", "2", "--max-new-tokens", "8", "--cpu-threads", "1", "-o", str(out))
    result = json.loads(out.read_text())
    assert result["rows"] == 6 and set(result["baselines"]) == {"submit", "empty bash", "previous expert action", "best constant"}
    init = result["models"]["init"]
    assert init["greedy"]["answers"] == 6 and init["sampled"]["answers"] == 12
    # 8 tokens of a random model are never a whole answer: all malformed, reward -1
    assert init["greedy"]["format_error_rate"] == 1.0 and init["greedy"]["reward_mean"] == -1.0
    assert init["greedy"]["reward_ci"] == [-1.0, -1.0] and result["tasks"] == 1
    [paired] = [p for p in result["paired"] if p["policy"] == "init greedy"]
    strongest = max(result["baselines"].values(), key=lambda b: b["reward_mean"])
    assert paired["difference"] == pytest.approx(-1.0 - strongest["reward_mean"], abs=1e-4)
    assert "best constant" in printed and "init" in printed and "paired differences" in printed
    narrow = Console(width=80, file=io.StringIO())
    narrow.print(heldout_table(result))
    assert "…" not in narrow.file.getvalue()  # folded, never cut ('decod…', 'str_r…')


def test_held_out_steps_split_unlike_the_training_steps_are_named(bundled_steps, tmp_path, caplog):
    """The bundled steps are split with 2 previous steps; held-out steps split with 1 score a model on prompts
    it was not trained on."""
    from swesrl.training.evaluation import context_mismatch, evaluate

    one = tmp_path / "one.jsonl"
    swesrl("traj", "split", str(EXPERT_RUNS), "-o", str(one), "--context-steps", "1")
    assert context_mismatch(one, bundled_steps) == ("the held-out steps were split with other prompt settings than the "
                                                    "training steps: context_steps 1 (training: 2)")
    assert context_mismatch(bundled_steps, bundled_steps) is None
    bare = tmp_path / "bare.jsonl"  # no split report beside it: nothing to compare
    bare.write_text(one.read_text())
    assert context_mismatch(bare, bundled_steps) is None and context_mismatch(one, None) is None
    result = evaluate({}, one, bundled_steps)
    assert result["warnings"] == [context_mismatch(one, bundled_steps)]
    assert "context_steps 1 (training: 2)" in caplog.text


def test_intervals_resample_tasks_and_pair_the_policies():
    """Two tasks a policy scores 0.2 and 0.8 on: the interval spans them, whatever the steps per task; a
    policy 0.1 better on every task is better in every draw of the tasks, however far apart the tasks are."""
    from swesrl.training.intervals import add_intervals, interval, task_groups

    rows = [{"instance_id": "a"}] * 30 + [{"instance_id": "b"}] * 30 + [{}]
    groups = task_groups(rows)
    assert groups.max() == 2 and groups[-1] == 2  # a row without a task is its own
    lo, hi = interval([0.2] * 30 + [0.8] * 31, groups)
    assert lo == pytest.approx(0.2, abs=0.01) and hi == pytest.approx(0.8, abs=0.01)
    weak = [0.0] * 30 + [0.6] * 30 + [0.6]
    strong = [r + 0.1 for r in weak]
    result = {"baselines": {"constant": {"reward_mean": 0.3, "row_rewards": weak}},
              "models": {"a": {"greedy": {"reward_mean": 0.4, "row_rewards": strong}},
                         "b": {"greedy": {"reward_mean": 0.3, "row_rewards": weak}}}}
    add_intervals(result, rows)
    paired = {(p["policy"], p["against"]): p for p in result["paired"]}
    assert set(paired) == {("a greedy", "constant"), ("b greedy", "constant"), ("b greedy", "a greedy")}
    assert paired[("a greedy", "constant")]["ci"] == pytest.approx((0.1, 0.1))
    assert paired[("b greedy", "a greedy")]["difference"] == pytest.approx(-0.1)
    assert result["models"]["a"]["greedy"]["reward_ci"][1] - result["models"]["a"]["greedy"]["reward_ci"][0] > 0.5


def test_val_data_validates_every_checkpoint_and_names_the_best(tmp_path):
    from swesrl.training.tiny_model import init_tiny_model
    from swesrl.training.validation import BEST_FILE, VALIDATION_FILE, best_checkpoint

    steps = write_step_examples(tmp_path / "steps.jsonl", 16)
    val = write_step_examples(tmp_path / "val.jsonl", 4)
    model = init_tiny_model(tmp_path / "tiny", corpus=[steps])
    out = tmp_path / "srl"
    printed = swesrl("train", "srl", "--recipe", "tiny-cpu", "--data", str(steps), "--val-data", str(val), "--model", str(model),
                     "-o", str(out), "--set", "max_steps=4", "--set", "save_steps=2", "--set", "max_completion_length=12",
                     "--set", "val_max_new_tokens=12", "--set", "max_refill_rounds=0", "--set", "learning_rate=0.05")
    results = {n: json.loads((out / f"checkpoint-{n}" / VALIDATION_FILE).read_text()) for n in (2, 4)}
    for step, r in results.items():
        assert r["step"] == step and r["val_examples"] == 4
        assert -1.0 <= r["val_reward_mean"] <= 1.0 and 0.0 <= r["val_format_error_rate"] <= 1.0
    best = max((2, 4), key=lambda n: (results[n]["val_reward_mean"], -n))
    assert Path((out / BEST_FILE).read_text().strip()) == (out / f"checkpoint-{best}").resolve()
    assert best_checkpoint(out) == out / f"checkpoint-{best}"
    assert f"best checkpoint {(out / f'checkpoint-{best}').resolve()}" in printed


def test_best_checkpoint_is_the_highest_validation_reward_earliest_on_ties(tmp_path):
    from swesrl.training.validation import VALIDATION_FILE, best_checkpoint

    assert best_checkpoint(tmp_path) is None
    for step, score in [(2, 0.1), (4, 0.3), (10, 0.3), (6, None), (8, -0.2)]:
        ckpt = tmp_path / f"checkpoint-{step}"
        ckpt.mkdir()
        if score is not None:  # a checkpoint saved without validation is never chosen
            (ckpt / VALIDATION_FILE).write_text(json.dumps({"step": step, "val_reward_mean": score}))
    assert best_checkpoint(tmp_path) == tmp_path / "checkpoint-4"


def test_the_report_shows_the_held_out_table(bundled_steps, tmp_path):
    from swesrl.report import HELDOUT_FILE, write_report
    from swesrl.training.evaluation import evaluate

    result = evaluate({}, bundled_steps, bundled_steps, samples=0)
    (tmp_path / HELDOUT_FILE).write_text(json.dumps(result))
    md = (write_report(tmp_path).parent / "report.md").read_text()
    assert f"## Held-out steps: {result['rows']} steps" in md
    for name, b in result["baselines"].items():
        assert f"| {name} | " in md and f"{b['reward_mean']:.3f}" in md


class RecordingVLLM:
    """Stands where TRL's VLLMGeneration stands (its attributes and generate/sync_weights signatures, held
    by tests/test_trl_contract.py): records what validation asks of it and answers a fixed action."""

    def __init__(self, tokenizer):
        self.tokenizer, self.calls, self.syncs = tokenizer, [], 0
        self.temperature, self.top_p, self.top_k, self.min_p, self.repetition_penalty = 1.0, 0.95, 50, 0.1, 1.1
        self.max_completion_length, self.generation_kwargs = 1024, {"seed": 3}

    def sync_weights(self):
        self.syncs += 1

    def generate(self, prompts, images, num_generations, profiler=None):
        self.calls.append({"prompts": prompts, "num_generations": num_generations, "temperature": self.temperature,
                           "top_k": self.top_k, "max_tokens": self.max_completion_length, "kwargs": self.generation_kwargs})
        ids = self.tokenizer("<think>\n\n</think>\n<function=submit>\n</function>", add_special_tokens=False)["input_ids"]
        return prompts, [ids] * len(prompts), None, None


def test_validation_with_a_vllm_recipe_generates_greedily_through_trls_vllm(tmp_path):
    from types import SimpleNamespace

    from transformers import AutoTokenizer

    from swesrl.training.tiny_model import init_tiny_model
    from swesrl.training.validation import answerer_for, validate

    tok = AutoTokenizer.from_pretrained(init_tiny_model(tmp_path / "tiny"))
    vllm = RecordingVLLM(tok)
    trainer = SimpleNamespace(args=SimpleNamespace(use_vllm=True), state=SimpleNamespace(global_step=5), _last_loaded_step=3,
                              processing_class=tok, vllm_generation=vllm)
    rows = [{"messages": [{"role": "user", "content": f"task {i}"}], "target": "<function=submit>\n</function>"} for i in range(3)]
    answer = answerer_for(trainer, max_new_tokens=64)
    result = validate(rows, answer)
    assert vllm.syncs == 1 and trainer._last_loaded_step == 5  # the step's weights pushed once; TRL skips its own sync
    [call] = vllm.calls
    assert (call["temperature"], call["top_k"], call["max_tokens"], call["kwargs"], call["num_generations"]) == (0.0, 0, 64, {}, 1)
    expected = [tok(tok.apply_chat_template(r["messages"], add_generation_prompt=True, tokenize=False),
                    add_special_tokens=False)["input_ids"] for r in rows]
    assert call["prompts"] == expected
    assert result["val_exact_match"] == 1.0 and result["val_examples"] == 3
    # the training's sampling settings are back
    assert (vllm.temperature, vllm.top_p, vllm.top_k, vllm.max_completion_length, vllm.generation_kwargs) == (1.0, 0.95, 50, 1024, {"seed": 3})
    validate(rows, answer)
    assert vllm.syncs == 1  # same step: no second push
