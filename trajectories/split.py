"""Expert trajectories -> SRL step examples: one (prompt, expert action) pair per expert step.

The prompt is built by ``context.build_messages`` from the issue and the previous expert turns, in
the very form the agent loop feeds the model at inference; the target is the expert action in its
canonical XML text (what the SRL reward compares). Everything streams: ``split_all`` takes any
iterable of trajectories and yields examples one at a time, and ``write_examples`` writes them in
batches, so memory stays flat whatever the corpus size.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from .actions import Submit, render_xml
from .context import ContextConfig, Message, TokenCounter, Turn, build_messages, estimate_tokens
from .schema import Trajectory


@dataclass(frozen=True)
class SplitConfig:
    context_steps: int | None = 2  # previous action/observation pairs in the prompt; None = all
    max_observation_chars: int = 8000  # longer observations are cut in the middle, with a marker
    max_prompt_tokens: int = 8192  # oldest turns are dropped first to stay under it
    only_resolved: bool = False  # skip runs whose outcome is not "resolved"
    keep_submit: bool = True  # a submit step is a target too
    drop_last: bool = False  # the paper's N-1 examples per run: drop each run's last action
    dedupe: bool = False  # drop examples whose (prompt, target) was already yielded
    # None: the tokenizer-free estimate; a callable counting tokens; or a Hugging Face tokenizer
    # name/path, loaded with transformers only when asked for.
    tokenizer: str | TokenCounter | None = None

    def context(self) -> ContextConfig:
        return ContextConfig(self.context_steps, self.max_observation_chars, self.max_prompt_tokens)


@dataclass
class StepExample:
    id: str  # f"{trajectory_id}/{step_index}": stable across runs, so outputs can be joined and resumed
    trajectory_id: str
    instance_id: str | None
    step_index: int  # index into Trajectory.steps (steps without an action keep their index)
    messages: list[Message]  # the prompt
    target: str  # render_xml(expert action): the SRL target
    thought: str  # the expert's reasoning: kept for SFT and inspection, never the SRL target
    action_kind: str
    prompt_tokens: int  # sum over message contents (chat-template tokens not included)
    source_format: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepExample:
        return cls(**{f.name: d[f.name] for f in fields(cls)})


@dataclass
class SplitStats:
    """What the split did, so a summary can say where every expert step went."""

    trajectories: int = 0
    unresolved_skipped: int = 0  # whole runs skipped by only_resolved
    examples: int = 0
    steps_without_action: int = 0  # turns whose action could not be parsed: never a target
    submit_dropped: int = 0
    last_dropped: int = 0
    duplicates: int = 0
    over_budget: int = 0  # issue alone exceeds max_prompt_tokens: no prompt fits, example dropped

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def token_counter(tokenizer: str | TokenCounter | None) -> TokenCounter:
    """The token counter a config names; transformers is imported only for a tokenizer path."""
    if tokenizer is None:
        return estimate_tokens
    if callable(tokenizer):
        return tokenizer
    return _hf_counter(str(tokenizer))


@lru_cache(maxsize=4)
def _hf_counter(name_or_path: str) -> TokenCounter:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(name_or_path)
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def split(
    trajectory: Trajectory, config: SplitConfig = SplitConfig(), stats: SplitStats | None = None
) -> Iterator[StepExample]:
    """The step examples of one run (``dedupe`` applies within the run; use split_all across runs)."""
    stats = stats if stats is not None else SplitStats()
    return _split(trajectory, config, token_counter(config.tokenizer), stats, set() if config.dedupe else None)


def split_all(
    trajectories: Iterable[Trajectory], config: SplitConfig = SplitConfig(), stats: SplitStats | None = None
) -> Iterator[StepExample]:
    """The step examples of many runs, lazily; ``dedupe`` applies across the whole stream.

    Memory is flat in the corpus size, except with ``dedupe``: 16 bytes of digest per example kept.
    """
    count = token_counter(config.tokenizer)
    stats = stats if stats is not None else SplitStats()
    seen: set[bytes] | None = set() if config.dedupe else None
    for trajectory in trajectories:
        yield from _split(trajectory, config, count, stats, seen)


def _split(
    traj: Trajectory, config: SplitConfig, count: TokenCounter, stats: SplitStats, seen: set[bytes] | None
) -> Iterator[StepExample]:
    stats.trajectories += 1
    if config.only_resolved and traj.outcome != "resolved":
        stats.unresolved_skipped += 1
        return
    if count is not estimate_tokens:  # a real tokenizer sees the same texts again and again in one run
        count = lru_cache(maxsize=256)(count)
    ctx = config.context()
    acted = [i for i, s in enumerate(traj.steps) if s.action is not None]
    stats.steps_without_action += len(traj.steps) - len(acted)
    last = acted[-1] if acted else None
    history: list[Turn] = []
    for i in acted:
        step = traj.steps[i]
        target = render_xml(step.action)
        keep = True
        if isinstance(step.action, Submit) and not config.keep_submit:
            stats.submit_dropped += 1
            keep = False
        elif config.drop_last and i == last:
            stats.last_dropped += 1
            keep = False
        if keep:
            messages = build_messages(traj.problem_statement, history, ctx, count)
            tokens = sum(count(m["content"]) for m in messages)
            if tokens > config.max_prompt_tokens:
                stats.over_budget += 1
            elif seen is not None and _seen(seen, messages, target):
                stats.duplicates += 1
            else:
                stats.examples += 1
                yield StepExample(
                    id=f"{traj.id}/{i}",
                    trajectory_id=traj.id,
                    instance_id=traj.instance_id,
                    step_index=i,
                    messages=messages,
                    target=target,
                    thought=step.thought,
                    action_kind=step.action.kind,
                    prompt_tokens=tokens,
                    source_format=traj.source_format,
                )
        history.append(Turn(answer=target, observation=step.observation))


def _seen(seen: set[bytes], messages: list[Message], target: str) -> bool:
    h = hashlib.blake2b(digest_size=16)
    for m in messages:
        h.update(m["role"].encode())
        h.update(b"\x00")
        h.update(m["content"].encode())
        h.update(b"\x01")
    h.update(target.encode())
    key = h.digest()
    if key in seen:
        return True
    seen.add(key)
    return False


# ---------------------------------------------------------------- writing and reading examples

_BATCH_ROWS = 512


def _schema():
    import pyarrow as pa

    message = pa.struct([("role", pa.string()), ("content", pa.string())])
    return pa.schema(
        [
            ("id", pa.string()),
            ("trajectory_id", pa.string()),
            ("instance_id", pa.string()),
            ("step_index", pa.int32()),
            ("messages", pa.list_(message)),
            ("target", pa.string()),
            ("thought", pa.string()),
            ("action_kind", pa.string()),
            ("prompt_tokens", pa.int32()),
            ("source_format", pa.string()),
        ]
    )


def write_examples(examples: Iterable[StepExample], out: str | Path) -> int:
    """Write examples to ``.jsonl`` or ``.parquet`` (by suffix); returns how many were written.

    Written to ``OUT.part`` and renamed at the end, so an interrupted run never leaves a file that
    looks complete. Parquet goes out in row groups of a few hundred rows: memory stays flat.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".jsonl", ".parquet"):
        raise ValueError(f"{out}: output must end in .jsonl or .parquet")
    part = out.with_name(out.name + ".part")
    try:
        n = _write_parquet(examples, part) if suffix == ".parquet" else _write_jsonl(examples, part)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return n


