"""Regenerate examples/training/mutation_runs.jsonl: expert runs on many small injected bugs (SWE-smith
style), for training only, so a model sees many distinct tasks instead of memorizing five.

Each task is one bundled project's pinned sdist with one source line mutated in one public function
(mutation_search.py: the first mutation the project's own tests catch; FAIL_TO_PASS measured). The
held-out tasks' code and the functions the training tasks already use are never mutated. The issue
text shows a call taken from a failing test with its real result on both trees. The expert run
(locate, reproduce, view, fix, rerun, test, submit) plus the first variants of expert_run_variants.py
are recorded for real at /testbed by make_expert_runs.record, which also checks that each resolves
its task. These tasks are not in tasks/tasks.jsonl and are not evaluated in Docker.

With --heldout it writes examples/training/heldout_mutation_runs.jsonl instead: tasks for evaluation
only, from functions no training run touches (the ones in mutation_runs.jsonl excluded too), one run
each (variants of one run are correlated rows), up to HELDOUT_PER_MODULE per source file.

    sudo nice -n 19 python examples/make_mutation_runs.py   # needs PyPI once; creates and removes /testbed
    sudo nice -n 19 python examples/make_mutation_runs.py --heldout
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from expert_run_variants import variants  # beside this script
from make_expert_runs import TESTBED, TRAINING, Run, record, write_runs
from make_tasks import VENVS, diff, git, venv
from mutation_search import Example, Module, Mutation, example, find
from task_specs import FLIT, INSTALL, PYTEST, SETUPTOOLS

from swesrl.sandbox.images import RepoSource, prepare_repo
from swesrl.trajectories.actions import Bash, StrReplace, Submit, View

OUT = TRAINING / "mutation_runs.jsonl"
RUNS_PER_TASK = 3  # the hand-templated run and the first two variants
PER_MODULE = 15  # tasks per source file at most (the first functions in source order): generation time
HELDOUT_OUT = TRAINING / "heldout_mutation_runs.jsonl"  # --heldout: one run per task, never trained on
HELDOUT_PER_MODULE = 25  # --heldout: enough tasks to tell training recipes apart, not hours of generation
# The held-out tasks' code: no run may touch it (humanize/titleize, parse's integer conversion).
HELDOUT_CODE = ("humanize", "titleize", "int_convert", "_handle_field")
TRAINING_CODE = ("ordinal", "ordinalize", "parameterize", "date_convert", "divide", "windowed")


class Project:
    def __init__(self, repo: str, dist: str, version: str, test_cmd: str, packages: list[str], modules: list[Module]):
        self.repo, self.dist, self.version, self.test_cmd = repo, dist, version, test_cmd
        self.packages, self.modules = packages, modules
        self.name = dist.split("==")[0]


_EXCLUDE = HELDOUT_CODE + TRAINING_CODE
PROJECTS = [
    Project("jpvanhal/inflection", "inflection==0.5.1", "0.5", "pytest -rA", PYTEST + SETUPTOOLS,
            [Module("inflection/__init__.py", "test_inflection.py", "import inflection", "inflection", _EXCLUDE,
                    avoid=("humanize", "titleize"))]),
    Project("r1chardj0n3s/parse", "parse==1.22.4", "1.22", "pytest -rA -o addopts=", PYTEST + SETUPTOOLS,
            [Module("parse/__init__.py", "tests/test_parse.py", "import parse", "parse", _EXCLUDE,
                    avoid=(":d}", "0x", "{:n}", ":tt}", ":tg}"), by_name=False, methods=True)]),
    Project("more-itertools/more-itertools", "more-itertools==11.2.1", "11.2", "pytest -rA", PYTEST + FLIT,
            [Module("more_itertools/more.py", "tests/test_more.py", "import more_itertools as mi", "mi", _EXCLUDE),
             Module("more_itertools/recipes.py", "tests/test_recipes.py", "import more_itertools as mi", "mi",
                    _EXCLUDE)]),
]

TITLES = (
    "{fn}() returns a wrong result",
    "Wrong output from {fn}()",
    "{fn}() gives {actual} for {expr}",
    "Unexpected result from {prefix}.{fn}",
)
OPENERS = (
    "Calling `{fn}` on a simple input gives a result that does not match what it is documented to do:",
    "I ran into this while using `{fn}` in a small script:",
    "`{fn}` misbehaves on the following input:",
    "This looks like a regression in `{fn}`:",
)
RAISE_TITLES = ("{fn}() raises {exc} on valid input", "{fn}() crashes with {exc}")


def shown(ex: Example) -> str:
    return f"list({ex.expr})" if ex.iterator else ex.expr


def callee(ex: Example) -> str:
    return ex.expr.split("(")[0].split(".")[-1]


def issue(k: int, project: Project, module: Module, m: Mutation, ex: Example) -> str:
    """The issue text, one of several phrasings chosen by the task's index."""
    exc, fn = ex.actual.split(":")[0], callee(ex)
    title = (RAISE_TITLES[k % len(RAISE_TITLES)].format(fn=fn, exc=exc) if ex.raised else
             TITLES[k % len(TITLES)].format(fn=fn, prefix=module.prefix, expr=f"`{shown(ex)}`",
                                            actual=f"`{ex.actual}`" if len(ex.actual) < 40 else "a wrong value"))
    if title.endswith(")") and len(title) > 110:
        title = TITLES[0].format(fn=fn)
    got = f"Traceback (most recent call last):\n  ...\n{ex.actual}" if ex.raised else ex.actual
    session = "".join(f">>> {line}\n" for line in [module.import_line, *ex.setup, shown(ex)])
    return (f"{title}\n\n{OPENERS[k % len(OPENERS)].format(fn=fn)}\n\n"
            f"```python\n{session}{got}\n```\n\n"
            f"Expected: `{ex.expected}`.\n\n{project.name} {project.dist.split('==')[1]}, Python 3.11.\n")


