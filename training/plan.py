"""What a recipe will do, worked out without loading a model: batch arithmetic, steps, checkpoints, memory.

`swesrl train config` prints it, so a 7B run's sizes can be read (and argued with) on a laptop before
a GPU hour is spent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

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
    memory: Estimate | None

    def lines(self) -> list[str]:
        out = [
            f"GPUs: {self.gpus}",
            f"rows per micro-batch: {self.rows_per_micro_batch}",
            f"{self.unit} per optimizer step: {self.prompts_per_step:g}",
            f"training examples: {self.examples if self.examples is not None else '? (pass --data)'}",
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
        return out


def count_rows(path: str | Path) -> int:
    """Rows of a step-example file without loading it: JSONL lines, or Parquet metadata."""
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def plan(config, gpus: int = 1, sharded: bool = False) -> Plan:
    """The derived numbers of ``config`` run on ``gpus`` GPUs (``sharded``: ZeRO-3 or FSDP)."""
    rows = config.per_device_train_batch_size
    rollouts = getattr(config, "num_generations", 1)
    prompts = rows * gpus * config.gradient_accumulation_steps / rollouts
    examples = count_rows(config.data) if config.data and Path(config.data).is_file() else None
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
    memory = estimate(config, arch, gpus, sharded) if arch else None
    unit = "prompts" if hasattr(config, "num_generations") else "examples"
    return Plan(gpus, prompts, rows, unit, examples, per_epoch, total, written, kept, memory)
