"""SEARCH/REPLACE file edits, the single-shot "oracle file edit" protocol (srl-method.md section 5).

The model sees the issue and the full text of the files the gold patch touches, and answers with
SEARCH/REPLACE edits (Agentless format). The agent's oracle mode runs the edits in a sandbox; RLVR
training turns them into a patch with no sandbox at all. Both take the prompt and the parser from
here, so a model is trained on the format it is evaluated with.

``apply_edits`` follows the agent editor's ``str_replace``/``create`` rules (SEARCH must occur exactly
once; an empty SEARCH creates a file that does not exist; an edit that cannot apply is skipped and
reported, the others still apply), so an answer gives the same patch in both places.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from unidiff import PatchSet

from .context import Message, template

# Repository-relative path -> the file's text at the base commit; None: the file does not exist yet.
Files = Mapping[str, str | None]

_EDIT_RE = re.compile(r"<<<<<<< SEARCH\n(.*?)=======\n(.*?)>>>>>>> REPLACE", re.DOTALL)
_PATH_RE = re.compile(r"^###\s*(\S+)\s*$", re.MULTILINE)
_THINK_RE = re.compile(r"<think>(.*?)</think>", re.DOTALL)


@dataclass(frozen=True)
class SearchReplace:
    """Replace the one occurrence of ``search`` in ``path`` (repository-relative) by ``replace``;
    an empty ``search`` creates the file with ``replace`` as its text."""

    path: str
    search: str
    replace: str


@dataclass(frozen=True)
class Applied:
    """The files after the edits that applied, and why the others did not (one message per edit)."""

    files: dict[str, str | None]
    applied: int
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EditPatch:
    """What an answer comes to: its thought, its edits, which failed, and the unified diff ("" if none)."""

    thought: str
    edits: list[SearchReplace]
    errors: list[str]
    patch: str


def oracle_messages(problem_statement: str, files: Files) -> list[Message]:
    """System prompt + the issue and every file's full text (a file that does not exist shows empty)."""
    shown = "\n\n".join(f"### {path}\n```\n{text or ''}\n```" for path, text in files.items())
    user = template("oracle_user.md").format(problem_statement=problem_statement.strip(), files=shown)
    return [{"role": "system", "content": template("oracle_system.md")}, {"role": "user", "content": user}]


def _chomp(text: str) -> str:
    return text[:-1] if text.endswith("\n") else text


def normalize_path(path: str) -> str:
    """``/a.py``, ``./a.py`` and ``a.py`` name the same repository file."""
    return posixpath.normpath(path.lstrip("/"))


def parse_search_replace(answer: str) -> tuple[str, list[SearchReplace]]:
    """(thought, edits). Each block's file is the nearest ``### path`` line above it; a block with no
    such line is ignored. An answer with no block gives no edits (the caller decides what that costs)."""
    m = _THINK_RE.search(answer)
    thought = m.group(1).strip() if m else ""
    edits = []
    for block in _EDIT_RE.finditer(answer):
        paths = _PATH_RE.findall(answer, 0, block.start())
        if paths:
            edits.append(SearchReplace(normalize_path(paths[-1]), _chomp(block.group(1)), _chomp(block.group(2))))
    return thought, edits


def render_search_replace(edits: Iterable[SearchReplace]) -> str:
    """The edits as the model writes them; ``parse_search_replace`` reads them back unchanged."""
    blocks = []
    for e in edits:
        search = f"{e.search}\n" if e.search else ""
        blocks.append(f"### {e.path}\n<<<<<<< SEARCH\n{search}=======\n{e.replace}\n>>>>>>> REPLACE\n")
    return "\n".join(blocks)


def _patch_files(patch: str) -> PatchSet:
    return PatchSet(patch.replace("\r\n", "\n"))


def _repo_path(path: str) -> str:
    return path[2:] if path.startswith(("a/", "b/")) else path


def gold_files(patch: str) -> list[str]:
    """Repository-relative paths the gold patch changes (the target path of renamed and added files)."""
    return [_repo_path(f.target_file if f.is_added_file else f.source_file) for f in _patch_files(patch)]


def patch_to_edits(patch: str) -> list[SearchReplace]:
    """A unified diff as SEARCH/REPLACE edits, one per hunk (its context and removed lines -> its
    context and added lines): the gold answer for a task. Deleting a file has no such edit."""
    edits = []
    for f in _patch_files(patch):
        if f.is_removed_file:
            raise ValueError(f"{f.source_file}: the patch deletes this file; SEARCH/REPLACE edits cannot delete files")
        path = _repo_path(f.target_file if f.is_added_file else f.source_file)
        for hunk in f:
            old = "".join(line.value for line in hunk if not line.is_added)
            new = "".join(line.value for line in hunk if not line.is_removed)
            edits.append(SearchReplace(path, "" if f.is_added_file else _chomp(old), _chomp(new)))
    return edits


def apply_edits(files: Files, edits: Iterable[SearchReplace]) -> Applied:
    """Apply the edits in order to a copy of ``files``; an edit that cannot apply is skipped with a
    message (the agent's editor would show the model the same error), the rest still apply."""
    out: dict[str, str | None] = dict(files)
    errors: list[str] = []
    applied = 0
    for i, e in enumerate(edits, 1):
        where = f"edit {i} ({e.path})"
        if e.path not in out:
            errors.append(f"{where}: not one of the files shown ({', '.join(out) or 'none'})")
            continue
        text = out[e.path]
        if not e.search:
            if text is not None:
                errors.append(f"{where}: empty SEARCH creates a file, but {e.path} already exists")
                continue
            out[e.path] = e.replace + "\n"
        elif text is None:
            errors.append(f"{where}: {e.path} does not exist; an empty SEARCH creates it")
            continue
        else:
            count = text.count(e.search)
            if count != 1:
                errors.append(f"{where}: SEARCH occurs {count} times in {e.path}; it must occur exactly once")
                continue
            at = text.index(e.search)
            out[e.path] = text[:at] + e.replace + text[at + len(e.search) :]
        applied += 1
    return Applied(out, applied, errors)


def _diff_lines(old: str, new: str) -> list[str]:
    lines = list(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), n=3))[2:]
    return [line if line.endswith("\n") else f"{line}\n\\ No newline at end of file\n" for line in lines]


def unified_diff(before: Files, after: Files) -> str:
    """A git-style patch (``git apply`` and ``patch -p1`` take it) from ``before`` to ``after``, files
    in sorted order; new files get ``new file mode 100644``. "" when nothing changed."""
    out = []
    for path in sorted(after):
        old, new = before.get(path), after[path]
        if new is None or old == new:
            continue
        head = [f"diff --git a/{path} b/{path}\n"]
        head += ["new file mode 100644\n", "--- /dev/null\n"] if old is None else [f"--- a/{path}\n"]
        head.append(f"+++ b/{path}\n")
        out += head + _diff_lines(old or "", new)
    return "".join(out)


def answer_patch(answer: str, files: Files) -> EditPatch:
    """The patch an answer makes to ``files`` (the texts it was shown), as the oracle agent would."""
    thought, edits = parse_search_replace(answer)
    applied = apply_edits(files, edits)
    return EditPatch(thought, edits, applied.errors, unified_diff(files, applied.files))
