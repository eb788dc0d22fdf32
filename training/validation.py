"""Validation on held-out step examples at every checkpoint, and the best checkpoint of a run.

The paper picks its SRL checkpoint on a validation set. We score greedy answers with the training
reward (mean reward) and count exact matches (the parsed action, rendered canonically, equals the
expert's). Greedy decoding draws no random numbers, so validating never changes the training RNG
stream and a resumed run still matches an uninterrupted one.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .rewards import model_action_text, srl_reward

VALIDATION_FILE = "validation.json"
BEST_FILE = "best_checkpoint"
SELECT_METRIC = "val_reward_mean"


@torch.no_grad()
def validate(model, tokenizer, rows: list[dict], max_new_tokens: int = 512, batch_size: int = 8) -> dict:
    """Greedy answers to ``rows`` (each with ``messages`` and ``target``) -> reward/exact-match summary."""
    was_training = model.training
    model.eval()
    rewards, exact, malformed = [], 0, 0
    try:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            texts = [tokenizer.apply_chat_template(r["messages"], add_generation_prompt=True, tokenize=False) for r in chunk]
            enc = tokenizer(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
            enc = {k: v.to(model.device) for k, v in enc.items()}
            out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
            answers = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            for row, answer in zip(chunk, answers, strict=True):
                rewards.append(srl_reward(answer, row["target"]))
                action = model_action_text(answer)
                malformed += action is None
                exact += action == row["target"]
    finally:
        model.train(was_training)
    n = max(len(rows), 1)
    return {
        "val_reward_mean": sum(rewards) / n,
        "val_exact_match": exact / n,
        "val_format_error_rate": malformed / n,
        "val_examples": len(rows),
    }


def best_checkpoint(run_dir: str | Path) -> Path | None:
    """The checkpoint with the highest validation reward (ties: the earlier one), or None."""
    best, best_score = None, None
    for ckpt in sorted(Path(run_dir).glob(f"{PREFIX_CHECKPOINT_DIR}-*"), key=lambda p: int(p.name.rsplit("-", 1)[1])):
        result = ckpt / VALIDATION_FILE
        if result.is_file():
            score = json.loads(result.read_text())[SELECT_METRIC]
            if best_score is None or score > best_score:
                best, best_score = ckpt, score
    return best


class ValidationCallback(TrainerCallback):
    """After each checkpoint save: validate, write ``validation.json`` into it, update ``best_checkpoint``."""

    def __init__(self, rows: list[dict], tokenizer, run_dir: str | Path, max_new_tokens: int):
        self.rows, self.tokenizer, self.run_dir, self.max_new_tokens = rows, tokenizer, Path(run_dir), max_new_tokens

    def on_save(self, args, state, control, model=None, **kwargs):
        result = {"step": state.global_step, **validate(model, self.tokenizer, self.rows, self.max_new_tokens)}
        if state.is_world_process_zero:
            ckpt = self.run_dir / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
            (ckpt / VALIDATION_FILE).write_text(json.dumps(result, indent=1))
            best = best_checkpoint(self.run_dir)
            if best is not None:
                (self.run_dir / BEST_FILE).write_text(str(best.resolve()) + "\n")
                state.best_model_checkpoint = str(best)  # protects it from save_total_limit rotation
            print(f"validation @ step {state.global_step}: " + ", ".join(f"{k} {v:.3f}" for k, v in result.items() if k.startswith("val_")))
        return control