def _python_c(code: str) -> str:
    if any(c in code for c in '"$`\\'):
        return "python -c '" + code.replace("'", "'\"'\"'") + "'"
    return f'python -c "{code}"'


EXPLAIN = {
    "comparison": "the condition on line {n} compares the wrong way: `{bad}` should be `{good}`",
    "boolean operator": "line {n} combines its conditions with the wrong operator: `{bad}` should be `{good}`",
    "dropped negation": "line {n} tests the opposite of what it should: `{bad}` is missing its `not`",
    "off-by-one": "line {n} is off by one: `{bad}` should be `{good}`",
    "wrong return value": "line {n} returns the wrong value: `{bad}` should be `{good}`",
    "wrong operator": "line {n} updates the value in the wrong direction: `{bad}` should be `{good}`",
    "wrong case": "line {n} converts to the wrong case: `{bad}` should be `{good}`",
    "wrong function": "line {n} takes the wrong bound: `{bad}` should be `{good}`",
    "wrong value": "line {n} passes the wrong flag: `{bad}` should be `{good}`",
}

def expert_run(project: Project, module: Module, m: Mutation, ex: Example) -> Run:
    path = f"/testbed/{m.path}"
    code = "; ".join([module.import_line, *ex.setup, f"print({shown(ex)})"])
    reproduce = Bash(f"cd /testbed && {_python_c(code)}")
    start, end = m.span
    if end - start > 45:
        start, end = max(start, m.lineno - 25), min(end, m.lineno + 15)
    tests = f"cd /testbed && python -m pytest -q{' -o addopts=' if 'addopts' in project.test_cmd else ''} {module.test_file}"
    if m.keyword:
        tests += f" -k '{m.keyword}'"
    bad, good = m.mutated.strip(), m.original.strip()
    why = EXPLAIN[m.kind].format(n=m.lineno, bad=bad, good=good)
    result = "raises " + ex.actual.split(":")[0] if ex.raised else f"returns {ex.actual}"
    if callee(ex) == m.function:
        opening: Run = [
            (f"The issue says `{shown(ex)}` {result} instead of {ex.expected}. I'll start by finding where "
             f"`{m.function}` is defined.",
             Bash(f"grep -n 'def {m.function}' {path}")),
            (f"It is in {m.path}. Before reading it I'll reproduce the report with the call from the issue.",
             reproduce)]
    else:  # the traceback names the function that goes wrong
        opening = [
            (f"The issue says `{shown(ex)}` {result}. I'll reproduce it first to see the traceback.", reproduce),
            (f"The traceback goes through `{m.function}`; let me find where it is defined.",
             Bash(f"grep -n 'def {m.function}' {path}"))]
    return [
        *opening,
        (f"Reproduced: the call {result}. Let me read `{m.function}` around the logic that produces it.",
         View(path, (start, end))),
        (f"Reading the function, {why}. That explains the wrong result in the report, so I'll fix that line.",
         StrReplace(path, m.mutated.rstrip("\n"), m.original.rstrip("\n"))),
        ("Now I'll rerun the reproducer; it should print the expected value from the issue.", reproduce),
        (f"It prints {ex.expected} now. Next the existing tests for `{m.function}`, to make sure nothing else "
         "depends on the old behaviour.",
         Bash(tests)),
        (f"The one-line fix restores the intended behaviour of `{m.function}` and the tests pass. Submitting.",
         Submit()),
    ]


