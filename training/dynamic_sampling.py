"""Dynamic sampling pieces that need no trainer: which groups to keep, row selection, batch merging.

A GRPO group whose G rewards are (nearly) equal has advantage ~0 for every rollout: it costs a
forward/backward pass and dilutes the loss normalizer while teaching nothing. The SRL paper keeps a
prompt only if the population std of its rewards exceeds epsilon and samples more prompts until the
batch is full. The trainer (srl_trainer.py) runs several generation rounds per batch; these helpers
select the informative groups of each round and merge rounds whose tensors have different widths.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "dynamic_sampling.json"


def group_keep_mask(rewards: torch.Tensor, num_generations: int, epsilon: float) -> torch.Tensor:
    """One bool per group of ``num_generations`` consecutive rewards: population std > epsilon."""
    grouped = rewards.view(-1, num_generations)
    return grouped.std(dim=1, unbiased=False) > epsilon


def void_unscored_groups(rewards_per_func: torch.Tensor, num_generations: int) -> tuple[torch.Tensor, int]:
    """Every row of a group becomes NaN (unscored) when one of its rows is: a reward that could not be
    computed (RLVR: the test sandbox broke) is no verdict on the model, and the rest of its group alone
    is not the group GRPO compares against. TRL gives unscored rows advantage 0, and their summed
    reward is flat, so dynamic sampling drops the group. Returns (rewards, number of groups voided)."""
    rows = torch.isnan(rewards_per_func).all(dim=1).view(-1, num_generations).any(dim=1)
    if not rows.any():
        return rewards_per_func, 0
    out = rewards_per_func.clone()
    out.view(-1, num_generations, out.shape[1])[rows] = torch.nan
    return out, int(rows.sum())


def take_rows(batch: dict, rows: torch.Tensor) -> dict:
    """The rows selected by index tensor ``rows`` from every per-row entry of a TRL batch dict.

    Scalars (``num_items_in_batch``) are dropped: they describe the whole batch and are recomputed.
    """
    out: dict[str, Any] = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.ndim >= 1:
            out[key] = value[rows.to(value.device)]
        elif isinstance(value, list):
            out[key] = [value[i] for i in rows.tolist()]
    return out


def group_rows(group_mask: torch.Tensor, num_generations: int) -> torch.Tensor:
    """Row indices of the groups where ``group_mask`` is True (rows of a group are consecutive)."""
    return torch.nonzero(group_mask.repeat_interleave(num_generations), as_tuple=False).flatten()


def _pad_width(t: torch.Tensor, width: int, left: bool, value) -> torch.Tensor:
    missing = width - t.shape[1]
    if missing <= 0:
        return t
    pad = torch.full((t.shape[0], missing, *t.shape[2:]), value, dtype=t.dtype, device=t.device)
    return torch.cat([pad, t] if left else [t, pad], dim=1)


def concat_batches(parts: list[dict], pad_token_id: int) -> dict:
    """Stack batches row-wise. Rounds are padded to different widths: prompts are left-padded,
    completions (and per-token tensors) right-padded, as TRL pads them; pads are masked out."""
    parts = [p for p in parts if p]
    out: dict[str, Any] = {}
    for key in parts[0]:
        values = [p[key] for p in parts]
        if isinstance(values[0], list):
            out[key] = [v for value in values for v in value]
            continue
        if values[0].ndim >= 2:
            width = max(v.shape[1] for v in values)
            fill = pad_token_id if key.endswith("_ids") else 0
            values = [_pad_width(v, width, key.startswith("prompt"), fill) for v in values]
        out[key] = torch.cat(values, dim=0)
    return out


def mask_out(batch: dict) -> dict:
    """Rows that fill a batch's missing slots but must not train: zero loss mask, zero advantage."""
    out = dict(batch)
    out["completion_mask"] = torch.zeros_like(batch["completion_mask"])
    out["advantages"] = torch.zeros_like(batch["advantages"])
    return out


class PromptStream:
    """Refill prompts: an endless sequence of seeded permutations of the dataset indices.

    Its own generator keeps the global RNG (generation, shuffling) untouched, and its position is
    saved with each checkpoint so a resumed run draws the same refill prompts as an uninterrupted one.
    """

    def __init__(self, size: int, seed: int):
        self.size, self.seed, self.position = size, seed, 0

    def take(self, n: int) -> list[int]:
        out: list[int] = []
        while len(out) < n:
            epoch, offset = divmod(self.position, self.size)
            order = torch.randperm(self.size, generator=torch.Generator().manual_seed(self.seed + epoch))
            chunk = order[offset : offset + n - len(out)].tolist()
            out.extend(chunk)
            self.position += len(chunk)
        return out

    def save(self, folder: str | Path) -> None:
        Path(folder, STATE_FILE).write_text(json.dumps({"position": self.position, "seed": self.seed}))

    def load(self, folder: str | Path) -> None:
        path = Path(folder, STATE_FILE)
        if path.is_file():
            self.position = json.loads(path.read_text())["position"]
