"""Regenerate examples/trajectories/expert_runs.jsonl (one expert run per bundled task) and the training
runs in examples/training/ (each run plus its variants from expert_run_variants.py, whole tasks held out).

The thoughts and actions below were written by hand, the way a careful engineer would fix each
issue with the agent's tools. The observations are not written: each task's buggy tree is laid out
at /testbed exactly as the sandbox lays it out (``prepare_repo``: the sdist from PyPI, the bug
patch, the fixed-identity base commit), installed into a plain venv with the task's pinned packages,
and every action is run there through the agent's own tools (``swesrl.agent.tools.execute``), so
the observations are the real outputs in the format the agent sees. After the run, the task's test
patch is applied and FAIL_TO_PASS / PASS_TO_PASS must pass, or the script stops.

    sudo python examples/make_expert_runs.py                  # writes /testbed (must not exist), removes it after
    sudo python examples/make_expert_runs.py --training-only  # only examples/training/ (expert_runs.jsonl kept)

Needs PyPI once (sdists, pytest); takes a few minutes on two cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from expert_run_variants import variants  # beside this script
from make_tasks import VENVS, statuses, test_log, venv  # the task generator beside this script

from swesrl.agent.tools import Editor, execute
from swesrl.sandbox.base import ExecResult
from swesrl.sandbox.images import BASE_TAG, RepoSource, prepare_repo
from swesrl.trajectories.actions import Action, Bash, StrReplace, Submit, View
from swesrl.trajectories.schema import Step, Trajectory

HERE = Path(__file__).resolve().parent
TASKS = HERE / "tasks" / "tasks.jsonl"
OUT = HERE / "trajectories" / "expert_runs.jsonl"
TRAINING = HERE / "training"
# Whole tasks held out from training (one of inflection's three, one of parse's two): the quickstart
# measures SRL on their steps, which no model trained on.
HELDOUT = ("jpvanhal__inflection-3", "r1chardj0n3s__parse-2")
TESTBED = Path("/testbed")
INIT = "/testbed/inflection/__init__.py"
PARSE = "/testbed/parse/__init__.py"
MORE = "/testbed/more_itertools/more.py"

Run = list[tuple[str, Action]]

RUNS: dict[str, Run] = {
    "jpvanhal__inflection-1": [
        ("The issue says `ordinalize(13)` returns '13rd' while 11 and 12 are right. I'll start by finding where "
         "`ordinal` and `ordinalize` are defined in the package.",
         Bash("grep -rn 'def ordinal' /testbed --include=*.py")),
        ("Both live in inflection/__init__.py, and `ordinalize` presumably delegates the suffix to `ordinal`. "
         "Before reading the code I'll reproduce the report over a few numbers around the teens, including "
         "negative and larger ones.",
         Bash("cd /testbed && python -c \"import inflection; print([inflection.ordinalize(n) for n in "
              "(1, 2, 3, 11, 12, 13, 21, 23, 111, 113, -13, 1013)])\"")),
        ("Reproduced: 13, 113, -13 and 1013 all get 'rd', while 11, 12, 111 are right. So the special case for "
         "the teens misses 13. Let me read `ordinal`.",
         View(INIT, (204, 233))),
        ("The teens check only lists 11 and 12, so 13 falls through to the last-digit lookup and gets 'rd'. "
         "English uses 'th' for every number ending in 11, 12 or 13, so 13 belongs in the tuple.",
         StrReplace(INIT, "    if number % 100 in (11, 12):", "    if number % 100 in (11, 12, 13):")),
        ("Now I'll rerun the same reproducer to check that 13, 113, -13 and 1013 get 'th' and the other cases "
         "did not change.",
         Bash("cd /testbed && python -c \"import inflection; print([inflection.ordinalize(n) for n in "
              "(1, 2, 3, 11, 12, 13, 21, 23, 111, 113, -13, 1013)])\"")),
        ("All correct now. Finally the existing ordinal tests, to make sure nothing else regressed.",
         Bash("cd /testbed && python -m pytest -q test_inflection.py -k ordinal")),
        ("The fix is one missing value in the teens check, the reproducer gives the expected output and the "
         "ordinal tests pass. Submitting.",
         Submit()),
    ],
    "jpvanhal__inflection-2": [
        ("The issue: `parameterize` strips junk at the end of a string but leaves a separator at the start. "
         "First I'll locate the function.",
         Bash("grep -rn 'def parameterize' /testbed --include=*.py")),
        ("Let me reproduce it with the examples from the report: leading spaces, leading punctuation with a "
         "custom separator, and the trailing case that reportedly works.",
         Bash("cd /testbed && python -c \"import inflection as i; print(repr(i.parameterize('  Donald E. Knuth')), "
              "repr(i.parameterize('(draft) Release notes', '_')), repr(i.parameterize('Release notes (draft)')))\"")),
        ("Confirmed: a leading separator survives while a trailing one is removed. The function must have a "
         "cleanup step for the ends; let me read it.",
         View(INIT, (260, 282))),
        ("The 'remove leading/trailing separator' regex is only `{sep}$`, so it anchors at the end and never "
         "at the start. Adding the `^{sep}` alternative makes it strip both ends, as the comment intends.",
         StrReplace(INIT, "        string = re.sub(r\"(?i){sep}$\".format(sep=re_sep), '', string)",
                    "        string = re.sub(r\"(?i)^{sep}|{sep}$\".format(sep=re_sep), '', string)")),
        ("Rerun the reproducer, and also try a multi-character separator, since the separator is regex-escaped "
         "and the alternation must still work with it.",
         Bash("cd /testbed && python -c \"import inflection as i; print(repr(i.parameterize('  Donald E. Knuth')), "
              "repr(i.parameterize('(draft) Release notes', '_')), repr(i.parameterize('Release notes (draft)')), "
              "repr(i.parameterize('!!Donald E. Knuth', '--')))\"")),
        ("All four slugs are clean now. The existing parameterize tests cover separators and unicode input, "
         "so I'll run them.",
         Bash("cd /testbed && python -m pytest -q test_inflection.py -k parameterize")),
        ("Leading separators are stripped, trailing behaviour is unchanged and the tests pass. Submitting.",
         Submit()),
    ],
    "jpvanhal__inflection-3": [
        ("The report says `humanize` removes `_id` from the middle of names, although it should only strip "
         "a trailing `_id`. Let me see where the package handles `_id`.",
         Bash("grep -n '_id' /testbed/inflection/__init__.py")),
        ("There is a single substitution of `_id` inside `humanize`. First I'll reproduce the reported outputs, "
         "plus the trailing case that must keep working.",
         Bash("cd /testbed && python -c \"import inflection as i; print(i.humanize('user_identifier'), '|', "
              "i.humanize('order_id_prefix'), '|', i.titleize('user_identifier'), '|', i.humanize('author_id'))\"")),
        ("Reproduced: 'Userentifier' and 'Order prefix'. `titleize` goes through `humanize`, so fixing "
         "`humanize` should fix both. Let me read the function.",
         View(INIT, (183, 201))),
        ("The pattern `_id` has no end anchor, so `re.sub` removes every occurrence. The docstring says it strips "
         "a trailing `_id`, so the pattern should be `_id$`.",
         StrReplace(INIT, '    word = re.sub(r"_id", "", word)', '    word = re.sub(r"_id$", "", word)')),
        ("Rerun the reproducer: the middle `_id` must survive and 'author_id' must still become 'Author'.",
         Bash("cd /testbed && python -c \"import inflection as i; print(i.humanize('user_identifier'), '|', "
              "i.humanize('order_id_prefix'), '|', i.titleize('user_identifier'), '|', i.humanize('author_id'))\"")),
        ("That matches the expected output in the issue. I'll run the humanize and titleize tests, since "
         "titleize depends on humanize.",
         Bash("cd /testbed && python -m pytest -q test_inflection.py -k 'humanize or titleize'")),
        ("The anchor restores the documented behaviour and the related tests pass. Submitting.",
         Submit()),
    ],
    "r1chardj0n3s__parse-1": [
        ("The issue: a lowercase 'pm' matches `{:tt}` but the hour is not converted. I'll reproduce it first, "
         "comparing upper and lower case and the 12 am edge case.",
         Bash("cd /testbed && python -c \"import parse; print(parse.parse('{:tt}', '10:21:36 PM')[0], "
              "parse.parse('{:tt}', '10:21:36 pm')[0], parse.parse('{:tt}', '12:15:00 am')[0])\"")),
        ("Reproduced: 'pm' gives 10:21:36 and '12:15:00 am' gives 12:15. The pattern clearly accepts lowercase, "
         "so the conversion must compare the meridiem case-sensitively. Let me find that code.",
         Bash("grep -n '\"AM\"\\|\"PM\"\\|AM_PAT' /testbed/parse/__init__.py")),
        ("The comparisons with 'AM' and 'PM' are at lines 231-237, in `date_convert`. Let me view that block.",
         View(PARSE, (224, 240))),
        ("The captured meridiem is only stripped, then compared with 'AM' and 'PM'. Since the regex is compiled "
         "with IGNORECASE, 'pm' reaches this code unchanged and matches neither branch. Normalising with "
         "`.upper()` fixes it for every format using the meridiem.",
         StrReplace(PARSE, "        if am:\n            am = am.strip()\n",
                    "        if am:\n"
                    "            # the pattern matches case-insensitively: normalise before comparing\n"
                    "            am = am.strip().upper()\n")),
        ("Check the reproducer again, and the `{:tg}` case from the issue which goes through the same function.",
         Bash("cd /testbed && python -c \"import parse; print(parse.parse('{:tt}', '10:21:36 pm')[0], "
              "parse.parse('{:tt}', '12:15:00 am')[0], parse.parse('Meet at {:tg}', 'Meet at 1/2/2011 10:15 pm')[0])\"")),
        ("Correct now: 22:21:36, 00:15 and 22:15. Let me run the test suite for parsing and the bug regressions.",
         Bash("cd /testbed && python -m pytest -q tests/test_parse.py tests/test_bugs.py")),
        ("pytest fails on arguments from the project's configured addopts (coverage flags, and pytest-cov is "
         "not installed here). I'll override addopts for this run.",
         Bash("cd /testbed && python -m pytest -q -o addopts='' tests/test_parse.py tests/test_bugs.py")),
        ("All tests pass and lowercase meridiems convert like uppercase ones. Submitting.",
         Submit()),
    ],
    "r1chardj0n3s__parse-2": [
        ("The issue: `{:d}` returns 0 for single-digit hex numbers such as 0xf. Let me reproduce it with a few "
         "values, including a negative one and a digit that is also decimal.",
         Bash("cd /testbed && python -c \"import parse; print([parse.parse('{:d}', s)[0] for s in "
              "('0xff', '0xf', '0xa', '-0xb', '0x7', '0b1', '0o7')])\"")),
        ("Reproduced: 0xf, 0xa and -0xb give 0. 0x7, 0b1 and 0o7 are only right by coincidence, so the base "
         "prefix is probably not detected for short numbers. Let me find the integer conversion.",
         Bash("grep -n 'class int_convert\\|base = \\|number_start' /testbed/parse/__init__.py")),
        ("The base detection is in `int_convert.__call__`. Let me read the whole method.",
         View(PARSE, (55, 98))),
        ("The prefix is only honoured when `len(string) - number_start > 3`, i.e. when at least two digits "
         "follow '0x'. '0xf' has length 3, so it falls back to base 10, the 'x' and 'f' are stripped as "
         "non-digits and '0' is left. A prefix plus one digit is already a valid number, so the bound must "
         "be `> 2`.",
         StrReplace(PARSE, 'if string[number_start] == "0" and len(string) - number_start > 3:',
                    'if string[number_start] == "0" and len(string) - number_start > 2:')),
        ("Rerun the reproducer; '0' alone and short decimals must still work too, so I'll add those.",
         Bash("cd /testbed && python -c \"import parse; print([parse.parse('{:d}', s)[0] for s in "
              "('0xff', '0xf', '0xa', '-0xb', '0x7', '0b1', '0o7', '0', '07', '-5')])\"")),
        ("All values are right. Now the existing tests, overriding the configured addopts because they need "
         "pytest-cov, which is not installed.",
         Bash("cd /testbed && python -m pytest -q -o addopts='' tests/test_parse.py")),
        ("The off-by-one in the length check is fixed and the tests pass. Submitting.",
         Submit()),
    ],
    "more-itertools__more-itertools-1": [
        ("The issue: `divide` drops items when the length is not a multiple of n. I'll reproduce it with the "
         "docstring's examples.",
         Bash("cd /testbed && python -c \"from more_itertools import divide; "
              "print([list(p) for p in divide(3, [1, 2, 3, 4, 5, 6, 7])]); "
              "print([list(p) for p in divide(5, [1, 2, 3])])\"")),
        ("Items are lost: the first case should be [[1, 2, 3], [4, 5], [6, 7]]. The remainder is evidently not "
         "spread over the first parts. Let me find `divide`.",
         Bash("grep -n 'def divide' /testbed/more_itertools/*.py")),
        ("It is in more.py at line 2073; the slicing logic is after the docstring.",
         View(MORE, (2102, 2122))),
        ("With q, r = divmod(len(seq), n), the first r parts should get q + 1 items. The loop counts i from 1, "
         "so `i < r` gives the extra item to only r - 1 parts, the slices stop one item short and the tail of "
         "the sequence is never returned. The condition should be `i <= r`.",
         StrReplace(MORE, "stop += q + 1 if i < r else q", "stop += q + 1 if i <= r else q")),
        ("Rerun the reproducer, and check more generally that joining the parts gives back the input for many "
         "sizes and n.",
         Bash("cd /testbed && python -c \"from more_itertools import divide; "
              "print([list(p) for p in divide(3, [1, 2, 3, 4, 5, 6, 7])]); "
              "print([list(p) for p in divide(5, [1, 2, 3])]); "
              "print(all(sum(map(list, divide(n, range(k))), []) == list(range(k)) "
              "for k in range(20) for n in range(1, 8)))\"")),
        ("Matches the docstring and no item is lost for any size. Now the divide tests.",
         Bash("cd /testbed && python -m pytest -q tests/test_more.py -k 'divide or Divide'")),
        ("The off-by-one in the remainder distribution is fixed and the tests pass. Submitting.",
         Submit()),
    ],
    "more-itertools__more-itertools-2": [
        ("The issue: `windowed` with step > n yields extra windows made only of the fill value. Let me "
         "reproduce it, with step > n, step == n and step < n.",
         Bash("cd /testbed && python -c \"from more_itertools import windowed; "
              "print(list(windowed(range(6), 2, step=3))); "
              "print(list(windowed([1, 2, 3, 4, 5, 6, 7], 3, step=7))); "
              "print(list(windowed([1, 2, 3, 4, 5, 6, 7], 3, step=3))); "
              "print(list(windowed([1, 2, 3, 4, 5, 6, 7], 3, step=2)))\"")),
        ("Reproduced: with step > n there is a trailing all-None window; step <= n looks right. The trailing "
         "windows come from padding, so let me read `windowed`.",
         Bash("grep -n 'def windowed' /testbed/more_itertools/more.py")),
        ("The function starts at line 1027; the window logic follows the docstring.",
         View(MORE, (1058, 1080))),
        ("The filler appends `step - 1` fill values after the data. A window is emitted every `step` appends, "
         "so with step > n the padding alone can complete a window that starts past the end of the data. The "
         "padding only needs to complete the last window that holds data, which takes at most n - 1 fill "
         "values: use `n - 1` when step >= n.",
         StrReplace(MORE, "    padding = (fillvalue,) * (step - 1)",
                    "    padding = (fillvalue,) * (n - 1 if step >= n else step - 1)")),
        ("Rerun the reproducer: no all-None windows, and the step <= n outputs must be unchanged.",
         Bash("cd /testbed && python -c \"from more_itertools import windowed; "
              "print(list(windowed(range(6), 2, step=3))); "
              "print(list(windowed([1, 2, 3, 4, 5, 6, 7], 3, step=7))); "
              "print(list(windowed([1, 2, 3, 4, 5, 6, 7], 3, step=3))); "
              "print(list(windowed([1, 2, 3, 4, 5, 6, 7], 3, step=2)))\"")),
        ("Correct. I'll run the windowed tests, which cover fill values and steps.",
         Bash("cd /testbed && python -m pytest -q tests/test_more.py -k 'windowed or Windowed'")),
        ("The padding is bounded by n - 1 when step >= n and all windowed tests pass. Submitting.",
         Submit()),
    ],
}


class TestbedSandbox:
    """The Sandbox protocol on this host's /testbed, commands run with the task's venv first on PATH."""

    def __init__(self, root: Path, bin_dir: Path):
        self.root, self.env = root, {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def exec(self, cmd: str, timeout: float, workdir: str | None = None, env: dict[str, str] | None = None) -> ExecResult:
        start = time.perf_counter()
        proc = subprocess.run(["bash", "-c", cmd], cwd=workdir or self.root, env={**self.env, **(env or {})},
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        return ExecResult(proc.stdout, proc.returncode, False, time.perf_counter() - start)

    def read_file(self, path: str) -> str:
        return Path(path).read_text(encoding="utf-8")

    def write_file(self, path: str, content: str) -> None:
        Path(path).write_text(content, encoding="utf-8")

    def diff(self) -> str:
        return subprocess.run(["git", "-c", "safe.directory=*", "diff", BASE_TAG], cwd=self.root, check=True,
                              capture_output=True, text=True).stdout

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TestbedSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def record(task: dict, run: Run, variant: int = 0) -> Trajectory:
    env = task["environment"]
    if TESTBED.exists():
        raise SystemExit(f"{TESTBED} exists: move it away first (this script creates and removes it)")
    base_commit = prepare_repo(RepoSource(**env["repo"]), TESTBED)
    if base_commit != task["base_commit"]:
        raise SystemExit(f"{task['instance_id']}: prepared base {base_commit} != the task's {task['base_commit']}")
    python = venv(env["python_packages"], VENVS / "-".join(sorted(p.split("==")[0] for p in env["python_packages"])))
    with TestbedSandbox(TESTBED, python.parent) as sandbox:
        for command in env["install_commands"]:
            installed = sandbox.exec(command, timeout=300)
            if installed.exit_code != 0:
                raise SystemExit(f"{task['instance_id']}: {command} failed:\n{installed.output}")
        editor, steps = Editor(), []
        for thought, action in run:
            observation = "" if isinstance(action, Submit) else execute(action, sandbox, editor, timeout=120)
            if not isinstance(action, Bash) and observation.startswith("ERROR:"):  # the editor refused
                raise SystemExit(f"{task['instance_id']}: step {len(steps) + 1}: {observation}")
            steps.append(Step(thought, action, observation))
        final_patch = sandbox.diff()
        check_resolves(task, sandbox, python)
    return Trajectory(
        id=f"{task['instance_id']}.expert" + (f"-v{variant}" if variant else ""), problem_statement=task["problem_statement"], steps=steps,
        instance_id=task["instance_id"], repo=task["repo"], base_commit=task["base_commit"],
        final_patch=final_patch, outcome="resolved", source_format="swesrl",
        source_path="examples/trajectories/expert_runs.jsonl" if not variant else "examples/training/",
        metadata={"author": "swesrl maintainers", "tools": "bash, str_replace_editor, submit",
                  "generated_by": "examples/make_expert_runs.py", "variant": variant},
    )


def check_resolves(task: dict, sandbox: TestbedSandbox, python: Path) -> None:
    """The run's edits + the test patch (if any): every FAIL_TO_PASS and PASS_TO_PASS test must pass."""
    applied = subprocess.run(["git", "apply", "-"], input=task["test_patch"], cwd=TESTBED, text=True,
                             capture_output=True) if task["test_patch"] else None
    if applied and applied.returncode != 0:
        raise SystemExit(f"{task['instance_id']}: test patch does not apply: {applied.stderr}")
    files = sorted({line[6:] for line in task["test_patch"].splitlines() if line.startswith("+++ b/")})
    status = statuses(test_log(python, TESTBED, task["test_cmd"], files))
    need = json.loads(task["FAIL_TO_PASS"]) + json.loads(task["PASS_TO_PASS"])
    missing = [t for t in need if status.get(t) != "PASSED"]
    if missing:
        raise SystemExit(f"{task['instance_id']}: the expert run does not resolve the task: {missing[:5]}")


