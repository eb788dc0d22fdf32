"""Oracle file edit, the SRL paper's evaluation protocol (srl-method.md section 5).

The model is shown the full text of the files the gold patch touches and answers once with
SEARCH/REPLACE edits (Agentless format). Each edit runs as a ``StrReplace`` (a ``Create`` for a
new file) through the agent's own tools, so the run is saved as an ordinary Trajectory and the
patch is the sandbox's diff.
"""

from __future__ import annotations

import posixpath
import re
import shlex
import time
from dataclasses import asdict
from pathlib import Path

from unidiff import PatchSet

from swesrl.sandbox.base import Sandbox
from swesrl.trajectories.actions import Action, Create, StrReplace
from swesrl.trajectories.context import Message
from swesrl.trajectories.schema import Step, Trajectory

from .loop import AgentResult, save_trajectory
from .policies import Policy, PolicyError, Usage
from .tools import Editor, execute

INSTRUCTIONS = """Below are the issue and the full text of the files that need to change.
First reason inside <think> ... </think>. Then write every change as a SEARCH/REPLACE edit:

### path/of/the/file.py
<<<<<<< SEARCH
the exact lines to find (copied verbatim, indentation included)
=======
the lines that replace them
>>>>>>> REPLACE

Each SEARCH block must match the file exactly once; add surrounding lines to make it unique.
"""

_EDIT_RE = re.compile(r"<<<<<<< SEARCH\n(.*?)=======\n(.*?)>>>>>>> REPLACE", re.DOTALL)
_PATH_RE = re.compile(r"^###\s*(\S+)\s*$", re.MULTILINE)


def gold_files(patch: str) -> list[str]:
    """Repository-relative paths the gold patch changes (the target path of renamed and added files)."""
    files = []
    for f in PatchSet(patch.replace("\r\n", "\n")):
        path = f.target_file if f.is_added_file else f.source_file
        files.append(path[2:] if path.startswith(("a/", "b/")) else path)
    return files


def oracle_messages(problem_statement: str, files: dict[str, str]) -> list[Message]:
    shown = "\n\n".join(f"### {path}\n```\n{text}\n```" for path, text in files.items())
    return [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": f"<issue>\n{problem_statement.strip()}\n</issue>\n\n<files>\n{shown}\n</files>"},
    ]


def _chomp(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def parse_edits(answer: str, workdir: str = "/testbed") -> tuple[str, list[Action]]:
    """(thought, edits): each block's path is the nearest ``### path`` line above it."""
    m = re.search(r"<think>(.*?)</think>", answer, re.DOTALL)
    thought = m.group(1).strip() if m else ""
    edits: list[Action] = []
    for block in _EDIT_RE.finditer(answer):
        paths = _PATH_RE.findall(answer, 0, block.start())
        if not paths:
            continue
        path = posixpath.join(workdir, paths[-1].lstrip("/"))
        search, replace = _chomp(block.group(1)), _chomp(block.group(2))
        edits.append(StrReplace(path, search, replace) if search else Create(path, replace + "\n"))
    return thought, edits


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
        path = posixpath.join(workdir, f)
        exists = sandbox.exec(f"test -f {shlex.quote(path)}", timeout=timeout).exit_code == 0
        shown[f] = sandbox.read_file(path) if exists else ""
    trajectory = Trajectory(instance_id or repo or "run", problem_statement, [], instance_id, repo, base_commit,
                            source_path=str(out or ""), metadata={"model": policy.name, "mode": "oracle", "exit_status": None})
    status, message, usage = "error", "", None
    try:
        reply = policy.act(oracle_messages(problem_statement, shown))
        usage = reply.usage
        thought, edits = parse_edits(reply.text, workdir)
        raw = {"answer": reply.text, "usage": asdict(reply.usage)}
        if not edits:
            trajectory.steps.append(Step(thought, None, "", action_error="no SEARCH/REPLACE edit found", raw=raw))
            status, message = "format_errors", "the answer held no SEARCH/REPLACE edit"
        editor = Editor(workdir)
        for i, edit in enumerate(edits):
            observation = execute(edit, sandbox, editor, timeout)
            trajectory.steps.append(Step(thought if i == 0 else "", edit, observation, raw=raw if i == 0 else None))
        if edits:
            failed = sum(s.observation.startswith("ERROR") for s in trajectory.steps)
            status, message = "submitted", f"{len(edits) - failed} of {len(edits)} edits applied"
    except PolicyError as e:
        status, message = "policy_error", str(e)
    finally:
        trajectory.final_patch = sandbox.diff()
        trajectory.metadata.update(exit_status=status, exit_message=message, usage=asdict(usage) if usage else None,
                                   wall_time=round(time.monotonic() - started, 3))
        if out is not None:
            out.parent.mkdir(parents=True, exist_ok=True)
            save_trajectory(trajectory, out)
    return AgentResult(trajectory.final_patch or "", status, trajectory, usage or Usage())
