"""Training data: step examples (the splitter's JSONL/Parquet) and whole trajectories, as TRL datasets.

GRPO reads ``prompt`` (the chat messages) and hands every other column to the reward function, so
the expert action travels as ``target``. SFT reads prompt/completion pairs (one expert step) or a
``messages`` conversation (a whole trajectory, trained on the assistant turns only).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from swesrl.trajectories.answer import render_answer
from swesrl.trajectories.context import ContextConfig, Turn, build_messages
from swesrl.trajectories.normalize import expert_turns, normalize
from swesrl.trajectories.schema import Trajectory

log = logging.getLogger(__name__)

STEP_COLUMNS = ("messages", "target")


class DataError(ValueError):
    """Training data that cannot be used; the message names the file and the problem."""


def _first_record(path: Path) -> dict:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return {name: None for name in pq.read_schema(path).names}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                try:
                    return json.loads(line)
                except json.JSONDecodeError as e:
                    raise DataError(f"{path}, line {lineno}: not JSON ({e.msg})") from None
    raise DataError(f"{path}: no records")


def data_kind(path: str | Path) -> str:
    """'steps' (step examples) or 'trajectories' (swesrl Trajectory JSONL), from the first record."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    first = _first_record(path)
    if all(c in first for c in STEP_COLUMNS):
        return "steps"
    if "steps" in first and "problem_statement" in first:
        return "trajectories"
    raise DataError(f"{path}: neither step examples (columns {', '.join(STEP_COLUMNS)}) nor trajectories (steps, problem_statement)")


def load_steps(path: str | Path):
    """Step examples as a ``datasets.Dataset``; rows without a prompt or target are dropped (logged)."""
    from datasets import load_dataset

    path = Path(path)
    if data_kind(path) != "steps":
        raise DataError(f"{path}: expected step examples (from `swesrl traj split`), found trajectories")
    fmt = "parquet" if path.suffix == ".parquet" else "json"
    ds = load_dataset(fmt, data_files=str(path), split="train")
    good = ds.filter(lambda r: isinstance(r["messages"], list) and bool(r["messages"]) and bool(r["target"]))
    if len(good) < len(ds):
        log.info(f"{path}: skipped {len(ds) - len(good)} of {len(ds)} rows with no messages or no target")
    if not len(good):
        raise DataError(f"{path}: no usable step examples")
    return good


def grpo_dataset(ds):
    """GRPO rows: ``prompt`` = the messages; ``target`` (and the rest) reach the reward function."""
    return ds.rename_column("messages", "prompt")


def sft_step_dataset(ds, target: str = "thought_action"):
    """Prompt-completion rows: the expert's answer (thought + action, or an empty think + action)."""

    def to_pair(row):
        thought = (row.get("thought") or "") if target == "thought_action" else ""
        return {"prompt": row["messages"], "completion": [{"role": "assistant", "content": render_answer(thought, row["target"])}]}

    return ds.map(to_pair, remove_columns=ds.column_names)


def trajectory_messages(traj: Trajectory) -> list[dict]:
    """The whole run as one conversation, in the same prompt format the agent sees at inference, with
    the same normalized targets the step split makes (one action space for both SFT forms)."""
    norm = normalize(traj)
    turns = [Turn(answer, observation) for answer, observation in expert_turns(norm)]
    return build_messages(norm.problem_statement, turns, ContextConfig(context_steps=None, prompt_budget_tokens=10**9))


def sft_trajectory_dataset(path: str | Path):
    """Whole-trajectory SFT rows (``messages``); bad records are skipped and counted, never fatal."""
    from datasets import Dataset

    rows, bad = [], []
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                traj = Trajectory.from_dict(json.loads(line))
                if not any(s.action is not None for s in traj.steps):
                    raise ValueError("no steps with an action")
                rows.append({"messages": trajectory_messages(traj)})
            except (ValueError, KeyError, TypeError) as e:
                bad.append(f"line {lineno}: {e}")
    if bad:
        log.info(f"{path}: skipped {len(bad)} trajectories ({'; '.join(bad[:3])}{' ...' if len(bad) > 3 else ''})")
    if not rows:
        raise DataError(f"{path}: no usable trajectories")
    return Dataset.from_list(rows)


def prompt_length(tokenizer, messages: list[dict]) -> int:
    """Tokens of the chat-formatted prompt, generation prompt included (what the model is given)."""
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
    # transformers 5 returns a BatchEncoding (a Mapping that is not a dict); older versions a list of ids
    return len(ids["input_ids"] if hasattr(ids, "keys") else ids)


def drop_long_prompts(ds, tokenizer, max_tokens: int | None, column: str = "prompt"):
    """Drop rows whose chat-formatted prompt exceeds ``max_tokens`` (GRPO has no prompt truncation,
    and cutting a chat prompt would silently remove the issue or the latest observation); the number
    dropped is printed."""
    if not max_tokens:
        return ds
    kept = ds.filter(lambda row: prompt_length(tokenizer, row[column]) <= max_tokens)
    if len(kept) < len(ds):
        log.info(f"dropped {len(ds) - len(kept)} of {len(ds)} examples longer than max_prompt_tokens={max_tokens}")
    if not len(kept):
        raise DataError(f"every example is longer than max_prompt_tokens={max_tokens}")
    return kept
