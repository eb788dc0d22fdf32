"""Micro-batches that spend compute on real tokens: whole groups together, all-pad columns cut off.

TRL pads a whole generation batch (every prompt and rollout of an optimizer step) to its longest
prompt and longest completion, shuffles the rows and splits them into micro-batches that keep that
full width. On real SWE step prompts (median 909 tokens, p90 2,444, max 6,540) only about a quarter
of the forwarded tokens were real. Two cuts, both exact:

- rows of one group stay together (groups are shuffled, not rows): the G rollouts of a group share
  one prompt, so a micro-batch of one group has no prompt padding at all;
- columns that are padding in every row of the micro-batch are dropped: leading prompt columns
  (prompts are left-padded) and trailing completion columns (completions are right-padded). Rotary
  position encodings depend on relative positions only, and a masked key changes nothing, so the
  per-token log-probabilities and the loss are those of the padded micro-batch.
"""

from __future__ import annotations

import torch


def shuffle_groups(batch: dict, num_generations: int) -> dict:
    """The batch's rows in a random order of whole groups (rows of a group stay consecutive, in order).
    Draws from torch's global RNG, as TRL's row shuffle does, so a resumed run shuffles the same way."""
    rows = next(len(v) for v in batch.values() if v is not None and not (isinstance(v, torch.Tensor) and v.ndim == 0))
    groups = rows // num_generations
    order = (torch.randperm(groups)[:, None] * num_generations + torch.arange(num_generations)).flatten()
    if rows % num_generations:  # not whole groups (never from a generation batch): keep the rest in place
        order = torch.cat([order, torch.arange(groups * num_generations, rows)])
    out: dict = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor) and value.ndim >= 1:
            out[key] = value[order.to(value.device)]
        elif isinstance(value, list):
            out[key] = [value[i] for i in order.tolist()]
        else:
            out[key] = value
    return out


def trim_padding(batch: dict) -> dict:
    """Drop the prompt columns that are padding in every row (left) and the completion columns that are
    masked out in every row (right); every per-token tensor is cut to the same widths. Keeps one
    completion column at least, so a micro-batch of masked-out rows still has a (zero) loss."""
    prompt_mask, completion_mask = batch["prompt_mask"], batch["completion_mask"]
    p_width, c_width = prompt_mask.shape[1], completion_mask.shape[1]
    used = prompt_mask.any(dim=0).nonzero()
    p_start = int(used[0]) if len(used) else p_width
    used = completion_mask.any(dim=0).nonzero()
    c_end = max(int(used[-1]) + 1 if len(used) else 0, 1)
    if p_start == 0 and c_end == c_width:
        return batch
    out = dict(batch)
    for key, value in batch.items():
        if not isinstance(value, torch.Tensor) or value.ndim < 2:
            continue
        if key.startswith("prompt") and value.shape[1] == p_width:
            out[key] = value[:, p_start:]
        elif not key.startswith("prompt") and value.shape[1] == c_width:
            out[key] = value[:, :c_end]
    return out


def real_token_share(batch: dict) -> float:
    """Real (unmasked) tokens / forwarded tokens of a micro-batch: what trimming and grouping win."""
    real = batch["prompt_mask"].sum() + batch["completion_mask"].sum()
    total = batch["prompt_mask"].numel() + batch["completion_mask"].numel()
    return float(real) / max(total, 1)
