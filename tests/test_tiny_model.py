"""Tiny random-init Qwen2 models: from_pretrained loads them like real checkpoints, tags stay intact."""

from __future__ import annotations

import importlib.util

import pytest
from typer.testing import CliRunner

ANSWER = "<think>\nlook\n</think>\n<function=bash>\n<parameter=command>ls -la</parameter>\n</function>"


def test_local_vocab_model_loads_and_round_trips_answers(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from swesrl.cli import app

    result = CliRunner().invoke(app, ["model", "init-tiny", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    tok = AutoTokenizer.from_pretrained(tmp_path / "m")
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "m")
    ids = tok(ANSWER)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == ANSWER
    assert tok.convert_tokens_to_ids("<function=bash>\n") in ids  # format tags are single tokens
    assert tok.convert_tokens_to_ids("<parameter=command>") in ids
    assert model.config.tie_word_embeddings and model.config.vocab_size == len(tok)
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


@pytest.mark.skipif(importlib.util.find_spec("qwen_agent") is None, reason="qwen-agent not installed")
def test_qwen_vocab_matches_qwen25_ids(tmp_path):
    from transformers import AutoTokenizer

    from swesrl.training.tiny_model import init_tiny_model

    tok = AutoTokenizer.from_pretrained(init_tiny_model(tmp_path / "q", vocab="qwen", hidden_size=32, intermediate_size=64))
    assert tok("Hello world")["input_ids"] == [9707, 1879]  # Qwen2.5's ids
    chat = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=True)
    assert chat["input_ids"][:2] == [151644, 872] and 151645 in chat["input_ids"]
