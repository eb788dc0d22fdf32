"""SRL = TRL's GRPOTrainer + the step reward + dynamic sampling, done where batches are made.

TRL has no dynamic sampling: a zero-variance group just gets advantage 0 and still fills a batch
slot (TRL only reports ``frac_reward_zero_std``). Filtering after the fact (in the loss) would leave
batches short of informative prompts; the SRL paper instead keeps sampling until the batch of B
prompts is full. So the filter sits in ``_generate_and_score_completions``, the method that turns a
generation batch of prompts into scored, advantage-weighted rollouts:

1. generate + score the batch the dataloader gave (TRL's own code, unchanged);
2. keep the groups whose reward std is > epsilon; while fewer than B are kept, draw more prompts
   from a seeded refill stream and repeat (at most ``max_refill_rounds`` extra rounds);
3. return exactly B groups. If the cap is hit, the missing slots are filled with dropped groups whose
   loss mask and advantage are zeroed, so they still never contribute to the loss (counted in
   ``dynamic_sampling/padded_groups``).

A refill round generates only the groups still missing (the most any process misses: every process
must run the same collective calls with equal sizes, so one that is already full generates that many
too and keeps none of them).

The returned batch is split into ``steps_per_generation`` micro-batches by ``_prepare_inputs``, as in
TRL, except that whole groups are shuffled (not rows) and each micro-batch loses its all-pad columns
(micro_batches.py): the compute goes to real tokens. Distributed: each process must hold whole groups
(``per_device_train_batch_size * steps_per_generation`` divisible by ``num_generations``); keep
decisions use the gathered rewards, and the number of rounds is agreed with a gather.
"""

from __future__ import annotations

import os
from collections.abc import Sized
from typing import TYPE_CHECKING

import torch
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR
from trl import GRPOTrainer
from trl.trainer.utils import split_tensor_dict

from swesrl.trajectories.answer import FormatError, parse_answer

from .dynamic_sampling import (
    PromptStream,
    concat_batches,
    group_keep_mask,
    group_rows,
    mask_out,
    take_rows,
    void_unscored_groups,
)
from .micro_batches import real_token_share, shuffle_groups, trim_padding
from .rewards import completion_text

if TYPE_CHECKING:
    from .config import SRLConfig


def _is_malformed(completion) -> bool:
    try:
        parse_answer(completion_text(completion))
    except FormatError:
        return True
    return False


def _resolved(value: int | None, name: str) -> int:
    """A GRPO size TRL fills in while the trainer is built (typed optional in its config)."""
    if value is None:
        raise ValueError(f"{name} is unset after GRPOTrainer.__init__; set it in the recipe")
    return value


