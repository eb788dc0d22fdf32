"""RLVR: the tests-pass reward on a bundled task in Docker (gold edits 1, wrong or malformed 0), an
evaluation that broke voids its group instead of scoring 0, and a short `swesrl train rlvr` run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from swesrl.eval.evaluate import EvalOptions  # noqa: E402
from swesrl.eval.results import InstanceResult  # noqa: E402
from swesrl.eval.tasks import load_tasks  # noqa: E402
from swesrl.training.dynamic_sampling import group_keep_mask, void_unscored_groups  # noqa: E402
from swesrl.training.rlvr import FILES_CACHE, base_files, is_malformed, make_rlvr_reward  # noqa: E402
from swesrl.trajectories.edits import patch_to_edits, render_search_replace  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TASKS = REPO / "examples" / "tasks" / "tasks.jsonl"
TASK_ID = "jpvanhal__inflection-1"  # smallest file shown among the bundled tasks (11 KB)


def _task():
    return next(t for t in load_tasks(TASKS) if t.instance_id == TASK_ID)


def _answer(edits_text: str) -> list[dict]:
    return [{"role": "assistant", "content": f"<think>\nthe teens take th\n</think>\n{edits_text}"}]


@pytest.mark.docker
@pytest.mark.slow
def test_reward_is_one_for_the_gold_edits_and_zero_for_wrong_or_malformed_answers(tmp_path):
    task = _task()
    cache = tmp_path / FILES_CACHE
    files = base_files([task], EvalOptions(), cache)
    assert files[TASK_ID]["inflection/__init__.py"].count("if number % 100 in (11, 12):") == 1
    assert base_files([task], EvalOptions(), cache) == files and len(cache.read_text().splitlines()) == 1  # cached

    gold = _answer(render_search_replace(patch_to_edits(task.patch)))
    wrong = _answer(  # applies cleanly, but the teens still get "rd"
        "### inflection/__init__.py\n<<<<<<< SEARCH\n    if number % 100 in (11, 12):\n=======\n"
        "    if number % 100 in (11, 12, 14):\n>>>>>>> REPLACE\n"
    )
    no_match = _answer("### inflection/__init__.py\n<<<<<<< SEARCH\nnot in the file\n=======\nx\n>>>>>>> REPLACE\n")
    malformed = [{"role": "assistant", "content": "<think>I would make 13 return th</think> done"}]

    evaluated: list[str] = []
    metrics: dict[str, float] = {}

    def counting_evaluate(task, patch, **kw):
        from swesrl.eval.evaluate import evaluate_patch

        evaluated.append(patch)
        return evaluate_patch(task, patch, **kw)

    reward = make_rlvr_reward({TASK_ID: task}, files, EvalOptions(), workers=2, run_id="test-rlvr",
                              evaluate=counting_evaluate)
    completions = [gold, wrong, no_match, malformed, gold]
    rewards = reward(prompts=[[]] * 5, completions=completions, instance_id=[TASK_ID] * 5,
                     log_metric=lambda k, v: metrics.__setitem__(k, v))
    assert rewards == [1.0, 0.0, 0.0, 0.0, 1.0]
    assert len(evaluated) == 2  # the gold patch once (given twice), the wrong one; no patch -> no container
    assert any("(11, 12, 13)" in p for p in evaluated) and any("(11, 12, 14)" in p for p in evaluated)
    assert metrics == {"rlvr/patch_frac": 3 / 5, "rlvr/patches_evaluated": 2.0, "rlvr/eval_error_frac": 0.0}
    assert [is_malformed(c) for c in completions] == [False, False, False, True, False]


def test_a_broken_evaluation_is_no_reward_and_voids_its_group():
    task = _task()
    files = {TASK_ID: {"inflection/__init__.py": "    if number % 100 in (11, 12):\n"}}
    fix = _answer("### inflection/__init__.py\n<<<<<<< SEARCH\n(11, 12)\n=======\n(11, 12, 13)\n>>>>>>> REPLACE\n")

    def broken(task, patch, **kw):
        return InstanceResult(task.instance_id, "error", "sandbox: container start timed out")

    reward = make_rlvr_reward({TASK_ID: task}, files, evaluate=broken)
    rewards = reward(prompts=[[]] * 4, completions=[fix, fix, _answer("no edits"), _answer("")], instance_id=[TASK_ID] * 4)
    assert rewards == [None, None, 0.0, 0.0]

    # TRL turns None into NaN; one unscored row voids its whole group, the other group is untouched.
    per_func = torch.tensor([[float("nan")], [float("nan")], [0.0], [0.0], [1.0], [0.0], [0.0], [1.0]])
    voided, n = void_unscored_groups(per_func, 4)
    assert n == 1 and torch.isnan(voided[:4]).all() and torch.equal(voided[4:], per_func[4:])
    summed = voided.nansum(dim=1)  # what dynamic sampling sees: flat, so the group is dropped
    assert group_keep_mask(summed, 4, 1e-4).tolist() == [False, True]


def test_dynamic_sampling_on_binary_rewards_is_the_dapo_filter():
    g = 8
    for correct in range(g + 1):
        rewards = torch.tensor([1.0] * correct + [0.0] * (g - correct))
        assert group_keep_mask(rewards, g, 1e-4).item() == (0 < correct < g)


def test_the_paper_rlvr_recipe_has_the_paper_settings(tmp_path):
    from swesrl.training.recipes import build_config

    cfg = build_config("qwen2.5-coder-7b-rlvr-lora-1gpu", model="runs/srl", output_dir=str(tmp_path))
    prompts_per_step = cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps // cfg.num_generations
    assert prompts_per_step == 128 and cfg.num_generations == 8 and cfg.beta == 0.0 and cfg.temperature == 1.0
    assert cfg.dynamic_sampling and cfg.max_grad_norm == 1.0 and cfg.warmup_steps == 0 and cfg.use_peft


def _invoke(args: list[str]):
    from typer.testing import CliRunner

    from swesrl.cli import app

    return CliRunner().invoke(app, args)


@pytest.mark.docker
@pytest.mark.slow
def test_train_rlvr_runs_to_the_end_on_a_bundled_task(tmp_path):
    from swesrl.training.metrics import read_metrics
    from swesrl.training.tiny_model import init_tiny_model

    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text(next(line for line in TASKS.read_text().splitlines() if TASK_ID in line) + "\n")
    out = tmp_path / "rlvr"
    model = init_tiny_model(tmp_path / "tiny")
    result = _invoke(["train", "rlvr", "--recipe", "rlvr-tiny-cpu", "--tasks", str(tasks), "--model", str(model),
                      "-o", str(out), "--set", "per_device_train_batch_size=4", "--set", "max_refill_rounds=0",
                      "--set", "max_completion_length=32", "--set", "max_steps=2"])
    assert result.exit_code == 0, result.output
    assert "done: 2 steps" in result.output
    metrics = read_metrics(out)
    assert [m["step"] for m in metrics] == [1, 2]
    # The reward function scored every rollout of the random model: none wrote an edit, so no patch
    # reached Docker and every reward is 0 (no rise is expected or faked).
    assert all(m["reward_mean"] == 0.0 and m["patch_frac"] == 0.0 and m["format_error_rate"] == 1.0 for m in metrics)
    cached = json.loads((out / FILES_CACHE).read_text())
    assert cached["instance_id"] == TASK_ID and "def ordinal(" in cached["files"]["inflection/__init__.py"]
    assert (out / "config.yaml").is_file() and (out / "model.safetensors").is_file()


def test_a_lora_run_directory_loads_as_its_merged_model(tmp_path):
    """RLVR starts from the SRL run; a LoRA SRL run is its base model with the adapter merged in."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swesrl.training.recipes import build_config
    from swesrl.training.run import load_model
    from swesrl.training.tiny_model import init_tiny_model

    base = init_tiny_model(tmp_path / "tiny")
    peft = get_peft_model(AutoModelForCausalLM.from_pretrained(base), LoraConfig(r=4, target_modules=["q_proj"], init_lora_weights=False))
    run_dir = tmp_path / "srl"
    peft.save_pretrained(run_dir)
    AutoTokenizer.from_pretrained(base).save_pretrained(run_dir)
    ids = torch.tensor([[1, 2, 3, 4]])
    with torch.no_grad():
        expected = peft(input_ids=ids).logits
        plain = AutoModelForCausalLM.from_pretrained(base)(input_ids=ids).logits

    model, tokenizer = load_model(build_config("rlvr-tiny-cpu", model=str(run_dir), output_dir=str(tmp_path / "rlvr")))
    assert not hasattr(model, "peft_config") and tokenizer.pad_token is not None
    with torch.no_grad():
        got = model(input_ids=ids).logits
    assert torch.allclose(got, expected, atol=1e-5) and not torch.allclose(got, plain, atol=1e-3)
