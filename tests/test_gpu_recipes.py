"""The GPU recipes, checked on a CPU: typed values, pinned loss, sizes that fit an 80 GB card by the
documented estimate, loadable saves, and a one-line stop when the machine lacks what they ask for."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from swesrl.cli import app

pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "training" / "recipes"
GPU_RECIPES = sorted(p.stem for p in RECIPES.glob("qwen2.5-*.yaml"))
SEVEN_B = "Qwen/Qwen2.5-Coder-7B-Instruct"


def test_every_grpo_recipe_pins_the_papers_loss():
    for path in RECIPES.glob("*.yaml"):
        recipe = yaml.safe_load(path.read_text())
        if recipe["method"] in ("srl", "rlvr"):
            assert recipe.get("loss_type") == "grpo", f"{path.name}: loss_type must be pinned to the paper's Eq. 1"


def test_every_recipe_builds_without_a_deprecation_warning(tmp_path):
    """transformers 5 renamed gradient_checkpointing to activation_checkpointing: the old key warned on every run."""
    import warnings

    from swesrl.training.recipes import build_config, recipe_names

    for name in recipe_names():
        with warnings.catch_warnings():
            warnings.simplefilter("error", FutureWarning)
            warnings.simplefilter("error", DeprecationWarning)
            config = build_config(name, output_dir=str(tmp_path / name))
        assert config.activation_checkpointing == yaml.safe_load((RECIPES / f"{name}.yaml").read_text())["activation_checkpointing"]


@pytest.mark.parametrize("bad, message", [
    ({"learning_rate": "fast"}, "field learning_rate: 'fast' is not a valid float"),
    ({"num_generations": 0}, "field num_generations: 0 is below its minimum 2"),
    ({"per_device_train_batch_size": "eight"}, "field per_device_train_batch_size"),
    ({"use_peft": "maybe"}, "field use_peft"),
])
def test_recipe_values_are_typed_before_anything_loads(tmp_path, bad, message):
    from swesrl.training.recipes import RecipeError, build_config

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"method": "srl", "model": "nowhere", **bad}))
    with pytest.raises(RecipeError, match=message) as err:
        build_config(str(path), output_dir=str(tmp_path / "run"))
    assert str(path) in str(err.value)


def test_yaml_text_that_is_a_number_becomes_one(tmp_path):
    from swesrl.training.recipes import build_config

    path = tmp_path / "ok.yaml"
    path.write_text("method: srl\nlearning_rate: 5e-7\n")  # YAML 1.1 reads 5e-7 as a string
    assert build_config(str(path), output_dir=str(tmp_path / "run")).learning_rate == 5e-7


def test_a_list_override_of_a_str_or_list_field_is_a_list_and_a_missing_reporter_is_named(tmp_path, monkeypatch):
    """README: `--set report_to=[tensorboard,wandb]` (TrainingArguments' report_to: None | str | list[str]);
    without wandb installed, one line before the model loads, not the W&B callback's traceback."""
    import transformers.integrations

    from swesrl.training.preflight import machine_problems
    from swesrl.training.recipes import build_config

    config = build_config("tiny-cpu", ["report_to=[tensorboard,wandb]"], output_dir=str(tmp_path / "run"))
    assert config.report_to == ["tensorboard", "wandb"]
    assert build_config("tiny-cpu", ["report_to=tensorboard"], output_dir=str(tmp_path / "run")).report_to == ["tensorboard"]
    monkeypatch.setattr(transformers.integrations, "get_available_reporting_integrations", lambda: ["tensorboard"])
    assert machine_problems(config) == ["report_to names wandb, which is not installed here (pip install wandb), "
                                        "or leave it out of report_to"]


@pytest.mark.parametrize("name", GPU_RECIPES)
def test_gpu_recipe_fits_an_80gb_card_by_the_estimate(name):
    from swesrl.training.memory import arch_of
    from swesrl.training.plan import plan
    from swesrl.training.recipes import build_config, load_recipe

    raw = load_recipe(name)
    config = build_config(raw, model=raw.get("model") or SEVEN_B, output_dir="(dry run)")
    p = plan(config, int(raw.get("gpus", 1)), bool(raw.get("accelerate")))
    assert p.memory is not None and p.memory.peak_gb < 80, "\n".join(p.lines())
    if config.use_peft is False and raw.get("accelerate"):
        assert p.gpus > 1  # full weights of a 7B model only fit sharded
    if hasattr(config, "num_generations"):
        assert (config.per_device_train_batch_size % config.num_generations == 0
                or config.num_generations % config.per_device_train_batch_size == 0)  # micro-batches within groups
    assert config.save_total_limit
    if raw["method"] == "srl":
        assert config.max_steps > 0  # the paper's 30 epochs of 134k examples are 7,860 steps
    assert arch_of(SEVEN_B).params == pytest.approx(7.62e9, rel=0.01)  # Qwen2.5-7B's published size


def test_srl_recipes_reach_the_papers_batch_of_512_prompts():
    from swesrl.training.plan import plan
    from swesrl.training.recipes import build_config, load_recipe

    for name in ("qwen2.5-coder-7b-srl-lora-1gpu", "qwen2.5-coder-7b-srl-full-8gpu"):
        raw = load_recipe(name)
        assert plan(build_config(raw, output_dir="x"), int(raw["gpus"])).prompts_per_step == 512


def test_dry_run_prints_the_config_and_its_numbers_without_a_model(tmp_path):
    steps = tmp_path / "steps.jsonl"
    steps.write_text("{}\n" * 5120)
    result = CliRunner().invoke(app, ["train", "config", "--recipe", "qwen2.5-coder-7b-srl-lora-1gpu", "--data", str(steps)])
    assert result.exit_code == 0, result.output
    assert "learning_rate: 1.0e-05" in result.output and "loss_type: grpo" in result.output
    assert "prompts per optimizer step: 512" in result.output
    assert "steps per epoch: 10" in result.output and "optimizer steps: 100" in result.output
    assert "checkpoints written: 10, kept on disk: the 3 newest" in result.output
    assert "peak per GPU" in result.output
    assert "training 7,000 tokens/s, generation 5,000 tokens/s" in result.output  # the recipe's stated assumptions
    assert "30 epochs = 300 steps ~ " in result.output and "this run: 100 steps + 10 validations ~ " in result.output
    # without max_prompt_tokens nothing bounds a GRPO prompt: no estimate, and the plan says why
    unbounded = CliRunner().invoke(app, ["train", "config", "--recipe", "qwen2.5-coder-7b-srl-lora-1gpu", "--data", str(steps),
                                         "--set", "max_prompt_tokens=null"])
    assert unbounded.exit_code == 0, unbounded.output
    assert "not estimated: prompts have no length bound (set max_prompt_tokens)" in unbounded.output
    assert "peak per GPU" not in unbounded.output


@pytest.mark.parametrize("name", GPU_RECIPES)
def test_gpu_recipe_runs_at_most_3_days_by_its_stated_assumptions(name):
    """The paper's 134k step examples (RLVR: as many tasks) through each recipe, timed by its `assume:` rates."""
    from swesrl.training.budget import Assumptions
    from swesrl.training.plan import plan
    from swesrl.training.recipes import build_config, load_recipe

    raw = load_recipe(name)
    config = build_config(raw, model=raw.get("model") or SEVEN_B, output_dir="(dry run)")
    p = plan(config, int(raw["gpus"]), bool(raw.get("accelerate")), Assumptions.from_recipe(raw["assume"]), examples=134_000)
    assert p.budget is not None and p.total_steps is not None
    days = p.budget.run_s(p.total_steps, p.validations or 0) / 86400
    assert days < 3, "\n".join(p.time_lines())


def test_time_estimate_sums_each_step_class_from_the_stated_rates():
    from swesrl.training.budget import REAL_SHARE, Assumptions, estimate
    from swesrl.training.recipes import build_config

    config = build_config("qwen2.5-coder-7b-rlvr-lora-1gpu", output_dir="x")
    a = Assumptions(train_tokens_per_s=1000, generate_tokens_per_s=100, prompt_tokens=900, completion_tokens=100,
                    reward_s_per_rollout=10)
    b = estimate(config, 2, a, prompts_per_step=4)  # 4 prompts x G=8 = 32 rollouts on 2 GPUs
    assert b.steps["generation"] == (3200, 3200 / 200)
    assert b.steps["training"] == pytest.approx((32 * 1000 / REAL_SHARE, 32 * 1000 / REAL_SHARE / 2000))
    assert b.steps["reward"] == (32, 32 * 10 / config.reward_workers)
    assert b.validation is None  # RLVR validates no held-out steps
    with pytest.raises(ValueError, match="unknown key.*tokens_per_sec"):
        Assumptions.from_recipe({"train_tokens_per_s": 1, "generate_tokens_per_s": 1, "tokens_per_sec": 3})


def test_saves_write_whole_weights_on_every_multi_gpu_path():
    fsdp = yaml.safe_load((ROOT / "training" / "accelerate" / "fsdp.yaml").read_text())
    assert fsdp["fsdp_config"]["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # SHARDED writes no loadable weights
    zero3 = yaml.safe_load((ROOT / "training" / "accelerate" / "zero3.yaml").read_text())
    assert zero3["deepspeed_config"]["zero3_save_16bit_model"] is True  # else save_model writes placeholders


def test_pyproject_extras_cover_what_the_configs_need():
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(r.startswith("deepspeed") for r in extras["deepspeed"])
    assert extras["vllm"] == ["vllm>=0.22,<0.32"]  # TRL 1.16's supported range
    assert any(r.startswith("trl>=1.16,<") for r in extras["train"])
    assert any(r.startswith("wandb") for r in extras["wandb"])


def test_a_gpu_recipe_on_this_cpu_stops_in_one_line_before_the_model_loads(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    steps = tmp_path / "steps.jsonl"
    steps.write_text("{}\n")
    result = CliRunner().invoke(app, ["train", "srl", "--recipe", "qwen2.5-coder-7b-srl-lora-1gpu", "--data", str(steps),
                                      "--model", str(tmp_path / "no-such-model"), "-o", str(tmp_path / "run")])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "bf16 is true but torch sees no CUDA device" in lines[0]
    assert "no-such-model" not in result.output  # stopped before loading it


@pytest.mark.gpu
def test_measured_peak_memory_stays_under_the_estimate(tmp_path):
    """The estimate is meant as an upper bound: check it against a real run of a 0.5B-shaped model."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swesrl.training.config import SRLConfig
    from swesrl.training.memory import arch_of, estimate
    from swesrl.training.srl_trainer import SRLTrainer
    from swesrl.training.tiny_model import init_tiny_model

    path = init_tiny_model(tmp_path / "m", preset="qwen2.5-0.5b")
    config = SRLConfig(output_dir=str(tmp_path / "run"), bf16=True, activation_checkpointing=True, num_generations=8,
                       per_device_train_batch_size=8, gradient_accumulation_steps=2, max_completion_length=256,
                       max_prompt_tokens=1024, learning_rate=1e-6, max_steps=2, save_strategy="no", report_to=[],
                       loss_type="grpo", temperature=1.0)
    prompts = Dataset.from_list([{"prompt": [{"role": "user", "content": "word " * (200 + 40 * i)}]} for i in range(8)])
    reward = lambda completion_ids, **kw: [float(sum(ids) % 7) for ids in completion_ids]  # noqa: E731
    torch.cuda.reset_peak_memory_stats()
    SRLTrainer(model=AutoModelForCausalLM.from_pretrained(path, dtype=torch.bfloat16), reward_funcs=[reward], args=config,
               train_dataset=prompts, processing_class=AutoTokenizer.from_pretrained(path)).train()
    measured = torch.cuda.max_memory_allocated() / 1e9
    estimated = estimate(config, arch_of(str(path))).peak_gb
    assert measured < estimated, (measured, estimated)


def test_deepspeed_from_accelerate_launch_is_checked_before_loading(monkeypatch):
    import importlib.util

    from swesrl.training.preflight import machine_problems
    from swesrl.training.recipes import build_config

    config = build_config("tiny-cpu", output_dir="x")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "deepspeed" else real(name, *a))
    assert machine_problems(config) == []
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")  # what `accelerate launch --config_file zero3.yaml` sets
    [problem] = machine_problems(config)
    assert "DeepSpeed is requested" in problem and "swesrl[deepspeed]" in problem


def test_memory_of_an_rlvr_run_started_from_a_lora_run_reads_the_adapters_base(tmp_path):
    import json

    from swesrl.training.memory import KNOWN, arch_of

    run = tmp_path / "srl-7b"  # what a LoRA SRL run folder holds: the adapter, naming its base
    run.mkdir()
    (run / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": SEVEN_B, "r": 64}))
    assert arch_of(str(run)) == KNOWN[SEVEN_B]
    result = CliRunner().invoke(app, ["train", "config", "--recipe", "qwen2.5-coder-7b-rlvr-lora-1gpu", "--model", str(run)])
    assert result.exit_code == 0 and "peak per GPU" in result.output, result.output
    bare = CliRunner().invoke(app, ["train", "config", "--recipe", "qwen2.5-coder-7b-rlvr-lora-1gpu"])
    assert "memory per GPU: ? (pass --model" in bare.output
