"""What a recipe will do, worked out without loading a model: batch arithmetic, steps, checkpoints, memory.

`swesrl train config` prints it, so a 7B run's sizes can be read (and argued with) on a laptop before
a GPU hour is spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from . import budget as B
from .memory import CARD_GB, Estimate, arch_of, estimate


@dataclass
class Plan:
    gpus: int
    prompts_per_step: float
    rows_per_micro_batch: int
    unit: str  # what a step counts: prompts (GRPO) or examples (SFT)
    examples: int | None
    steps_per_epoch: int | None
    total_steps: int | None
    checkpoints_written: int | None
    checkpoints_kept: str
    memory: Estimate | None  # None: no architecture known, or GRPO prompts without a length bound
    budget: B.Budget | None = None
    epochs: float = 1.0
    validations: int | None = None  # checkpoints validated (--val-data) during total_steps
    unbounded_prompts: bool = False  # GRPO with max_prompt_tokens unset: the memory a prompt takes has no bound

    def lines(self) -> list[str]:
        out = [
            f"GPUs: {self.gpus}",
            f"rows per micro-batch: {self.rows_per_micro_batch}",
            f"{self.unit} per optimizer step: {self.prompts_per_step:g}",
            f"training examples: {self.examples if self.examples is not None else '? (pass --data or --examples)'}",
        ]
        if self.steps_per_epoch is not None:
            out.append(f"steps per epoch: {self.steps_per_epoch}")
        out.append(f"optimizer steps: {self.total_steps if self.total_steps is not None else '? (pass --data or set max_steps)'}")
        if self.checkpoints_written is not None:
            out.append(f"checkpoints written: {self.checkpoints_written}, kept on disk: {self.checkpoints_kept}")
        if self.memory is not None:
            out.append(f"memory per GPU (worst case, {self.memory.tokens_per_micro_batch:,} tokens per micro-batch):")
            out.extend(self.memory.lines())
            if self.memory.peak_gb > CARD_GB:
                out.append(f"  WARNING: over an {CARD_GB:.0f} GB card by this estimate")
        elif self.unit == "prompts" and self.unbounded_prompts:
            out.append("memory per GPU: not estimated: prompts have no length bound (set max_prompt_tokens)")
        else:
            out.append("memory per GPU: ? (pass --model: a name training/memory.py knows, or a folder with config.json "
                       "or a LoRA adapter)")
        return out + self.time_lines()

    def time_lines(self) -> list[str]:
        if self.budget is None:
            return ["time: no estimate (the recipe states no `assume:` throughput)"]
        b, a = self.budget, self.budget.assume
        where = f" on each of {a.generating_gpus} vLLM GPUs" if a.generating_gpus else ""
        out = [f"time, from assumed rates per GPU (recipe `assume:`, not measured): training {a.train_tokens_per_s:,.0f} "
               f"tokens/s, generation {a.generate_tokens_per_s:,.0f} tokens/s{where}; prompts {a.prompt_tokens:,} + "
               f"completions {a.completion_tokens:,} tokens"]
        what = {"generation": "tokens generated", "training": "tokens forwarded", "reward": "rollouts evaluated"}
        for name, (work, seconds) in b.steps.items():
            out.append(f"  {name + ' per step:':<22} {work:>13,.0f} {what[name]:<18} ~ {B.duration(seconds)}")
        out.append(f"  {'one optimizer step:':<22} {'':>13} {'':<18} ~ {B.duration(b.per_step_s)}"
                   + (" + dynamic sampling refills" if "generation" in b.steps else ""))
        if b.validation is not None:
            out.append(f"  {'validation (--val-data):':<22} {b.validation[0]:>13,.0f} {'tokens at most':<18} ~ "
                       f"{B.duration(b.validation[1])} per checkpoint")
        if self.steps_per_epoch:
            full = math.ceil(self.steps_per_epoch * self.epochs)
            out.append(f"  {self.epochs:g} epochs = {full:,} steps ~ {B.duration(full * b.per_step_s)}")
        if self.total_steps is not None:
            checkpoints = (self.validations or 0) if b.validation else 0
            out.append(f"  this run: {self.total_steps:,} steps" + (f" + {checkpoints} validations" if checkpoints else "")
                       + f" ~ {B.duration(b.run_s(self.total_steps, checkpoints))}")
        return out


def count_rows(path: str | Path) -> int:
    """Rows of a step-example file without loading it: JSONL lines, or Parquet metadata."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def plan(config, gpus: int = 1, sharded: bool = False, assume: B.Assumptions | None = None,
         examples: int | None = None) -> Plan:
    """The derived numbers of ``config`` run on ``gpus`` GPUs (``sharded``: ZeRO-3 or FSDP); the time with
    ``assume``; ``examples`` (else counted in ``config.data``) sizes the epochs."""
    rows = config.per_device_train_batch_size
    rollouts = getattr(config, "num_generations", 1)
    prompts = rows * gpus * config.gradient_accumulation_steps / rollouts
    if examples is None and config.data and Path(config.data).is_file():
        examples = count_rows(config.data)
    per_epoch = math.ceil(examples / prompts) if examples else None
    total = config.max_steps if config.max_steps and config.max_steps > 0 else (
        math.ceil(per_epoch * config.num_train_epochs) if per_epoch else None)
    written = kept = None
    strategy = str(getattr(config.save_strategy, "value", config.save_strategy))
    if total is not None:
        if strategy == "no":
            written = 0
        elif strategy == "epoch":
            written = math.ceil(config.num_train_epochs) if not (config.max_steps and config.max_steps > 0) else None
        else:
            step = config.save_steps if config.save_steps >= 1 else math.ceil(config.save_steps * total)
            written = math.ceil(total / step)
    limit = config.save_total_limit
    kept = "all" if not limit else f"the {limit} newest" + (" and the best by validation" if config.val_data else "")
    arch = arch_of(config.model) if config.model else None
    unit = "prompts" if hasattr(config, "num_generations") else "examples"
    unbounded = unit == "prompts" and not config.max_prompt_tokens
    memory = estimate(config, arch, gpus, sharded) if arch and not unbounded else None
    budget = B.estimate(config, gpus, assume, prompts) if assume else None
    return Plan(gpus, prompts, rows, unit, examples, per_epoch, total, written, kept, memory, budget,
                config.num_train_epochs, written if strategy != "no" else 0, unbounded)
