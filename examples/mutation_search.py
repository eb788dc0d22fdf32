"""Find one-line bugs that a project's own tests catch (for make_mutation_runs.py).

For each public function of a bundled project, in source order, the lines of its body are mutated
one operator at a time (a flipped comparison, ``and``/``or``, an off-by-one, a dropped ``not``, a
swapped boolean return, ...). The first mutant whose selected tests fail, while all of them pass on
the pristine tree, is kept; its FAIL_TO_PASS are the tests that failed (read from pytest's own
summary by swebench's parser). Then a call that shows the bug is taken from the failing tests: every
``<module>.<name>(...)`` call in their source is evaluated on both trees, and the first whose result
differs (the target function's calls first) becomes the issue's example.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from make_tasks import statuses, test_log  # beside this script

# (pattern, replacement, what the bug is): applied to the first match in a line.
OPERATORS: tuple[tuple[str, str, str], ...] = (
    (r" <= ", " < ", "comparison"), (r" < ", " <= ", "comparison"),
    (r" >= ", " > ", "comparison"), (r" > ", " >= ", "comparison"),
    (r" == ", " != ", "comparison"), (r" != ", " == ", "comparison"),
    (r" is not None", " is None", "comparison"), (r" is None", " is not None", "comparison"),
    (r" and ", " or ", "boolean operator"), (r" or ", " and ", "boolean operator"),
    (r"\bnot ", "", "dropped negation"),
    (r" \+ 1\b", " - 1", "off-by-one"), (r" - 1\b", " + 1", "off-by-one"),
    (r"\+= ", "-= ", "wrong operator"), (r"-= ", "+= ", "wrong operator"),
    (r"\[1:\]", "[2:]", "off-by-one"), (r"\[:-1\]", "[:-2]", "off-by-one"),
    (r"\.lower\(\)", ".upper()", "wrong case"), (r"\.upper\(\)", ".lower()", "wrong case"),
    (r"\bmin\(", "max(", "wrong function"), (r"\bmax\(", "min(", "wrong function"),
    (r"\bTrue\b", "False", "wrong value"), (r"\bFalse\b", "True", "wrong value"),
)
MAX_TRIES = 6  # mutants tried per function before moving on
TEST_TIMEOUT = 30  # seconds: a mutant can loop forever


@dataclass(frozen=True)
class Module:
    """One source file of a bundled project and the test file that covers it."""

    source: str  # path in the sdist
    test_file: str
    import_line: str  # how its tests import it, so their calls evaluate as written
    prefix: str  # the name calls go through: mi.divide(...) -> "mi"
    exclude: tuple[str, ...]  # held-out tasks' functions and the training tasks' ones
    avoid: tuple[str, ...] = ()  # text no example call may hold (the held-out tasks' inputs)
    by_name: bool = True  # select tests with -k <function> (else: the whole test file)
    methods: bool = False  # also mutate methods of top-level classes


@dataclass
class Mutation:
    function: str
    path: str
    lineno: int
    original: str  # the whole line
    mutated: str
    kind: str
    span: tuple[int, int]  # the function's first and last line
    keyword: str | None  # pytest -k expression, None for the whole file
    fail_to_pass: list[str]
    pass_to_pass: list[str]


@dataclass
class Example:
    """A call that shows the bug: its expression (after the test's own setup statements), and the
    repr (or exception) on each tree."""

    setup: list[str]  # the test's assignments the call needs, in order
    expr: str
    expected: str
    actual: str
    raised: bool  # the mutant raises instead of returning
    iterator: bool  # the result is an iterator (shown through list())


def functions(tree: ast.Module, module: Module) -> list[tuple[str, ast.FunctionDef]]:
    """Public functions (and methods, where asked) in source order, exclusions dropped."""
    out: list[tuple[str, ast.FunctionDef]] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            out.append((node.name, node))
        elif isinstance(node, ast.ClassDef) and module.methods and node.name not in module.exclude:
            out += [(f.name, f) for f in node.body if isinstance(f, ast.FunctionDef)
                    and not (f.name.startswith("__") and f.name != "__call__")]
    return [(name, f) for name, f in out if name not in module.exclude]


def _strings(source: str) -> list[str]:
    return [n.value for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def mutants(source: str, fn: ast.FunctionDef) -> list[tuple[int, str, str]]:
    """(line number, mutated line, kind) for the function's body lines, in order; each one parses,
    changes code rather than a string, and leaves the mutated line unique in the file."""
    lines = source.splitlines(keepends=True)
    body = fn.body[1:] if ast.get_docstring(fn) is not None else fn.body
    if not body:
        return []
    strings, out = _strings(source), []
    for lineno in range(body[0].lineno, fn.end_lineno + 1):
        line = lines[lineno - 1]
        if not line.strip() or line.strip().startswith("#"):
            continue
        for pattern, replacement, kind in OPERATORS:
            new = re.sub(pattern, replacement, line, count=1)
            if new == line or source.count(new) != 0:
                continue
            mutated = "".join(lines[:lineno - 1] + [new] + lines[lineno:])
            try:
                if _strings(mutated) != strings:
                    continue
            except SyntaxError:
                continue
            out.append((lineno, new, kind))
    return out


def keyword(name: str) -> str:
    """The -k expression: test names hold the function's name, classes its CamelCase form (matching
    ignores case)."""
    camel = name.replace("_", "")
    return name if camel == name else f"{name} or {camel}"


def _run_tests(python: Path, tree: Path, test_cmd: str, module: Module, kw: str | None) -> dict[str, str]:
    cmd = f"timeout {TEST_TIMEOUT} {test_cmd}" + (f" -k '{kw}'" if kw else "")
    return statuses(test_log(python, tree, cmd, [module.test_file]))


def find(python: Path, tree: Path, module: Module, test_cmd: str, tried: Counter[str]) -> Iterator[Mutation]:
    """The first caught mutation of each candidate function of `module` in the pristine `tree`, in
    source order (the tree is pristine again at each yield); counts the mutants run in `tried`."""
    path = tree / module.source
    source = path.read_text(encoding="utf-8")
    seen: set[str] = set()
    pristine_runs: dict[str | None, dict[str, str]] = {}
    for name, fn in functions(ast.parse(source), module):
        if name in seen:
            continue  # a method of the same name as one already mutated
        candidates = mutants(source, fn)
        if not candidates:
            continue
        kw = keyword(name) if module.by_name else None
        if kw not in pristine_runs:
            pristine_runs[kw] = _run_tests(python, tree, test_cmd, module, kw)
        pristine = pristine_runs[kw]
        if not pristine or any(s in ("FAILED", "ERROR") for s in pristine.values()):
            continue  # no selected test, or the pristine tree already fails some
        for lineno, new, kind in candidates[:MAX_TRIES]:
            lines = source.splitlines(keepends=True)
            old = lines[lineno - 1]
            path.write_text("".join(lines[:lineno - 1] + [new] + lines[lineno:]), encoding="utf-8")
            tried["tried"] += 1
            try:
                after = _run_tests(python, tree, test_cmd, module, kw)
            finally:
                path.write_text(source, encoding="utf-8")
            f2p = sorted(t for t in pristine if after.get(t) in ("FAILED", "ERROR"))
            if f2p:
                p2p = sorted(t for t in pristine if after.get(t) == "PASSED")
                seen.add(name)
                yield Mutation(name, module.source, lineno, old, new, kind, (fn.lineno, fn.end_lineno), kw, f2p, p2p)
                break


_EVAL = r"""
import json, signal, sys, traceback
from itertools import islice
signal.signal(signal.SIGALRM, lambda *a: (_ for _ in ()).throw(TimeoutError("took too long")))
IMPORT = sys.argv[1]
exec(IMPORT)
out = []
for setup, expr in json.load(sys.stdin):
    signal.alarm(2)
    try:
        ns = {}
        exec(IMPORT, ns)
        for statement in setup:
            exec(statement, ns)
        value = eval(expr, ns)
        iterator = iter(value) is value if hasattr(value, "__iter__") else False
        if iterator:
            value = list(islice(value, 200))
            if len(value) == 200:
                raise TimeoutError("endless")
        out.append([repr(value), False, iterator, []])
    except BaseException as e:  # noqa: BLE001 - any failure is a result here
        frames = [f.name for f in traceback.extract_tb(e.__traceback__)]
        out.append([f"{type(e).__name__}: {e}", True, False, frames])
    finally:
        signal.alarm(0)