def _write_jsonl(examples: Iterable[StepExample], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(ex.to_dict(), ensure_ascii=False))
            f.write("\n")
            n += 1
    return n


def _write_parquet(examples: Iterable[StepExample], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    names = schema.names
    n = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        batch: list[StepExample] = []

        def flush() -> None:
            columns = {name: pa.array([getattr(ex, name) for ex in batch], schema.field(name).type) for name in names if name != "messages"}
            columns["messages"] = _messages_array(batch)
            writer.write_table(pa.table(columns, schema=schema))
            batch.clear()

        for ex in examples:
            batch.append(ex)
            n += 1
            if len(batch) >= _BATCH_ROWS:
                flush()
        if batch or n == 0:
            flush()
    return n


def _messages_array(batch: list[StepExample]):
    """list<struct<role, content>> built from flat columns: several times faster than from dicts."""
    import pyarrow as pa

    offsets, roles, contents = [0], [], []
    for ex in batch:
        for m in ex.messages:
            roles.append(m["role"])
            contents.append(m["content"])
        offsets.append(len(roles))
    structs = pa.StructArray.from_arrays([pa.array(roles, pa.string()), pa.array(contents, pa.string())], names=["role", "content"])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), structs)


def read_examples(path: str | Path) -> Iterator[StepExample]:
    """Stream examples back from a file ``write_examples`` wrote."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=_BATCH_ROWS):
            for row in batch.to_pylist():
                yield StepExample.from_dict(row)
        return
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield StepExample.from_dict(json.loads(line))
