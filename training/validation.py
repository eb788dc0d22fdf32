"""Validation on held-out step examples at every checkpoint, and the best checkpoint of a run.

The paper picks its SRL checkpoint on a validation set. Greedy answers are scored by the held-out
evaluation (training/evaluation.py: mean reward, exact match, format errors, action kinds).

Cost and correctness with several processes: the rows (capped by ``val_max_examples``) are split into
equal shares, every process answers its share and the answers are gathered to the main process, which
alone scores them and writes ``validation.json`` and ``best_checkpoint``. Every process must take part:
under ZeRO-3/FSDP a forward pass gathers weights from all of them, and equal shares mean equal numbers
of generate calls, so the collectives line up. Answers come from the recipe's generation backend:
TRL's vLLM (colocated or server, greedy, weights synced first) when the recipe uses vLLM, else
transformers' ``generate``. Greedy decoding draws no random numbers, so validating never changes the
training RNG stream and a resumed run still matches an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from .evaluation import generate, score_answers

log = logging.getLogger(__name__)

VALIDATION_FILE = "validation.json"
BEST_FILE = "best_checkpoint"
SELECT_METRIC = "val_reward_mean"

Answerer = Callable[[Sequence[dict]], list[str]]  # rows (messages + target) -> one greedy answer each, in order


def share(rows: Sequence[dict], rank: int, world: int) -> list[dict]:
    """Process ``rank``'s share of ``rows``: contiguous, all shares the same length (the last rows are
    repeated to fill the shorter ones; the gathered answers past ``len(rows)`` are dropped)."""
    size = -(-len(rows) // world)
    padded = list(rows) + [rows[-1]] * (size * world - len(rows))
    return padded[rank * size : (rank + 1) * size]


def validate(rows: Sequence[dict], answer: Answerer, rank: int = 0, world: int = 1,
             gather: Callable[[list[str]], list[str]] = lambda x: x) -> dict | None:
    """This process's share of the greedy answers, gathered and scored as `swesrl train evaluate` scores
    them (keys with a ``val_`` prefix); the summary on rank 0, None elsewhere."""
    answers = gather(answer(share(rows, rank, world)))[: len(rows)]
    if rank != 0:
        return None
    scores = score_answers(answers, rows)
    return {f"val_{k}": v for k, v in scores.items() if k != "answers"} | {"val_examples": len(rows)}


def hf_answerer(trainer, max_new_tokens: int, batch_size: int = 8) -> Answerer:
    """Greedy answers from transformers' ``generate`` on the trainer's model (ZeRO-3 weights gathered
    for the duration, as TRL gathers them to generate)."""
    from trl.distributed import DistributedBackend
    from trl.models.utils import unwrap_model_for_generation

    def answer(rows: Sequence[dict]) -> list[str]:
        args = trainer.args
        with (
            unwrap_model_for_generation(trainer.model_wrapped, trainer.accelerator,
                                        gather_deepspeed3_params=getattr(args, "ds3_gather_for_generation", True),
                                        gradient_checkpointing_kwargs=args.activation_checkpointing_kwargs) as model,
            DistributedBackend(trainer.accelerator).summon_full_params(trainer.model_wrapped, recurse=False),
        ):
            return generate(model, trainer.processing_class, rows, max_new_tokens=max_new_tokens, batch_size=batch_size)

    return answer


@contextmanager
def _greedy(vllm, max_new_tokens: int):
    """TRL's vLLM sampling settings switched to greedy decoding of ``max_new_tokens`` for the duration."""
    greedy = dict(temperature=0.0, top_p=1.0, top_k=0, min_p=0.0, repetition_penalty=1.0,
                  max_completion_length=max_new_tokens, generation_kwargs={})
    saved = {k: getattr(vllm, k) for k in greedy}
    for k, v in greedy.items():
        setattr(vllm, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(vllm, k, v)


def vllm_answerer(trainer, max_new_tokens: int) -> Answerer:
    """Greedy answers from the trainer's vLLM (TRL's ``VLLMGeneration``, colocated or server), after
    pushing the current weights to it when the step moved on since its last sync (as TRL does before
    generating; TRL then skips its own sync at this step)."""
    tokenizer = trainer.processing_class

    def answer(rows: Sequence[dict]) -> list[str]:
        vllm = trainer.vllm_generation
        if trainer.state.global_step != trainer._last_loaded_step:
            vllm.sync_weights()
            trainer._last_loaded_step = trainer.state.global_step
        texts = [tokenizer.apply_chat_template(r["messages"], add_generation_prompt=True, tokenize=False) for r in rows]
        prompt_ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
        with _greedy(vllm, max_new_tokens):
            _, completion_ids, _, _ = vllm.generate(prompts=prompt_ids, images=None, num_generations=1)
        return tokenizer.batch_decode(completion_ids, skip_special_tokens=True)

    return answer


def answerer_for(trainer, max_new_tokens: int) -> Answerer:
    """The recipe's generation backend: vLLM when the trainer generates with it, else transformers."""
    if getattr(trainer.args, "use_vllm", False):
        return vllm_answerer(trainer, max_new_tokens)
    return hf_answerer(trainer, max_new_tokens)


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


def record(run_dir: Path, result: dict) -> Path | None:
    """Write ``result`` into its checkpoint and point ``best_checkpoint`` at the best so far (main process)."""
    ckpt = run_dir / f"{PREFIX_CHECKPOINT_DIR}-{result['step']}"
    (ckpt / VALIDATION_FILE).write_text(json.dumps(result, indent=1))
    best = best_checkpoint(run_dir)
    if best is not None:
        (run_dir / BEST_FILE).write_text(str(best.resolve()) + "\n")
    return best


class ValidationCallback(TrainerCallback):
    """After each checkpoint save: validate (shared out over the processes), record on the main process."""

    def __init__(self, rows: list[dict], trainer, run_dir: str | Path, max_new_tokens: int):
        self.rows, self.trainer, self.run_dir = rows, trainer, Path(run_dir)
        self.answer = answerer_for(trainer, max_new_tokens)

    def on_save(self, args, state, control, **kwargs):
        from accelerate.utils import gather_object

        acc = self.trainer.accelerator
        start = time.perf_counter()
        result = validate(self.rows, self.answer, acc.process_index, acc.num_processes, gather_object)
        if result is not None:
            result = {"step": state.global_step, **result, "val_seconds": round(time.perf_counter() - start, 2)}
            best = record(self.run_dir, result)
            if best is not None:
                state.best_model_checkpoint = str(best)  # protects it from save_total_limit rotation
            log.info(f"validation @ step {state.global_step}: "
                     + ", ".join(f"{k} {v:.3f}" for k, v in result.items() if isinstance(v, float)))
        return control
