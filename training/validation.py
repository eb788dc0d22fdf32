"""Validation on held-out step examples at every checkpoint, and the best checkpoint of a run.

The paper picks its SRL checkpoint on a validation set. Greedy answers are scored by the held-out
evaluation (training/evaluation.py: mean reward, exact match, format errors, action kinds). Greedy
decoding draws no random numbers, so validating never changes the training RNG stream and a resumed
run still matches an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .evaluation import evaluate_policy

log = logging.getLogger(__name__)

VALIDATION_FILE = "validation.json"
BEST_FILE = "best_checkpoint"
SELECT_METRIC = "val_reward_mean"


def validate(model, tokenizer, rows: list[dict], max_new_tokens: int = 512, batch_size: int = 8) -> dict:
    """Greedy answers to ``rows`` (each with ``messages`` and ``target``), scored as `swesrl train evaluate`
    scores them; the keys get a ``val_`` prefix."""
    greedy = evaluate_policy(model, tokenizer, rows, max_new_tokens=max_new_tokens, batch_size=batch_size)["greedy"]
    return {f"val_{k}": v for k, v in greedy.items() if k != "answers"} | {"val_examples": len(rows)}


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
            log.info(f"validation @ step {state.global_step}: "
                     + ", ".join(f"{k} {v:.3f}" for k, v in result.items() if isinstance(v, float)))
        return control
