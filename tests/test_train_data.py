"""Training data and recipes: step examples -> TRL datasets; recipe YAML + --set -> typed config.

``write_step_examples`` (imported by the other training tests) builds small step-example files the
way the splitter does (the real prompt builder, canonical action text) until bundled examples exist.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from swesrl.trajectories.actions import Bash, StrReplace, View, render_xml
from swesrl.trajectories.context import ContextConfig, Turn, build_messages

MODULES = ["fields", "schema", "utils", "validate", "decorators", "parser", "encoder", "config"]


def step_rows(n: int = 24) -> list[dict]:
    """Step examples in the splitter's schema: issue -> look at the file, grep it, or run its tests."""
    rows = []
    for i in range(n):
        mod = MODULES[i % len(MODULES)]
        path = f"/testbed/src/{mod}.py"
        kind = i // len(MODULES) % 3
        issue = f"`{mod}.load` returns None for empty input instead of raising ValueError."
        if kind == 0:
            history, action, thought = [], View(path), f"Look at {mod}.py first."
        elif kind == 1:
            history = [Turn(f"<think>\nLook.\n</think>\n{render_xml(View(path))}", "def load(x):\n    return None")]
            action, thought = Bash(f"grep -n 'def load' {path}"), "Find load."
        else:
            history = [Turn(f"<think>\nFind load.\n</think>\n{render_xml(Bash('grep -n load ' + path))}", "3:def load(x):")]
            action, thought = StrReplace(path, "    return None", "    raise ValueError"), "Raise instead."
        messages = build_messages(issue, history, ContextConfig(context_steps=1))
        rows.append({
            "id": f"t{i}/{len(history)}", "trajectory_id": f"t{i}", "instance_id": f"demo__{mod}-{i}",
            "step_index": len(history), "messages": messages, "target": render_xml(action), "thought": thought,
            "action_kind": action.kind, "prompt_tokens": 0, "source_format": "test",
        })
    return rows


def write_step_examples(path: Path, n: int = 24) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in step_rows(n)), encoding="utf-8")
    return path


def test_step_examples_become_grpo_and_sft_rows(tmp_path):
    from swesrl.training import data as D

    path = write_step_examples(tmp_path / "steps.jsonl", 6)
    assert D.data_kind(path) == "steps"
    ds = D.load_steps(path)
    grpo = D.grpo_dataset(ds)
    assert grpo[0]["prompt"][0]["role"] == "system" and grpo[0]["target"].startswith("<function=")
    sft = D.sft_step_dataset(ds, "action")
    answer = sft[0]["completion"][0]["content"]
    assert answer.startswith("<think>\n\n</think>\n<function=") and sft[0]["prompt"] == ds[0]["messages"]
    full = D.sft_step_dataset(ds, "thought_action")
    assert ds[0]["thought"] in full[0]["completion"][0]["content"]


def test_bad_rows_are_skipped_and_wrong_files_named(tmp_path):
    from swesrl.training import data as D

    rows = step_rows(3)
    rows[1]["target"] = ""
    path = tmp_path / "steps.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert len(D.load_steps(path)) == 2
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n')
    with pytest.raises(D.DataError, match="other.jsonl"):
        D.load_steps(other)


def test_whole_trajectories_become_conversations(tmp_path):
    from swesrl.training import data as D
    from swesrl.trajectories.schema import Step, Trajectory

    traj = Trajectory("run1", "Fix load().", [Step("Look.", View("/testbed/a.py"), "code"), Step("Done.", Bash("pytest"), "ok")])
    path = tmp_path / "trajs.jsonl"
    path.write_text(json.dumps(traj.to_dict()) + "\n" + '{"id": "broken"}\n')
    assert D.data_kind(path) == "trajectories"
    ds = D.sft_trajectory_dataset(path)
    roles = [m["role"] for m in ds[0]["messages"]]
    assert len(ds) == 1 and roles == ["system", "user", "assistant", "user", "assistant", "user"]


def test_recipe_overrides_are_typed_and_typos_named(tmp_path):
    from swesrl.training.config import SRLConfig
    from swesrl.training.recipes import RecipeError, build_config, recipe_names, save_config

    assert {"tiny-cpu", "tiny-cpu-sft", "qwen2.5-coder-7b-srl-full-8gpu"} <= set(recipe_names())
    cfg = build_config("tiny-cpu", ["learning_rate=1e-6", "max_steps=3", "dynamic_sampling=false", "lora_target_modules=[q_proj]"],
                       method="srl", output_dir=str(tmp_path), model="m")
    assert isinstance(cfg, SRLConfig) and cfg.learning_rate == 1e-6 and cfg.max_steps == 3
    assert cfg.dynamic_sampling is False and cfg.lora_target_modules == ["q_proj"] and cfg.num_generations == 4
    with pytest.raises(RecipeError, match="learning_rate"):
        build_config("tiny-cpu", ["learning_rat=1"], method="srl", output_dir=str(tmp_path))
    with pytest.raises(RecipeError, match="not 'sft'"):
        build_config("tiny-cpu", [], method="sft", output_dir=str(tmp_path))
    saved = save_config(cfg, tmp_path / "config.yaml").read_text()
    assert "method: srl" in saved and "dynamic_sampling: false" in saved


@pytest.mark.parametrize("name", ["qwen2.5-coder-7b-srl-full-8gpu", "qwen2.5-coder-7b-srl-lora-1gpu", "qwen2.5-coder-7b-sft-8gpu"])
def test_paper_recipes_resolve(tmp_path, name):
    from swesrl.training.recipes import build_config

    cfg = build_config(name, output_dir=str(tmp_path))
    if cfg.__class__.__name__ == "SRLConfig":
        assert cfg.beta == 0.0 and cfg.num_generations == 8 and cfg.temperature == 1.0 and cfg.max_grad_norm == 1.0
        assert cfg.warmup_steps == 0 and cfg.dynamic_sampling


def test_prompts_over_max_prompt_tokens_are_dropped_and_counted(tmp_path, caplog):
    """With a real chat template (transformers 5 tokenizes it to a BatchEncoding, not a list of ids)."""
    caplog.set_level(logging.INFO, logger="swesrl")  # the drop count is logged
    from swesrl.training import data as D
    from swesrl.training.tiny_model import local_tokenizer

    tok = local_tokenizer()
    rows = step_rows(6)
    for i, row in enumerate(rows):  # observations of growing length: prompts from short to long
        row["messages"] = row["messages"][:2] + [{"role": "user", "content": "x = 1\n" * (40 * i)}]
    path = tmp_path / "steps.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = D.grpo_dataset(D.load_steps(path))
    lengths = [D.prompt_length(tok, r["prompt"]) for r in ds]
    text = tok.apply_chat_template(ds[5]["prompt"], add_generation_prompt=True, tokenize=False)
    assert lengths[5] == len(tok(text, add_special_tokens=False)["input_ids"]) > 200
    assert lengths == sorted(lengths) and len(set(lengths)) == 6

    kept = D.drop_long_prompts(ds, tok, lengths[3])
    assert [r["target"] for r in kept] == [r["target"] for r in ds.select(range(4))]
    assert "dropped 2 of 6 examples longer than max_prompt_tokens" in caplog.text
    assert len(D.drop_long_prompts(ds, tok, None)) == 6
    with pytest.raises(D.DataError, match="every example is longer"):
        D.drop_long_prompts(ds, tok, lengths[0] - 1)
