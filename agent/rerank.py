"""Reranking, the optional third stage of the end-to-end pipeline (Agentless-mini).

Several repairs are sampled; the model also writes reproduction scripts (exit 0 once the issue is
resolved). A script counts only if it fails on the unchanged repository (it reproduces the issue).
Each distinct candidate patch is applied in the sandbox and scored by the scripts it makes pass;
ties go to the patch most samples agree on (majority vote), then to the earliest sample. Between
candidates the repository is reset to its clean base checkout.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field

from swesrl.sandbox.base import Sandbox
from swesrl.trajectories.context import Message
from swesrl.trajectories.edits import Files

from .localize import prompt_template

_CODE_RE = re.compile(r"```(?:python|py)?[^\n]*\n(.*?)```", re.DOTALL)
RESET = "git reset -q --hard && git clean -fdq"  # back to the clean base checkout (ignored files stay)


def test_messages(problem_statement: str, files: Files) -> list[Message]:
    shown = "\n\n".join(f"### {path}\n```\n{text or ''}\n```" for path, text in files.items())
    user = prompt_template("repro_test_user.md").format(problem_statement=problem_statement.strip(), files=shown)
    return [{"role": "system", "content": prompt_template("repro_test_system.md")}, {"role": "user", "content": user}]


def parse_test(answer: str) -> str | None:
    """The script in the answer's last fenced block after the thinking; None when there is none."""
    body = answer.rpartition("</think>")[2] if "</think>" in answer else answer
    blocks = [b for b in _CODE_RE.findall(body) if b.strip()]
    return blocks[-1] if blocks else None


@dataclass
class TestResult:
    """One reproduction script: whether it fails on the base (it reproduces), and which candidates pass it."""

    index: int
    error: str | None = None  # why the script is not used (no script, does not reproduce)
    base_exit: int | None = None
    passed_by: list[int] = field(default_factory=list)


@dataclass
class Ranking:
    chosen: int  # index of the chosen sample
    scores: list[int | None]  # per sample: reproduction scripts its patch passes (None: not run)
    votes: list[int]  # per sample: how many samples gave the same patch
    tests: list[TestResult]
    note: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _run(sandbox: Sandbox, script: str, patch: str, workdir: str, timeout: float) -> tuple[int, str]:
    """Exit status of ``script`` with ``patch`` ("" for none) applied at the clean base checkout; the
    tree is reset afterwards. -9: timed out; -1: the patch does not apply."""
    tmp = f"/tmp/swesrl-rerank-{uuid.uuid4().hex}"
    sandbox.write_file(f"{tmp}.py", script)
    apply = ""
    if patch:
        sandbox.write_file(f"{tmp}.patch", patch)
        apply = f"git apply --whitespace=nowarn {tmp}.patch || {{ echo 'PATCH DOES NOT APPLY'; exit 1; }}\n"
    # From stdin, so the root is on sys.path. -B: no bytecode is written, since candidates of the same
    # size applied within one second would otherwise run a stale .pyc (its check is mtime + size).
    r = sandbox.exec(f"{apply}python -B - < {tmp}.py", timeout, workdir=workdir)
    sandbox.exec(f"rm -f {tmp}.py {tmp}.patch; {RESET}", timeout, workdir=workdir)
    if r.timed_out:
        return -9, r.output
    return (-1 if r.exit_code and r.output.rstrip().endswith("PATCH DOES NOT APPLY") else r.exit_code), r.output


def rerank(sandbox: Sandbox, patches: list[str], scripts: list[str | None], *, workdir: str, timeout: float) -> Ranking:
    """Pick one of ``patches`` (one per sample) with the reproduction ``scripts`` (None: unparseable)."""
    votes = [patches.count(p) if p else 0 for p in patches]
    scores: list[int | None] = [None] * len(patches)
    tests = [TestResult(i, error=None if s else "no script in the answer") for i, s in enumerate(scripts)]
    distinct = [i for i, p in enumerate(patches) if p and patches.index(p) == i]
    if len(distinct) <= 1:
        chosen = distinct[0] if distinct else 0
        return Ranking(chosen, scores, votes, tests, "one distinct patch: nothing to rerank" if distinct else "no sample made a patch")
    sandbox.exec(RESET, timeout, workdir=workdir)
    for t in tests:
        script = scripts[t.index]
        if script is None:
            continue
        t.base_exit, _ = _run(sandbox, script, "", workdir, timeout)
        if t.base_exit == 0:
            t.error = "passes on the unchanged repository: does not reproduce the issue"
        elif t.base_exit == -9:
            t.error = "timed out on the unchanged repository"
    usable = [t for t in tests if t.error is None]
    for i in distinct:
        score = 0
        for t in usable:
            code, _ = _run(sandbox, scripts[t.index] or "", patches[i], workdir, timeout)
            if code == -1:
                score = -1  # the patch does not apply: never chosen over one that does
                break
            if code == 0:
                score += 1
                t.passed_by.append(i)
        for j, p in enumerate(patches):
            if p == patches[i] and usable:
                scores[j] = score
    ranked = [i for i in range(len(patches)) if patches[i]]
    chosen = max(ranked, key=lambda i: (scores[i] if scores[i] is not None else -1, votes[i], -i))
    note = (f"{len(usable)} of {len(tests)} reproduction scripts fail on the unchanged repository; "
            f"sample {chosen} passes {scores[chosen] if scores[chosen] is not None else 0}, {votes[chosen]} sample(s) agree")
    return Ranking(chosen, scores, votes, tests, note)