def write_runs(path: Path, runs: list[Trajectory]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(t.to_dict()) + "\n" for t in runs), encoding="utf-8")
    print(f"wrote {len(runs)} runs to {path}")


def main() -> None:
    tasks = [json.loads(line) for line in TASKS.read_text(encoding="utf-8").splitlines() if line.strip()]
    if sorted(t["instance_id"] for t in tasks) != sorted(RUNS):
        raise SystemExit("every bundled task needs exactly one expert run in RUNS")
    runs: dict[str, list[Trajectory]] = {}
    for task in tasks:
        iid = task["instance_id"]
        runs[iid] = [record(task, run, k) for k, run in enumerate(variants(RUNS[iid]))]
        print(f"{iid}: {len(runs[iid])} runs of {', '.join(str(len(r.steps)) for r in runs[iid])} steps, each resolves the task")
    if "--training-only" not in sys.argv[1:]:
        write_runs(OUT, [rs[0] for rs in runs.values()])
    write_runs(TRAINING / "train_runs.jsonl", [r for iid, rs in runs.items() if iid not in HELDOUT for r in rs])
    write_runs(TRAINING / "heldout_runs.jsonl", [r for iid, rs in runs.items() if iid in HELDOUT for r in rs])


if __name__ == "__main__":
    sys.exit(main())