def task(project: Project, module: Module, m: Mutation, bug_patch: str, base_commit: str, statement: str) -> dict:
    """What make_expert_runs.record and check_resolves read: FAIL_TO_PASS must pass after the fix."""
    kw = f" -k '{m.keyword}'" if m.keyword else ""
    return {
        "instance_id": f"{project.repo.replace('/', '__')}-mut-{m.function}", "repo": project.repo,
        "base_commit": base_commit, "problem_statement": statement, "test_patch": "",
        "test_cmd": f"{project.test_cmd}{kw} {module.test_file}",
        "FAIL_TO_PASS": json.dumps(m.fail_to_pass), "PASS_TO_PASS": json.dumps(m.pass_to_pass),
        "environment": {"python_packages": project.packages, "install_commands": [INSTALL],
                        "repo": {"kind": "sdist", "location": project.dist, "commit": None, "patch": bug_patch,
                                 "subdir": None}},
    }


def main() -> None:
    heldout = "--heldout" in sys.argv[1:]
    out, runs_per_task, per_module = (HELDOUT_OUT, 1, HELDOUT_PER_MODULE) if heldout else (OUT, RUNS_PER_TASK, PER_MODULE)
    trained = tuple(json.loads(line)["metadata"]["mutation"]["function"]
                    for line in OUT.read_text(encoding="utf-8").splitlines()) if heldout else ()
    started, runs, tried = time.perf_counter(), [], Counter()
    per_project: Counter[str] = Counter()
    k = 0
    for project in PROJECTS:
        python = venv(project.packages, VENVS / "-".join(sorted(p.split("==")[0] for p in project.packages)))
        with tempfile.TemporaryDirectory() as tmp:
            pristine, mutant = Path(tmp) / "pristine", Path(tmp) / "mutant"
            prepare_repo(RepoSource("sdist", project.dist), pristine)
            prepare_repo(RepoSource("sdist", project.dist), mutant)
            for module in project.modules:
                module, kept = replace(module, exclude=module.exclude + trained), 0
                for m in find(python, pristine, module, project.test_cmd, tried):
                    if kept == per_module:
                        break
                    tried["caught"] += 1
                    lines = (mutant / m.path).read_text(encoding="utf-8").splitlines(keepends=True)
                    lines[m.lineno - 1] = m.mutated
                    (mutant / m.path).write_text("".join(lines), encoding="utf-8")
                    ex = example(python, pristine, mutant, module, m)
                    # Held out: the issue's call must give the same results again (not a random function's).
                    steady = not heldout or ex == example(python, pristine, mutant, module, m)
                    bug_patch = diff(mutant)
                    git(mutant, "checkout", "-q", "--", ".")
                    if ex is None or not steady:
                        print(f"{project.name} {m.function}: caught, but "
                              + ("no call in the failing tests shows it" if ex is None else "its call is random"))
                        continue
                    with tempfile.TemporaryDirectory() as base:
                        base_commit = prepare_repo(RepoSource("sdist", project.dist, patch=bug_patch), Path(base) / "t")
                    t = task(project, module, m, bug_patch, base_commit, issue(k, project, module, m, ex))
                    recorded = []
                    for v, run in enumerate(variants(expert_run(project, module, m, ex))[:runs_per_task]):
                        try:
                            traj = record(t, run, v)
                        except SystemExit as e:  # one bad task never kills the batch
                            print(f"{t['instance_id']}: skipped: {e}")
                            shutil.rmtree(TESTBED, ignore_errors=True)
                            break
                        traj.source_path = f"examples/training/{out.name}"
                        traj.metadata.update({
                            "generated_by": "examples/make_mutation_runs.py", "bug_patch": bug_patch,
                            "mutation": {"function": m.function, "path": m.path, "line": m.lineno, "kind": m.kind,
                                         "original": m.original, "mutated": m.mutated},
                            "FAIL_TO_PASS": m.fail_to_pass})
                        recorded.append(traj)
                    else:
                        runs += recorded
                        k, kept = k + 1, kept + 1
                        write_runs(out, runs)  # after each task: an interrupted run keeps what it made
                        per_project[project.name] += 1
                        print(f"{t['instance_id']}: line {m.lineno} {m.kind}, FAIL_TO_PASS {len(m.fail_to_pass)}, "
                              f"{shown(ex)} -> {ex.actual[:50]} (expected {ex.expected[:50]})", flush=True)
    write_runs(out, runs)
    kinds = Counter(type(s.action).__name__ for r in runs for s in r.steps)
    print(f"tasks: {dict(per_project)} ({k} in all; mutants tried {tried['tried']}, caught {tried['caught']}), runs: {len(runs)}, "
          f"steps: {sum(len(r.steps) for r in runs)} {dict(kinds)}, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
