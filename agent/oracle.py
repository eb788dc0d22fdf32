"""Oracle file edit, the SRL paper's evaluation protocol (srl-method.md section 5).

The model is shown the full text of the files the gold patch touches and answers once with
SEARCH/REPLACE edits (Agentless format). Prompt and parser are ``swesrl.trajectories.edits``, shared
with RLVR training. Each edit runs as a ``StrReplace`` (a ``Create`` for a new file) through the
agent's own tools, so the run is saved as an ordinary Trajectory and the patch is the sandbox's diff.
"""

from __future__ import annotations

import posixpath
import time
from dataclasses import asdict
from pathlib import Path

from swesrl.sandbox.base import Sandbox
from swesrl.trajectories.actions import Action, Create, StrReplace
from swesrl.trajectories.edits import gold_files, oracle_messages, parse_search_replace
from swesrl.trajectories.schema import Step, Trajectory

from .loop import AgentResult, recorded_run, saver
from .policies import Policy, Usage
from .tools import Editor, execute

__all__ = ["apply_answer", "gold_files", "oracle_messages", "parse_edits", "run_oracle"]


def parse_edits(answer: str, workdir: str = "/testbed") -> tuple[str, list[Action]]:
    """(thought, edits) as the editor's actions: an empty SEARCH creates the file."""
    thought, edits = parse_search_replace(answer)
    actions: list[Action] = []
    for e in edits:
        path = posixpath.join(workdir, e.path)
        actions.append(StrReplace(path, e.search, e.replace) if e.search else Create(path, e.replace + "\n"))
    return thought, actions


def apply_answer(answer: str, sandbox: Sandbox, steps: list[Step], *, workdir: str, timeout: float,
                 raw: dict | None = None) -> tuple[str, str]:
    """Run an answer's SEARCH/REPLACE edits in ``sandbox`` as editor actions, appending one Step per
    edit (a format-error Step when there is none); returns (exit status, message)."""
    thought, edits = parse_edits(answer, workdir)
    if not edits:
        steps.append(Step(thought, None, "", action_error="no SEARCH/REPLACE edit found", raw=raw))
        return "format_errors", "the answer held no SEARCH/REPLACE edit"
    editor = Editor(workdir)
    failed = 0
    for i, edit in enumerate(edits):
        observation = execute(edit, sandbox, editor, timeout)
        failed += observation.startswith("ERROR")
        steps.append(Step(thought if i == 0 else "", edit, observation, raw=raw if i == 0 else None))
    return "submitted", f"{len(edits) - failed} of {len(edits)} edits applied"


def run_oracle(
    policy: Policy,
    sandbox: Sandbox,
    problem_statement: str,
    files: list[str],
    *,
    workdir: str = "/testbed",
    out: Path | None = None,
    instance_id: str | None = None,
    repo: str | None = None,
    base_commit: str | None = None,
    timeout: float = 60.0,
) -> AgentResult:
    """One answer with SEARCH/REPLACE edits over ``files`` (repository-relative), applied in ``sandbox``."""
    started = time.monotonic()
    shown = {}
    for f in files:
        try:
            shown[f] = sandbox.read_file(posixpath.join(workdir, f))
        except FileNotFoundError:  # a file the gold patch creates: shown empty
            shown[f] = ""
    trajectory = Trajectory(instance_id or repo or "run", problem_statement, [], instance_id, repo, base_commit,
                            source_path=str(out or ""), metadata={"model": policy.name, "mode": "oracle", "exit_status": None})
    spent: list[Usage] = []
    with recorded_run(trajectory, sandbox, lambda: spent[0] if spent else None, saver(trajectory, out), started) as ending:
        reply = policy.act(oracle_messages(problem_statement, shown))
        spent.append(reply.usage)
        raw = {"answer": reply.text, "usage": asdict(reply.usage)}
        ending.status, ending.message = apply_answer(reply.text, sandbox, trajectory.steps, workdir=workdir, timeout=timeout, raw=raw)
    return AgentResult(trajectory.final_patch or "", ending.status, trajectory, spent[0] if spent else Usage())