class SRLTrainer(GRPOTrainer):
    """GRPOTrainer with dynamic sampling (``args.dynamic_sampling``) and a format-error metric."""

    args: SRLConfig
    # TRL's __init__ only ever assigns None here, so mypy infers the type None for what holds the micro-batches
    _buffered_inputs: list[dict[str, torch.Tensor | None]] | None  # type: ignore[assignment]
    is_malformed = staticmethod(_is_malformed)  # the answer format the metric checks (RLVR: SEARCH/REPLACE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last_rewards: torch.Tensor | None = None
        self._refill: PromptStream | None = None
        self._g = _resolved(self.num_generations, "num_generations")
        self._g_eval = _resolved(self.num_generations_eval, "num_generations_eval")
        self._micro_steps = _resolved(self.args.steps_per_generation, "steps_per_generation")
        if getattr(self.args, "dynamic_sampling", False):
            local_rows = self.args.per_device_train_batch_size * self._micro_steps
            if local_rows % self._g:
                raise ValueError(
                    f"dynamic sampling needs whole groups on each process: per_device_train_batch_size * "
                    f"steps_per_generation ({local_rows}) must be divisible by num_generations ({self._g})"
                )
            if not isinstance(self.train_dataset, Sized):
                raise ValueError("dynamic sampling draws refill prompts by index: the training data must be a map-style dataset")
            self._refill = PromptStream(len(self.train_dataset), seed=self.args.seed + 1)

    @property
    def _training(self) -> bool:
        return self.model is not None and self.model.training

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        mode = "train" if self._training else "eval"
        g = self._g if mode == "train" else self._g_eval
        rewards_per_func, voided = void_unscored_groups(rewards_per_func, g)
        self._metrics[mode]["unscored_groups"].append(voided)
        weights = self.reward_weights.to(rewards_per_func.device).unsqueeze(0)
        self._last_rewards = (rewards_per_func * weights).nansum(dim=1)  # gathered: all processes, in order
        errors = torch.tensor([sum(map(self.is_malformed, completions)), len(completions)], device=self.accelerator.device)
        errors = self.accelerator.gather(errors).view(-1, 2).sum(dim=0)
        self._metrics[mode]["format_error_rate"].append((errors[0] / errors[1]).item())
        return rewards_per_func

    def _prepare_inputs(self, generation_batch):
        if not self._training:
            return super()._prepare_inputs(generation_batch)
        if self._step % (self._micro_steps * self.num_iterations) == 0 or self._buffered_inputs is None:
            batch = self._generate_and_score_completions(generation_batch)
            if "pixel_values" in batch:
                raise NotImplementedError("SRLTrainer supports text-only prompts")
            self._buffered_inputs = split_tensor_dict(shuffle_groups(batch, self._g), self._micro_steps)
        micro_batch = self._buffered_inputs[self._step % self._micro_steps]
        self._metrics["train"]["tokens/real_share_padded"].append(real_token_share(micro_batch))
        micro_batch = trim_padding(micro_batch)
        self._metrics["train"]["tokens/real_share"].append(real_token_share(micro_batch))
        return micro_batch

    def _generate_and_score_completions(self, inputs):
        if self._refill is None or not self._training:
            return super()._generate_and_score_completions(inputs)
        g, eps = self._g, self.args.dynamic_sampling_epsilon
        need = len(inputs) // g  # groups this process must deliver
        rank, device = self.accelerator.process_index, self.accelerator.device
        kept, dropped, n_kept, kept_total, seen_total, generated, missing = [], [], 0, 0, 0, 0, need
        for round_index in range(1 + self.args.max_refill_rounds):
            if round_index:
                inputs = self._refill_inputs(missing)
            batch = super()._generate_and_score_completions(inputs)
            per_process = len(inputs) // g
            generated += per_process
            if self._last_rewards is None:
                raise RuntimeError("TRL scored a batch without calling _calculate_rewards")
            keep_all = group_keep_mask(self._last_rewards, g, eps)  # every process's groups
            keep = keep_all[rank * per_process : (rank + 1) * per_process].cpu()
            kept.append(take_rows(batch, group_rows(keep, g)))
            dropped.append(take_rows(batch, group_rows(~keep, g)))
            n_kept += int(keep.sum())
            kept_total += int(keep_all.sum())
            seen_total += keep_all.numel()
            missing = int(self.accelerator.gather(torch.tensor([max(need - n_kept, 0)], device=device)).max())
            if not missing:
                break
        out = concat_batches(kept, self._tokenizer.pad_token_id)
        out = take_rows(out, torch.arange(min(n_kept, need) * g)) if out else {}
        missing = need - min(n_kept, need)
        if missing:
            filler = mask_out(take_rows(concat_batches(dropped, self._tokenizer.pad_token_id), torch.arange(missing * g)))
            out = concat_batches([out, filler], self._tokenizer.pad_token_id)
        loss_mask = out["completion_mask"] * out["tool_mask"] if "tool_mask" in out else out["completion_mask"]
        out["num_items_in_batch"] = self.accelerator.gather(loss_mask.sum()).sum()
        padded = self.accelerator.gather(torch.tensor([missing], device=device)).sum().item()
        metrics = self._metrics["train"]
        metrics["dynamic_sampling/groups_kept_frac"].append(kept_total / seen_total)
        metrics["dynamic_sampling/rounds"].append(round_index + 1)
        metrics["dynamic_sampling/padded_groups"].append(padded)
        metrics["dynamic_sampling/groups_generated"].append(generated)
        return out

    def _refill_inputs(self, groups: int) -> list[dict]:
        """The next ``groups`` prompts of this process from the refill stream, each repeated G times."""
        world, rank = self.accelerator.num_processes, self.accelerator.process_index
        refill, data = self._refill, self.train_dataset
        if refill is None or data is None:
            raise RuntimeError("refill prompts asked for without dynamic sampling")
        indices = refill.take(groups * world)[rank * groups : (rank + 1) * groups]
        return [data[i] for i in indices for _ in range(self._g)]

    def _save_checkpoint(self, model, trial):
        # Written before the Trainer's files, whose trainer_state.json (written last) marks a complete checkpoint.
        if self._refill is not None and self.args.should_save:
            folder = os.path.join(self._get_output_dir(trial=trial), f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}")
            os.makedirs(folder, exist_ok=True)
            self._refill.save(folder)
        super()._save_checkpoint(model, trial)

    def _load_optimizer_and_scheduler(self, checkpoint):
        super()._load_optimizer_and_scheduler(checkpoint)
        if self._refill is not None and checkpoint is not None:
            self._refill.load(checkpoint)
