"""Forwarded tokens per real token: TRL's micro-batches against SRLTrainer's, on real step prompts.

TRL pads a generation batch to its longest prompt and longest completion, shuffles rows and splits it
into micro-batches that keep that width. SRLTrainer shuffles whole groups and cuts each micro-batch's
all-pad columns (training/micro_batches.py). Both are run here, with TRL's own shuffle/split
functions and SRLTrainer's, on masks built from real data:

- prompts: the step examples of the shared third-party expert runs, chat-formatted and counted with
  Qwen2.5's tokenizer (needs `pip install --no-deps qwen-agent`; `--vocab local` uses the tiny BPE);
- completions: no model here, so each rollout's length is an expert answer's (thought + action)
  length from the same data, drawn at random, cut at max_completion_length.

The recipe's shape: generation batches of 512 prompts x G=8, micro-batches of 8 rows (one group);
and the old 1-GPU recipe's 64-row micro-batches for TRL. Compute grows at least linearly in forwarded
tokens, so the ratio of forwarded tokens is a floor on the compute saved.

Usage: python bench/micro_batch_padding.py [--data ../shared/data/trajectories] [--batches 3]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import torch
from trl.trainer.utils import shuffle_sequence_dict, split_tensor_dict

from swesrl.training.data import prompt_length
from swesrl.training.micro_batches import shuffle_groups, trim_padding
from swesrl.trajectories.answer import render_answer
from swesrl.trajectories.readers import read_trajectories
from swesrl.trajectories.split import split_all

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "trajectories"


def lengths(data: Path, vocab: str) -> tuple[list[int], list[int]]:
    """(chat-formatted prompt tokens, expert answer tokens) of every step example in ``data``."""
    from swesrl.training.tiny_model import local_tokenizer, qwen_tokenizer

    examples = list(split_all(read_trajectories(data)))
    tok = qwen_tokenizer() if vocab == "qwen" else local_tokenizer([])
    prompts = [prompt_length(tok, [dict(m) for m in e.to_dict()["messages"]]) for e in examples]
    answers = [len(tok(render_answer(e.thought, e.target), add_special_tokens=False)["input_ids"]) + 1 for e in examples]
    return prompts, answers


def generation_batch(prompts: list[int], answers: list[int], n_prompts: int, g: int, max_completion: int, rng) -> dict:
    """Masks of one padded generation batch as TRL builds it: prompts left-padded, completions right-padded,
    the G rollouts of a prompt on consecutive rows."""
    chosen = [rng.choice(prompts) for _ in range(n_prompts)]
    rollouts = [[min(rng.choice(answers), max_completion) for _ in range(g)] for _ in chosen]
    p_width, c_width = max(chosen), max(max(r) for r in rollouts)
    prompt_mask = torch.zeros(n_prompts * g, p_width, dtype=torch.bool)
    completion_mask = torch.zeros(n_prompts * g, c_width, dtype=torch.bool)
    for i, (p, group) in enumerate(zip(chosen, rollouts, strict=True)):
        for j, c in enumerate(group):
            prompt_mask[i * g + j, p_width - p :] = True
            completion_mask[i * g + j, :c] = True
    return {"prompt_mask": prompt_mask, "completion_mask": completion_mask}


def forwarded(micro_batches: list[dict]) -> int:
    return sum(b["prompt_mask"].numel() + b["completion_mask"].numel() for b in micro_batches)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--vocab", choices=["qwen", "local"], default="qwen")
    parser.add_argument("--batches", type=int, default=3, help="Generation batches to average over.")
    parser.add_argument("--prompts", type=int, default=512, help="Prompts per generation batch (the paper's batch).")
    parser.add_argument("--max-prompt-tokens", type=int, default=8192)
    parser.add_argument("--max-completion", type=int, default=1024)
    args = parser.parse_args()
    g = 8
    prompts, answers = lengths(args.data, args.vocab)
    prompts = [p for p in prompts if p <= args.max_prompt_tokens]
    q = sorted(prompts)
    print(f"{len(prompts)} step prompts ({args.vocab} tokenizer): median {q[len(q) // 2]}, p90 {q[int(len(q) * 0.9)]}, "
          f"max {q[-1]} tokens; expert answers median {sorted(answers)[len(answers) // 2]} tokens")
    rng = random.Random(0)
    torch.manual_seed(0)
    totals = {"TRL, 64-row micro-batches": 0, "TRL, 8-row micro-batches": 0, "SRLTrainer, 8-row micro-batches": 0}
    real = 0
    for _ in range(args.batches):
        batch = generation_batch(prompts, answers, args.prompts, g, args.max_completion, rng)
        real += int(batch["prompt_mask"].sum() + batch["completion_mask"].sum())
        rows = batch["prompt_mask"].shape[0]
        totals["TRL, 64-row micro-batches"] += forwarded(split_tensor_dict(shuffle_sequence_dict(batch), rows // 64))
        totals["TRL, 8-row micro-batches"] += forwarded(split_tensor_dict(shuffle_sequence_dict(batch), rows // 8))
        ours = split_tensor_dict(shuffle_groups(batch, g), rows // 8)
        totals["SRLTrainer, 8-row micro-batches"] += forwarded([trim_padding(b) for b in ours])
    base = totals["TRL, 8-row micro-batches"]
    print(f"{'micro-batching':<34} {'real share':>10} {'forwarded / real':>17} {'vs TRL 8-row':>13}")
    for name, total in totals.items():
        print(f"{name:<34} {real / total:>10.3f} {total / real:>17.2f} {total / base:>13.3f}")


if __name__ == "__main__":
    main()
