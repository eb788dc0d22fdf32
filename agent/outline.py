"""Function-level localization, for localized files too long for the repair prompt (Agentless's
second localization step; the SWE-RL paper's Agentless-mini stops at files).

Such a file is shown to the model as an outline (each class and function definition, with its
first line number); the model names the definitions it needs, and the repair prompt shows those
definitions' text (a few lines of context around each, the elided lines marked) instead of the
file's middle cut away blindly. A file that is not Python, or an answer naming nothing in it,
keeps the plain middle cut.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from swesrl.trajectories.context import Message

from .localize import prompt_template

_FENCE_RE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class Definition:
    qualname: str  # Class.method for methods
    start: int  # first line (decorators included), 1-based
    end: int
    line: str  # the def/class line as written, indentation kept


def definitions(source: str) -> list[Definition] | None:
    """The file's classes, functions and methods in order; None when it is not parseable Python."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    lines = source.splitlines()
    out: list[Definition] = []

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([d.lineno for d in node.decorator_list] + [node.lineno])
                out.append(Definition(prefix + node.name, start, node.end_lineno or node.lineno, lines[node.lineno - 1].rstrip()))
                if isinstance(node, ast.ClassDef):
                    walk(node.body, f"{prefix}{node.name}.")

    walk(tree.body, "")
    return out


def outline_messages(problem_statement: str, outlines: dict[str, list[Definition]]) -> list[Message]:
    text = "\n\n".join(f"### {path}\n" + "\n".join(f"{d.start}: {d.line}" for d in defs) for path, defs in outlines.items())
    user = prompt_template("localize_functions_user.md").format(problem_statement=problem_statement.strip(), outlines=text)
    return [{"role": "system", "content": prompt_template("localize_functions_system.md")}, {"role": "user", "content": user}]


def parse_definitions(answer: str, outlines: dict[str, list[Definition]]) -> dict[str, list[Definition]]:
    """The definitions the answer names, per file (qualified names, as whole words)."""
    body = answer.rpartition("</think>")[2] if "</think>" in answer else answer
    blocks = _FENCE_RE.findall(body)
    text = "\n".join(blocks) if blocks else body
    chosen = {}
    for path, defs in outlines.items():
        named = [d for d in defs if re.search(rf"(?<![\w.]){re.escape(d.qualname)}(?!\.?\w)", text)]
        if named:
            chosen[path] = named
    return chosen


def excerpt(source: str, named: list[Definition], context: int = 5) -> str:
    """The named definitions' lines (with ``context`` lines around each); elided lines are marked."""
    lines = source.splitlines(keepends=True)
    spans: list[list[int]] = []
    for d in sorted(named, key=lambda d: d.start):
        a, b = max(1, d.start - context), min(len(lines), d.end + context)
        if spans and a <= spans[-1][1] + 1:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    parts, shown_to = [], 0
    for a, b in spans:
        if a > shown_to + 1:
            parts.append(f"[... lines {shown_to + 1}-{a - 1} not shown ...]\n")
        parts.append("".join(lines[a - 1 : b]))
        shown_to = b
    if shown_to < len(lines):
        parts.append(f"[... lines {shown_to + 1}-{len(lines)} not shown ...]\n")
    return "".join(parts)
