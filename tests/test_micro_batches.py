"""Micro-batches hold whole groups and no all-pad columns, and cutting those columns changes no log-prob;
dynamic sampling's refill rounds generate only the missing groups."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
torch = pytest.importorskip("torch")
from test_train_srl import _Spy, _trainer  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from swesrl.training.tiny_model import init_tiny_model

    return init_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _logps(model, batch):
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, -batch["completion_ids"].shape[1] - 1 : -1]
    return torch.log_softmax(logits.float(), -1).gather(-1, batch["completion_ids"][..., None]).squeeze(-1)


def test_trimming_all_pad_columns_leaves_every_log_prob_unchanged(tiny):
    from transformers import AutoModelForCausalLM

    from swesrl.training.micro_batches import real_token_share, trim_padding

    model = AutoModelForCausalLM.from_pretrained(tiny).eval()
    g = torch.Generator().manual_seed(0)
    prompt_lens, completion_lens, p_width, c_width = [5, 9, 7], [3, 6, 2], 20, 12  # 11 and 6 all-pad columns
    prompt_ids = torch.zeros(3, p_width, dtype=torch.long)
    prompt_mask = torch.zeros(3, p_width, dtype=torch.long)
    completion_ids = torch.zeros(3, c_width, dtype=torch.long)
    completion_mask = torch.zeros(3, c_width, dtype=torch.long)
    for row, (p, c) in enumerate(zip(prompt_lens, completion_lens, strict=True)):
        prompt_ids[row, p_width - p :] = torch.randint(10, 200, (p,), generator=g)
        prompt_mask[row, p_width - p :] = 1
        completion_ids[row, :c] = torch.randint(10, 200, (c,), generator=g)
        completion_mask[row, :c] = 1
    batch = {"prompt_ids": prompt_ids, "prompt_mask": prompt_mask, "completion_ids": completion_ids,
             "completion_mask": completion_mask, "advantages": torch.tensor([1.0, -1.0, 0.5]),
             "old_per_token_logps": torch.randn(3, c_width), "num_items_in_batch": torch.tensor(11)}
    trimmed = trim_padding(batch)
    assert trimmed["prompt_ids"].shape == (3, 9) and trimmed["completion_ids"].shape == (3, 6)
    assert trimmed["old_per_token_logps"].shape == (3, 6) and trimmed["advantages"].shape == (3,)
    assert real_token_share(trimmed) > 2 * real_token_share(batch)
    with torch.no_grad():
        full, cut = _logps(model, batch), _logps(model, trimmed)
    assert torch.allclose(full[:, :6] * completion_mask[:, :6], cut * trimmed["completion_mask"], atol=1e-5)


def test_each_micro_batch_is_one_whole_group_without_pad_columns(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path, per_device_train_batch_size=4, gradient_accumulation_steps=2, dynamic_sampling=False)
    spy = _Spy(trainer)
    trainer.train()
    assert len(spy.batches) == 4  # 2 steps x 2 micro-batches
    for batch in spy.batches:
        texts = trainer.processing_class.batch_decode(batch["prompt_ids"], skip_special_tokens=True)
        assert len(set(texts)) == 1  # the G=4 rollouts of one prompt
        assert bool(batch["prompt_mask"][:, 0].all())  # one prompt: no left padding at all
        assert bool(batch["completion_mask"][:, -1].any())  # no trailing all-pad column
    shares = [m["tokens/real_share"] for m in trainer.state.log_history if "tokens/real_share" in m]
    assert shares and all(0 < s <= 1 for s in shares)


@pytest.mark.slow
def test_refill_rounds_generate_only_the_missing_groups(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path, max_steps=6)  # half the prompts give flat rewards: groups get dropped
    trainer.train()
    logs = [m for m in trainer.state.log_history if "dynamic_sampling/rounds" in m]
    need = 2  # groups per batch: 8 rows / G=4
    refilled = [m for m in logs if m["dynamic_sampling/rounds"] > 1]
    assert refilled, "no step needed a refill round"
    for m in logs:
        assert need <= m["dynamic_sampling/groups_generated"] <= need * m["dynamic_sampling/rounds"]
    # a round after one that kept a group asks only for the one still missing
    assert any(m["dynamic_sampling/groups_generated"] < need * m["dynamic_sampling/rounds"] for m in refilled)