print(json.dumps(out))
"""


def _evaluate(python: Path, tree: Path, module: Module, exprs: list[tuple[list[str], str]],
              ) -> list[tuple[str, bool, bool, list[str]]]:
    proc = subprocess.run([str(python), "-c", _EVAL, module.import_line], cwd=tree, input=json.dumps(exprs),
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"evaluating calls in {tree} failed:\n{proc.stderr[-2000:]}")
    return [tuple(r) for r in json.loads(proc.stdout)]  # type: ignore[misc]


def _setup(test_src: str, test: ast.FunctionDef, call: ast.Call) -> list[str] | None:
    """The one-line assignments of the test body before `call` that it needs (transitively), or None
    when a needed name comes from elsewhere."""
    assigns = [st for st in test.body if isinstance(st, ast.Assign) and st.end_lineno == st.lineno
               and st.lineno < call.lineno and all(isinstance(t, ast.Name) for t in st.targets)]
    needed = {n.id for n in ast.walk(call) if isinstance(n, ast.Name)}
    chosen: list[ast.Assign] = []
    for st in reversed(assigns):
        if {t.id for t in st.targets} & needed:  # type: ignore[attr-defined]
            chosen.insert(0, st)
            needed |= {n.id for n in ast.walk(st.value) if isinstance(n, ast.Name)}
    if "self" in needed:
        return None
    return [ast.get_source_segment(test_src, st) or "" for st in chosen]


def calls_in_tests(tree: Path, module: Module, mutation: Mutation) -> list[tuple[list[str], str]]:
    """Every `<prefix>.<name>(...)` call in the failing tests' source with the setup it needs, the
    target function's calls first."""
    test_src = (tree / module.test_file).read_text(encoding="utf-8")
    wanted = {t.split("::")[-1].split("[")[0] for t in mutation.fail_to_pass}
    found: list[tuple[list[str], str]] = []
    for node in ast.walk(ast.parse(test_src)):
        if isinstance(node, ast.FunctionDef) and node.name in wanted:
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and isinstance(call.func.value, ast.Name) and call.func.value.id == module.prefix):
                    text, setup = ast.get_source_segment(test_src, call), _setup(test_src, node, call)
                    if (text and setup is not None and "\n" not in text + "".join(setup)
                            and len(text + "".join(setup)) <= 160 and (setup, text) not in found):
                        found.append((setup, text))
    own = f"{module.prefix}.{mutation.function}("
    return sorted(found, key=lambda c: not c[1].startswith(own))


def example(python: Path, pristine: Path, mutant: Path, module: Module, mutation: Mutation) -> Example | None:
    """The first call from the failing tests whose result differs between the trees (None if none does)."""
    calls = calls_in_tests(pristine, module, mutation)
    if not calls:
        return None
    good = _evaluate(python, pristine, module, calls)
    bad = _evaluate(python, mutant, module, calls)
    own = f"{module.prefix}.{mutation.function}("
    for (setup, expr), (expected, failed, iterator, _), (actual, raised, _, frames) in zip(calls, good, bad, strict=True):
        shows = expr.startswith(own) or (raised and mutation.function in frames)  # the issue leads to the code
        text = expr + "".join(setup)
        if (shows and not failed and not any(a in text for a in module.avoid) and actual != expected
                and " at 0x" not in expected + actual and not actual.startswith(("NameError", "TimeoutError"))):
            return Example(setup, expr, expected, actual, raised, iterator)
    return None
