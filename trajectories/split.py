"""Expert trajectories -> SRL step examples: one (prompt, expert action) pair per expert step.

``normalize`` first decides which turns are targets and as which canonical action (every other
turn is counted by reason in the split report, never kept as a target the model could not write).
The prompt is built by ``context.build_messages`` from the issue and the previous expert turns
(all executed turns, targets or not), in the very form the agent loop feeds the model at
inference; the target is the expert action in its canonical XML text (what the SRL reward
compares), whose expert answer ``normalize`` has checked parses back to it, i.e. scores 1.0. Everything streams: ``split_all`` takes any
iterable of trajectories and yields examples one at a time, and ``write_examples`` writes them in
batches, so memory stays flat whatever the corpus size.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from .actions import Submit, render_xml
from .context import ContextConfig, Message, Prompts, TokenCounter, estimate_tokens
from .normalize import DEFAULT_WORKDIR, normalize
from .schema import Trajectory
from .split_report import SplitStats


@dataclass(frozen=True)
class SplitConfig:
    # The prompt, built exactly as the agent loop builds it at inference (one owner: context.py).
    context: ContextConfig = field(default_factory=ContextConfig)
    only_resolved: bool = False  # skip runs whose outcome is not "resolved"
    keep_submit: bool = True  # a submit step is a target too
    drop_last: bool = False  # the paper's N-1 examples per run: drop each run's last action
    dedupe: bool = False  # drop examples whose (prompt, target) was already yielded
    # None: the tokenizer-free estimate; a callable counting tokens; or a Hugging Face tokenizer
    # name/path, loaded with transformers only when asked for.
    tokenizer: str | TokenCounter | None = None
    # The folder the scaffold worked in (e.g. OpenHands' /workspace/repo__1.0) becomes this one in
    # targets, context and observations; None keeps the scaffold's own.
    workdir: str | None = DEFAULT_WORKDIR


@dataclass(slots=True)
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
        """Shallow: the messages are shared, not copied (``asdict`` deep-copied every message)."""
        return {
            "id": self.id,
            "trajectory_id": self.trajectory_id,
            "instance_id": self.instance_id,
            "step_index": self.step_index,
            "messages": self.messages,
            "target": self.target,
            "thought": self.thought,
            "action_kind": self.action_kind,
            "prompt_tokens": self.prompt_tokens,
            "source_format": self.source_format,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepExample:
        return cls(**{f.name: d[f.name] for f in fields(cls)})


class TokenizerError(ValueError):
    """A tokenizer that cannot be loaded; the message names it and says why, in one line."""


def token_counter(tokenizer: str | TokenCounter | None) -> TokenCounter:
    """The token counter a config names; transformers is imported only for a tokenizer path."""
    if tokenizer is None:
        return estimate_tokens
    if callable(tokenizer):
        return tokenizer
    return _hf_counter(str(tokenizer))


@lru_cache(maxsize=4)
def _hf_counter(name_or_path: str) -> TokenCounter:
    if name_or_path.startswith(("/", "./", "../", "~")) and not Path(name_or_path).expanduser().exists():
        raise TokenizerError(f"cannot load tokenizer {name_or_path!r}: no such file or directory")
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise TokenizerError(f"cannot load tokenizer {name_or_path!r}: {first}") from None
    return lambda text: len(tok(text, add_special_tokens=False)["input_ids"])


def split(
    trajectory: Trajectory, config: SplitConfig = SplitConfig(), stats: SplitStats | None = None
) -> Iterator[StepExample]:
    """The step examples of one run (``dedupe`` applies within the run; use split_all across runs)."""
    stats = stats if stats is not None else SplitStats()
    return _split(trajectory, trajectory.id, config, token_counter(config.tokenizer), stats, set() if config.dedupe else None)


def split_all(
    trajectories: Iterable[Trajectory], config: SplitConfig = SplitConfig(), stats: SplitStats | None = None
) -> Iterator[StepExample]:
    """The step examples of many runs, lazily; ``dedupe`` applies across the whole stream.

    Memory is flat in the corpus size, except for one id per run (to rename a run whose id is taken)
    and, with ``dedupe``, 16 bytes of digest per example kept.
    """
    count = token_counter(config.tokenizer)
    stats = stats if stats is not None else SplitStats()
    seen: set[bytes] | None = set() if config.dedupe else None
    ids: dict[str, int] = {}
    for trajectory in trajectories:
        run_id = trajectory.id
        if run_id in ids:
            ids[run_id] += 1
            stats.id_collisions += 1
            run_id = f"{run_id}~{ids[run_id]}"
        else:
            ids[run_id] = 1
        yield from _split(trajectory, run_id, config, count, stats, seen)


def _split(
    traj: Trajectory, run_id: str, config: SplitConfig, count: TokenCounter, stats: SplitStats, seen: set[bytes] | None
) -> Iterator[StepExample]:
    report = stats.of(traj.source_format)
    report.runs += 1
    if config.only_resolved and traj.outcome != "resolved":
        report.unresolved_skipped += 1
        return
    report.steps += len(traj.steps)
    if count is not estimate_tokens:  # a real tokenizer sees the same texts again and again in one run
        count = lru_cache(maxsize=256)(count)
    norm = normalize(traj, config.workdir)
    last = next((d.index for d in reversed(norm.turns) if d.action is not None), None)
    prompts = Prompts(norm.problem_statement, config.context, count)
    for d in norm.turns:
        action = d.action
        if action is None:
            report.dropped[d.reason or "no_action"] += 1
        elif isinstance(action, Submit) and not config.keep_submit:
            report.dropped["submit_dropped"] += 1
        elif config.drop_last and d.index == last:
            report.dropped["last_dropped"] += 1
        else:
            target = d.answer or render_xml(action)
            messages, tokens, cut = prompts.build()
            if tokens > config.context.prompt_budget_tokens:
                report.dropped["over_budget"] += 1
            elif seen is not None and _seen(seen, messages, target):
                report.dropped["duplicate"] += 1
            else:
                report.examples += 1
                report.target_kinds[action.kind] += 1
                report.context_cut += cut > 0
                yield StepExample(
                    id=f"{run_id}/{d.index}",
                    trajectory_id=run_id,
                    instance_id=traj.instance_id,
                    step_index=d.index,
                    messages=messages,
                    target=target,
                    thought=d.thought,
                    action_kind=action.kind,
                    prompt_tokens=tokens,
                    source_format=traj.source_format,
                )
        if d.answer is not None:
            prompts.add(d.answer, d.observation)


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

    Written to ``.OUT.part`` and renamed at the end, so an interrupted run never leaves a file that
    looks complete. Parquet goes out in row groups of a few hundred rows: memory stays flat.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".jsonl", ".parquet"):
        raise ValueError(f"{out}: output must end in .jsonl or .parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(f".{out.name}.part")  # hidden: a split reading the output's folder skips it
    try:
        n = _write_parquet(examples, part) if suffix == ".parquet" else _write_jsonl(examples, part)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return n


def _write_jsonl(examples: Iterable[StepExample], path: Path) -> int:
    """Each line is ``json.dumps(ex.to_dict(), ensure_ascii=False)`` in UTF-8, byte for byte.

    A run's system prompt, issue and turns show in many prompts as the same message objects, so each
    message is encoded (to JSON, then UTF-8) once and its bytes reused: encoding was most of a
    split's time. The cache holds the current run's messages only.
    """
    encode = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one per row as json.dumps makes
    encoded: dict[int, tuple[Message, bytes]] = {}  # id(message) -> (message, its JSON); the message kept alive
    run = None
    n = 0
    with path.open("wb") as f:
        for ex in examples:
            if ex.trajectory_id != run:
                run = ex.trajectory_id
                encoded.clear()
            parts = []
            for m in ex.messages:
                hit = encoded.get(id(m))
                if hit is None or hit[0] is not m:
                    hit = encoded[id(m)] = (m, encode(m).encode())
                parts.append(hit[1])
            head = encode({"id": ex.id, "trajectory_id": ex.trajectory_id, "instance_id": ex.instance_id, "step_index": ex.step_index})
            tail = encode({"target": ex.target, "thought": ex.thought, "action_kind": ex.action_kind,
                           "prompt_tokens": ex.prompt_tokens, "source_format": ex.source_format})
            f.write(b"".join((head[:-1].encode(), b', "messages": [', b", ".join(parts), b"], ", tail[1:].encode(), b"\n")))
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
