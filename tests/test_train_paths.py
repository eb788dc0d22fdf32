"""The two training paths beside full-weight SRL on step examples, run through `swesrl train` on the
bundled expert runs: SFT on whole (multi-turn) trajectories, and SRL training a LoRA adapter (peft)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from swesrl.cli import app

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
EXPERT_RUNS = ROOT / "examples" / "trajectories" / "expert_runs.jsonl"
TINY_RUN = ["--set", "report_to=none", "--set", "cpu_threads=1", "--set", "logging_steps=1"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from swesrl.training.tiny_model import init_tiny_model

    return init_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """The runs set torch's thread count (cpu_threads=1) for this whole process; give it back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def swesrl(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, f"swesrl {' '.join(args)} failed:\n{result.output[-3000:]}\n{result.exception!r}"
    return result.output


def weights(path: Path) -> dict[str, torch.Tensor]:
    from transformers import AutoModelForCausalLM

    return {k: v.detach().clone() for k, v in AutoModelForCausalLM.from_pretrained(path).state_dict().items()}


def test_sft_on_whole_trajectories_trains_every_assistant_turn(tiny, tmp_path):
    from transformers import AutoTokenizer

    from swesrl.training import data as D
    from swesrl.training.metrics import read_metrics

    # Whole conversations, no truncation: the longest bundled run is under 4k tokens of the tiny vocabulary.
    conversations = D.sft_trajectory_dataset(EXPERT_RUNS)
    tok = AutoTokenizer.from_pretrained(tiny)
    encoded = [tok.apply_chat_template(r["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
               for r in conversations]
    assert max(len(e["input_ids"]) for e in encoded) <= 4096
    for row, e in zip(conversations, encoded, strict=True):  # the chat template marks each assistant turn for the loss
        mask = e["assistant_masks"]
        spans = sum(1 for i, on in enumerate(mask) if on and (i == 0 or not mask[i - 1]))
        assert spans == sum(m["role"] == "assistant" for m in row["messages"]) >= 7

    out = tmp_path / "sft"
    printed = swesrl("train", "sft", "--recipe", "tiny-cpu-sft", "--data", str(EXPERT_RUNS), "--model", str(tiny), "-o", str(out),
                     "--set", "max_steps=3", "--set", "per_device_train_batch_size=1", "--set", "max_length=4096", *TINY_RUN)
    assert f"done: 3 steps in {out}" in printed
    assert "step 1/3" in printed and "step 3/3  ETA 0:00:00" in printed  # one line per log step, with the time left
    assert "{'loss'" not in printed and "'train_runtime'" not in printed  # not the Trainer's raw dicts as well
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["method"] == "sft" and config["assistant_only_loss"] is True  # picked the trajectory path
    metrics = read_metrics(out)
    assert [m["step"] for m in metrics] == [1, 2, 3]
    assert all(m["loss"] > 0 and m["loss"] == m["loss"] for m in metrics)  # positive, not NaN

    before, after = weights(tiny), weights(out)
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert "model.embed_tokens.weight" in changed and any("self_attn.q_proj" in k for k in changed)


def _varying_reward(prompts, completions, completion_ids, **kwargs):
    """A random tiny model never writes a parseable answer, so the real step reward is -1 for every
    rollout, every group is flat and no gradient flows; this one varies with the sampled tokens."""
    return [float(sum(ids) % 7) for ids in completion_ids]


def test_srl_with_lora_trains_an_adapter_that_loads_merged(tiny, tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from swesrl.training import rewards
    from swesrl.training.metrics import read_metrics
    from swesrl.training.recipes import build_config
    from swesrl.training.run import load_model

    steps = tmp_path / "steps.jsonl"
    swesrl("traj", "split", str(EXPERT_RUNS), "-o", str(steps))
    monkeypatch.setattr(rewards, "srl_reward_func", _varying_reward)
    monkeypatch.chdir(tiny.parent)  # a relative --model, as users type it
    out = tmp_path / "srl"
    printed = swesrl("train", "srl", "--recipe", "tiny-cpu", "--data", str(steps), "--model", tiny.name, "-o", str(out),
                     "--set", "use_peft=true", "--set", "lora_r=4", "--set", "max_steps=2", "--set", "per_device_train_batch_size=8",
                     "--set", "max_completion_length=8", "--set", "max_refill_rounds=1",
                     "--set", "mask_truncated_completions=false", *TINY_RUN)  # 8-token answers are all cut: keep them in the loss
    assert f"done: 2 steps in {out}" in printed

    adapter_config = json.loads((out / "adapter_config.json").read_text())
    assert Path(adapter_config["base_model_name_or_path"]) == tiny.resolve()
    adapter = load_file(out / "adapter_model.safetensors")
    assert adapter and all(".lora_A." in k or ".lora_B." in k for k in adapter)  # only LoRA weights were trained
    lora_b = [v for k, v in adapter.items() if ".lora_B." in k]
    assert len(lora_b) == 2 * 7 and any(v.abs().sum() > 0 for v in lora_b)  # B starts at zero: trained
    assert all(m["groups_kept_frac"] > 0 for m in read_metrics(out))  # informative groups reached the loss

    monkeypatch.chdir(tmp_path)  # the run directory loads from anywhere: its base is recorded by absolute path
    model, tokenizer = load_model(build_config("tiny-cpu", model=str(out), output_dir=str(tmp_path / "next")))
    assert not hasattr(model, "peft_config") and tokenizer.pad_token is not None
    base, merged = weights(tiny), {k: v.detach() for k, v in model.state_dict().items()}
    assert base.keys() == merged.keys()
    targets = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    moved = {k for k in base if not torch.equal(base[k], merged[k])}
    assert moved and all(any(f".{t}." in k for t in targets) for k in moved)  # embeddings, norms: the base's own
