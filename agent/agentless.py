"""The end-to-end protocol of the SRL paper's evaluation (srl-method.md section 5): Agentless-mini.

Beside oracle file edit (the model is shown the gold patch's files) and the multi-turn agent, the
pipeline finds the files itself, in up to three model stages, all on the same policy and sandbox:

1. localize: issue + the repository's file paths -> the files to edit (``localize.py``); a file too
   long for the repair prompt is narrowed to the definitions the model names from its outline
   (``outline.py``, one more call, only when some file is too long);
2. repair: issue + those files' text -> SEARCH/REPLACE edits, with the oracle mode's very prompt
   and parser (``trajectories/edits.py``): "the same repair" the paper names;
3. rerank (only with ``samples > 1``): N repairs and N reproduction scripts are sampled, the
   scripts run against every candidate patch in the sandbox, one patch is picked (``rerank.py``).

Greedy decoding and one sample by default, as in the paper. Every stage's prompt and answers are
saved in the trajectory's metadata (``stages``); the chosen answer's edits run through the agent's
editor as ordinary Steps, so the patch is the sandbox's diff, as in the other two protocols.
Policy calls come in a fixed order: localize, (localize functions,) the N repairs, then the N
reproduction scripts.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from swesrl.sandbox.base import Sandbox
from swesrl.trajectories.context import Message
from swesrl.trajectories.edits import answer_patch, oracle_messages
from swesrl.trajectories.schema import Step, Trajectory
from swesrl.util import truncate_middle

from .localize import (
    localization_score,
    localize_messages,
    parse_localization,
    repo_files,
    shown_files,
)
from .loop import AgentResult, AgentStop, recorded_run, saver
from .oracle import apply_answer
from .outline import definitions, excerpt, outline_messages, parse_definitions
from .policies import Policy, Usage
from .rerank import parse_test, rerank, test_messages


@dataclass(frozen=True)
class PipelineConfig:
    max_files: int = field(default=3, metadata={"help": "files the localization stage may name"})
    file_globs: tuple[str, ...] = field(default=("*.py",), metadata={
        "help": "paths listed to the localization stage (Agentless lists Python files); empty: all tracked files"})
    max_listing_chars: int = field(default=40_000, metadata={"help": "budget of the path listing (test files go first, then the tail)"})
    max_file_chars: int = field(default=60_000, metadata={"help": "budget of the localized files' text in the repair prompt"})
    samples: int = field(default=1, metadata={"help": "repairs sampled; above 1 they are reranked with model-written reproduction scripts"})
    test_timeout: float = field(default=60.0, metadata={"help": "seconds one reproduction script may run"})
    command_timeout: float = field(default=120.0, metadata={"help": "seconds one sandbox command may run"})
    workdir: str = field(default="/testbed", metadata={"help": "the repository inside the sandbox"})


def shares(sizes: dict[str, int], max_chars: int) -> dict[str, int]:
    """Each file's part of ``max_chars``: smaller files whole, what they leave shared by the larger."""
    out: dict[str, int] = {}
    left = max_chars
    by_size = sorted(sizes, key=lambda p: sizes[p])
    for i, path in enumerate(by_size):
        out[path] = min(sizes[path], left // (len(by_size) - i))
        left -= out[path]
    return out


def budget_files(files: dict[str, str], max_chars: int) -> dict[str, str]:
    """The files' text within ``max_chars`` in all (``shares``), each cut in the middle with a visible marker."""
    share = shares({p: len(t) for p, t in files.items()}, max_chars)
    return {path: truncate_middle(text, max(1, share[path])) for path, text in files.items()}


class _Run:
    """One pipeline run: the policy's calls, recorded stage by stage in the trajectory."""

    def __init__(self, policy: Policy, sandbox: Sandbox, trajectory: Trajectory, config: PipelineConfig):
        self.policy, self.sandbox, self.trajectory, self.config = policy, sandbox, trajectory, config
        self.usage = Usage()
        self.stages: list[dict[str, Any]] = trajectory.metadata.setdefault("stages", [])

    def ask(self, stage: str, messages: list[Message], n: int = 1) -> list[str]:
        record: dict[str, Any] = {"stage": stage, "messages": messages, "answers": []}
        self.stages.append(record)
        for _ in range(n):
            reply = self.policy.act(messages)
            self.usage += reply.usage
            record["answers"].append(reply.text)
        return record["answers"]

    def localize(self, gold: list[str] | None) -> list[str]:
        c, meta = self.config, self.trajectory.metadata
        paths = repo_files(self.sandbox, c.workdir, c.command_timeout)
        listed, left_out = shown_files(paths, c.file_globs, c.max_listing_chars)
        [answer] = self.ask("localize", localize_messages(self.trajectory.problem_statement, listed, left_out, c.max_files))
        loc = parse_localization(answer, set(paths), c.max_files)
        meta["localization"] = {"files": loc.files, "unknown": loc.unknown, "listed": len(listed), "left_out": left_out}
        if gold is not None:
            meta["localization"].update(localization_score(loc.files, gold))
        if loc.files:
            return loc.files
        if loc.unknown:
            status, problem = "localization_failed", f"none of the named paths is a repository file: {', '.join(loc.unknown)}"
        else:
            status, problem = "format_errors", "the localization answer named no file"
        self.trajectory.steps.append(Step(loc.thought, None, "", action_error=problem, raw={"stage": "localize", "answer": answer}))
        raise AgentStop(problem, status)

    def repair(self, files: list[str]) -> str:
        c, problem = self.config, self.trajectory.problem_statement
        full = {f: self.sandbox.read_file(posixpath.join(c.workdir, f)) for f in files}
        shown = budget_files(self.narrow(full), c.max_file_chars)
        answers = self.ask("repair", oracle_messages(problem, shown), c.samples)
        if c.samples == 1:
            return answers[0]
        scripts = [parse_test(a) for a in self.ask("reproduction tests", test_messages(problem, shown), c.samples)]
        ranking = rerank(self.sandbox, [answer_patch(a, full).patch for a in answers], scripts,
                         workdir=c.workdir, timeout=c.test_timeout)
        self.trajectory.metadata["rerank"] = ranking.to_dict()
        return answers[ranking.chosen]

    def narrow(self, full: dict[str, str]) -> dict[str, str]:
        """Python files too long for their share of the repair prompt: the definitions the model
        names from their outlines (one more policy call), instead of a blind middle cut."""
        share = shares({p: len(t) for p, t in full.items()}, self.config.max_file_chars)
        outlines = {p: d for p, t in full.items() if len(t) > share[p] and (d := definitions(t))}
        if not outlines:
            return full
        [answer] = self.ask("localize functions", outline_messages(self.trajectory.problem_statement, outlines))
        named = parse_definitions(answer, outlines)
        self.trajectory.metadata["localization"]["functions"] = {p: [d.qualname for d in ds] for p, ds in named.items()}
        return {p: excerpt(t, named[p]) if p in named else t for p, t in full.items()}

    def run(self, gold: list[str] | None) -> tuple[str, str]:
        answer = self.repair(self.localize(gold))
        return apply_answer(answer, self.sandbox, self.trajectory.steps, workdir=self.config.workdir,
                            timeout=self.config.command_timeout, raw={"stage": "repair", "answer": answer})


def run_pipeline(
    policy: Policy,
    sandbox: Sandbox,
    problem_statement: str,
    *,
    gold_files: list[str] | None = None,
    config: PipelineConfig = PipelineConfig(),
    out: Path | None = None,
    instance_id: str | None = None,
    repo: str | None = None,
    base_commit: str | None = None,
) -> AgentResult:
    """Localize, repair (and rerank) on one issue in ``sandbox``; localization is scored against
    ``gold_files`` when they are known. The trajectory goes to ``out`` (JSONL)."""
    if config.samples < 1:
        raise ValueError(f"samples must be at least 1, got {config.samples}")
    started = time.monotonic()
    trajectory = Trajectory(instance_id or repo or "run", problem_statement, [], instance_id, repo, base_commit,
                            source_path=str(out or ""),
                            metadata={"model": policy.name, "mode": "pipeline", "exit_status": None, "samples": config.samples})
    run = _Run(policy, sandbox, trajectory, config)
    with recorded_run(trajectory, sandbox, lambda: run.usage, saver(trajectory, out), started) as ending:
        ending.status, ending.message = run.run(gold_files)
    return AgentResult(trajectory.final_patch or "", ending.status, trajectory, run.usage)
