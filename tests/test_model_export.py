"""`swesrl model export`: a LoRA run (merged) and a full-weight run become folders from_pretrained loads,
with the weights the run trained."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swesrl.cli import app

sys.path.insert(0, str(Path(__file__).parent))
from test_train_data import write_step_examples  # noqa: E402

torch = pytest.importorskip("torch")
FAST = ["--set", "max_steps=1", "--set", "save_steps=1", "--set", "max_completion_length=4", "--set", "per_device_train_batch_size=4",
        "--set", "max_refill_rounds=0", "--set", "report_to=none", "--set", "learning_rate=0.05", "--set", "dynamic_sampling=false",
        "--set", "mask_truncated_completions=false"]  # 4-token answers are all cut: keep them in the loss


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from swesrl.training.tiny_model import init_tiny_model

    return init_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def swesrl(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"swesrl {' '.join(args)}:\n{result.output[-2000:]}\n{result.exception!r}"
    return result.output


def _state(path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def _varying_reward(prompts, completions, completion_ids, **kwargs):
    """A random tiny model never writes a parseable answer (reward -1 everywhere, no gradient)."""
    return [float(sum(ids) % 7) for ids in completion_ids]


@pytest.fixture(autouse=True)
def _rewards_that_vary(monkeypatch):
    from swesrl.training import rewards

    monkeypatch.setattr(rewards, "srl_reward_func", _varying_reward)


def _run(tiny, tmp_path, name, *extra):
    steps = write_step_examples(tmp_path / "steps.jsonl", 8)
    out = tmp_path / name
    swesrl("train", "srl", "--recipe", "tiny-cpu", "--data", str(steps), "--model", str(tiny), "-o", str(out), *FAST, *extra)
    return out


def test_lora_run_exports_merged_into_a_model_folder(tiny, tmp_path):
    from transformers import AutoTokenizer

    from swesrl.training.recipes import build_config
    from swesrl.training.run import load_model

    run = _run(tiny, tmp_path, "lora", "--set", "use_peft=true", "--set", "lora_r=4")
    refused = CliRunner().invoke(app, ["model", "export", str(run), "-o", str(tmp_path / "x")])
    assert refused.exit_code == 2 and "--merge" in refused.output

    printed = swesrl("model", "export", str(run / "checkpoint-1"), "-o", str(tmp_path / "model"), "--merge")
    assert "LoRA merged into its base" in printed
    assert (tmp_path / "model" / "model.safetensors").is_file() and not (tmp_path / "model" / "adapter_config.json").exists()
    exported = _state(tmp_path / "model")
    merged, _ = load_model(build_config("tiny-cpu", model=str(run), output_dir=str(tmp_path / "next")))
    base = _state(tiny)
    assert exported.keys() == base.keys()
    assert all(torch.equal(exported[k], v) for k, v in merged.state_dict().items())  # the run's final = checkpoint-1
    assert any(not torch.equal(exported[k], base[k]) for k in base)  # the adapter moved some weights
    assert AutoTokenizer.from_pretrained(tmp_path / "model").pad_token is not None


def test_full_weight_run_exports_its_own_weights(tiny, tmp_path):
    run = _run(tiny, tmp_path, "full")
    swesrl("model", "export", str(run), "-o", str(tmp_path / "model"))
    trained, exported = _state(run), _state(tmp_path / "model")
    assert trained.keys() == exported.keys() and all(torch.equal(trained[k], exported[k]) for k in trained)


def test_a_folder_without_weights_is_named(tmp_path):
    (tmp_path / "checkpoint-3").mkdir()
    (tmp_path / "checkpoint-3" / "pytorch_model_fsdp_0").mkdir()
    result = CliRunner().invoke(app, ["model", "export", str(tmp_path / "checkpoint-3"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "accelerate merge-weights" in " ".join(result.output.split())


@pytest.mark.gpu
def test_on_a_gpu_a_lora_run_validates_and_exports_a_loadable_folder(tmp_path):
    """The 1-GPU path end to end on CUDA (bf16, gradient checkpointing, LoRA): validation at each checkpoint
    through transformers' generate, best_checkpoint, then `model export --merge` of the best."""
    import json

    from swesrl.training.tiny_model import init_tiny_model
    from swesrl.training.validation import BEST_FILE, VALIDATION_FILE

    steps = write_step_examples(tmp_path / "steps.jsonl", 16)
    val = write_step_examples(tmp_path / "val.jsonl", 4)
    model = init_tiny_model(tmp_path / "m", corpus=[steps], preset="qwen2.5-0.5b")
    run = tmp_path / "run"
    swesrl("train", "srl", "--recipe", "tiny-cpu", "--data", str(steps), "--val-data", str(val), "--model", str(model),
           "-o", str(run), *FAST, "--set", "max_steps=2", "--set", "use_cpu=false", "--set", "bf16=true",
           "--set", "activation_checkpointing=true", "--set", "use_peft=true", "--set", "max_completion_length=32",
           "--set", "val_max_new_tokens=32", "--set", "learning_rate=1e-4")
    assert [json.loads((run / f"checkpoint-{n}" / VALIDATION_FILE).read_text())["val_examples"] for n in (1, 2)] == [4, 4]
    best = Path((run / BEST_FILE).read_text().strip())
    swesrl("model", "export", str(best), "-o", str(tmp_path / "model"), "--merge")
    from transformers import AutoModelForCausalLM

    loaded = AutoModelForCausalLM.from_pretrained(tmp_path / "model", dtype=torch.bfloat16)
    assert loaded.config.hidden_size == 896 and not (tmp_path / "model" / "adapter_config.json").exists()
