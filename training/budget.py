"""Wall-clock estimate of a recipe from stated assumptions: how long a step, a validation and the run take.

Nothing here is measured on a GPU. A GPU recipe states its assumptions under ``assume:`` (tokens/s per
GPU for its model size and backend, with how they were derived); the lengths default to what the
shared expert runs measure (718 step examples, Qwen2.5's tokenizer: chat-formatted prompt mean 2,307
tokens, median 1,938, p90 4,833; expert answer, thought + action, mean 202 tokens). Work per step class:

- generation (SRL/RLVR): prompts per step x G rollouts x completion tokens at the generation rate of
  the GPUs that generate (per generation batch, shared by ``num_iterations`` steps; refill rounds of
  dynamic sampling come on top: x 1 / the share of groups kept);
- training: rows x (prompt + completion) tokens, divided by the real-token share of SRLTrainer's
  trimmed micro-batches (0.86 on those prompts, BENCHMARKS.md), at the training rate;
- reward (RLVR): one Docker evaluation per rollout, ``reward_workers`` at a time;
- validation (SRL, SFT), at each checkpoint: ``val_max_examples`` x ``val_max_new_tokens`` (an upper bound).

Replace the assumptions with your own after a few steps: metrics.jsonl logs tokens/s, the mean completion
length and the share of groups kept; validation.json the seconds a validation took.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

REAL_SHARE = 0.86  # real tokens / forwarded tokens of SRLTrainer's micro-batches on real step prompts


@dataclass(frozen=True)
class Assumptions:
    train_tokens_per_s: float        # per training GPU, forward + backward
    generate_tokens_per_s: float     # per generating GPU, completion tokens
    generating_gpus: int | None = None  # vLLM server GPUs (None: the training GPUs generate)
    prompt_tokens: int = 2307
    completion_tokens: int = 202
    reward_s_per_rollout: float = 0.0  # RLVR: one test run in Docker

    @classmethod
    def from_recipe(cls, raw: dict | None) -> Assumptions | None:
        """The recipe's ``assume:`` mapping (None when it has none); a ValueError names a bad key or value."""
        if not raw:
            return None
        if not isinstance(raw, dict):
            raise ValueError(f"assume: must be a mapping of numbers, got {raw!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ValueError(f"assume: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(names))})")
        bad = [k for k, v in raw.items() if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0]
        if bad:
            raise ValueError(f"assume: {', '.join(bad)} must be non-negative numbers")
        return cls(**raw)


@dataclass
class Budget:
    steps: dict[str, tuple[float, float]]  # step class -> (tokens or rollouts, seconds) per optimizer step
    validation: tuple[float, float] | None  # (generated tokens, seconds) per checkpoint, at most; None: RLVR (none)
    assume: Assumptions

    @property
    def per_step_s(self) -> float:
        return sum(s for _, s in self.steps.values())

    def run_s(self, steps: int, checkpoints: int) -> float:
        return steps * self.per_step_s + (checkpoints * self.validation[1] if self.validation else 0.0)


def estimate(config, gpus: int, assume: Assumptions, prompts_per_step: float) -> Budget:
    """Work and seconds per optimizer step by class, and per validation, for ``config`` on ``gpus`` training GPUs."""
    a = assume
    generating = a.generate_tokens_per_s * (a.generating_gpus or gpus)
    steps: dict[str, tuple[float, float]] = {}
    if hasattr(config, "num_generations"):
        iterations = config.num_iterations
        rollouts = prompts_per_step * config.num_generations
        completion = min(a.completion_tokens, config.max_completion_length)
        prompt = min(a.prompt_tokens, config.max_prompt_tokens or a.prompt_tokens)
        generated = rollouts * completion / iterations
        steps["generation"] = (generated, generated / generating)
        trained = rollouts * (prompt + completion) / REAL_SHARE
        if a.reward_s_per_rollout:
            steps["reward"] = (rollouts / iterations, rollouts * a.reward_s_per_rollout / config.reward_workers / iterations)
    else:
        trained = prompts_per_step * min(a.prompt_tokens + a.completion_tokens, config.max_length or a.prompt_tokens + a.completion_tokens)
    steps["training"] = (trained, trained / (a.train_tokens_per_s * gpus))
    if hasattr(config, "tasks"):  # RLVR validates no held-out steps
        return Budget(steps, None, a)
    validated = config.val_max_examples * config.val_max_new_tokens
    return Budget(steps, (validated, validated / generating), a)


def duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
