"""Regenerate examples/tasks/tasks.jsonl: the bundled SWE-bench-format tasks.

Each task is a pinned PyPI sdist (source and tests from the registry), a small bug put into it
(``repo_source.patch``, applied before the base commit is made), an issue written as a user would
report it, the fix (``patch``) and a test change (``test_patch``). Every patch is made here by
editing real files and asking git for the diff, so the patches always apply; FAIL_TO_PASS and
PASS_TO_PASS are measured, not written by hand: the test command runs on the buggy tree with the
test patch, then again with the fix, in a plain venv, and swebench's own pytest log parser reads
both logs.

    python examples/make_tasks.py            # needs network to PyPI once (sdists + pytest)

Only tests whose reported name equals their pytest node id are kept (pytest's summary cuts a
parametrized name at its first space, which would make the name unmatchable).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from swesrl.sandbox.images import RepoSource, prepare_repo

HERE = Path(__file__).resolve().parent
OUT = HERE / "tasks" / "tasks.jsonl"
VENVS = Path(tempfile.gettempdir()) / "swesrl-task-venvs"  # one per package set, reused between runs

PYTEST = ["pytest==8.3.5", "iniconfig==2.3.1", "packaging==26.4", "pluggy==1.7.0"]
SETUPTOOLS = ["setuptools==80.9.0"]
FLIT = ["flit_core==4.2.0"]
INSTALL = "python -m pip install --no-deps --no-build-isolation -e ."

Edit = tuple[str, str, str]  # (path, old text, new text): old must occur exactly once


@dataclass
class Spec:
    instance_id: str
    repo: str
    dist: str  # PyPI name==version
    version: str
    test_cmd: str
    packages: list[str]
    bug: list[Edit]  # source regression, plus removal of the tests that would catch it
    fix: list[Edit]  # the gold patch, on the buggy tree
    tests: list[Edit]  # the test patch, on the buggy tree
    problem_statement: str
    hints_text: str = ""
    env: dict[str, str] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ the tasks

ORDINAL_TESTS = '''

@pytest.mark.parametrize(
    ("number", "ordinalized"),
    (
        (13, "13th"),
        (113, "113th"),
        (1013, "1013th"),
        (-13, "-13th"),
        (12, "12th"),
        (23, "23rd"),
    ),
)
def test_ordinalize_teens(number, ordinalized):
    assert inflection.ordinalize(number) == ordinalized
'''

SPECS = [
    Spec(
        instance_id="jpvanhal__inflection-1",
        repo="jpvanhal/inflection",
        dist="inflection==0.5.1",
        version="0.5",
        test_cmd="pytest -rA",
        packages=PYTEST + SETUPTOOLS,
        bug=[
            ("inflection/__init__.py", "if number % 100 in (11, 12, 13):", "if number % 100 in (11, 12):"),
            ("test_inflection.py", '    ("-13", "-13th"),\n', ""),
            ("test_inflection.py", '    ("13", "13th"),\n', ""),
            ("test_inflection.py", '    ("113", "113th"),\n', ""),
            ("test_inflection.py", '    ("-113", "-113th"),\n', ""),
        ],
        fix=[("inflection/__init__.py", "if number % 100 in (11, 12):", "if number % 100 in (11, 12, 13):")],
        tests=[("test_inflection.py", "    assert ordinalized == inflection.ordinalize(number)\n",
                "    assert ordinalized == inflection.ordinalize(number)\n" + ORDINAL_TESTS)],
        problem_statement="""ordinalize(13) returns "13rd"

I'm using `inflection.ordinalize` to label positions in a leaderboard and noticed that 13th place is shown as "13rd":

```python
>>> import inflection
>>> inflection.ordinalize(13)
'13rd'
>>> inflection.ordinalize(113)
'113rd'
>>> inflection.ordinal(13)
'rd'
```

11 and 12 are fine (`'11th'`, `'12th'`), and so is 23 (`'23rd'`).

Expected: `'13th'`, `'113th'` (and `'th'` from `ordinal(13)`), like English and like Rails' `ordinalize`.

inflection 0.5.1, Python 3.11.
""",
    ),
    Spec(
        instance_id="jpvanhal__inflection-2",
        repo="jpvanhal/inflection",
        dist="inflection==0.5.1",
        version="0.5",
        test_cmd="pytest -rA",
        packages=PYTEST + SETUPTOOLS,
        bug=[
            ("inflection/__init__.py",
             'string = re.sub(r"(?i)^{sep}|{sep}$".format(sep=re_sep), \'\', string)',
             'string = re.sub(r"(?i){sep}$".format(sep=re_sep), \'\', string)'),
            ("test_inflection.py", '    (u"!@#Leading bad characters", "leading-bad-characters"),\n', ""),
            ("test_inflection.py", '    (u"!@#Leading bad characters", "leading_bad_characters"),\n', ""),
        ],
        fix=[("inflection/__init__.py",
              'string = re.sub(r"(?i){sep}$".format(sep=re_sep), \'\', string)',
              'string = re.sub(r"(?i)^{sep}|{sep}$".format(sep=re_sep), \'\', string)')],
        tests=[("test_inflection.py",
                "def test_parameterize(some_string, parameterized_string):\n"
                "    assert parameterized_string == inflection.parameterize(some_string)\n",
                "def test_parameterize(some_string, parameterized_string):\n"
                "    assert parameterized_string == inflection.parameterize(some_string)\n\n\n"
                "def test_parameterize_strips_leading_separator():\n"
                '    assert inflection.parameterize(u"  Donald E. Knuth") == "donald-e-knuth"\n'
                '    assert inflection.parameterize(u"!@#Leading bad characters") == "leading-bad-characters"\n'
                '    assert inflection.parameterize(u"(draft) Release notes", "_") == "draft_release_notes"\n')],
        problem_statement="""parameterize() leaves a leading dash when the string starts with punctuation or spaces

Building URL slugs from titles with `inflection.parameterize`, trailing junk is removed but leading junk is not:

```python
>>> import inflection
>>> inflection.parameterize("  Donald E. Knuth")
'-donald-e-knuth'
>>> inflection.parameterize("(draft) Release notes", "_")
'_draft_release_notes'
>>> inflection.parameterize("Release notes (draft)")
'release-notes-draft'
```

Expected `'donald-e-knuth'` and `'draft_release_notes'`: the docs say the result is meant for "pretty" URLs, and a slug starting with a separator is not one. The trailing case already works.

inflection 0.5.1.
""",
    ),
    Spec(
        instance_id="jpvanhal__inflection-3",
        repo="jpvanhal/inflection",
        dist="inflection==0.5.1",
        version="0.5",
        test_cmd="pytest -rA",
        packages=PYTEST + SETUPTOOLS,
        bug=[("inflection/__init__.py", 'word = re.sub(r"_id$", "", word)', 'word = re.sub(r"_id", "", word)')],
        fix=[("inflection/__init__.py", 'word = re.sub(r"_id", "", word)', 'word = re.sub(r"_id$", "", word)')],
        tests=[("test_inflection.py",
                "def test_humanize(underscore, human):\n    assert human == inflection.humanize(underscore)\n",
                "def test_humanize(underscore, human):\n    assert human == inflection.humanize(underscore)\n\n\n"
                "def test_humanize_keeps_id_inside_words():\n"
                '    assert inflection.humanize("user_identifier") == "User identifier"\n'
                '    assert inflection.humanize("order_id_prefix") == "Order id prefix"\n'
                '    assert inflection.titleize("user_identifier") == "User Identifier"\n'
                '    assert inflection.humanize("author_id") == "Author"\n')],
        problem_statement="""humanize() eats "_id" in the middle of a name

`humanize` is documented to strip a *trailing* `_id` ("author_id" -> "Author"), but it also removes `_id` anywhere else in the string, which garbles column labels in our admin UI:

```python
>>> import inflection
>>> inflection.humanize("user_identifier")
'Userentifier'
>>> inflection.humanize("order_id_prefix")
'Order prefix'
>>> inflection.titleize("user_identifier")
'Userentifier'
```

Expected `'User identifier'`, `'Order id prefix'` and `'User Identifier'`. `humanize("author_id")` -> `'Author'` is right and should stay.

inflection 0.5.1.
""",
    ),
    Spec(
        instance_id="r1chardj0n3s__parse-1",
        repo="r1chardj0n3s/parse",
        dist="parse==1.22.4",
        version="1.22",
        test_cmd="pytest -rA -o addopts=",
        packages=PYTEST + SETUPTOOLS,
        bug=[
            ("parse/__init__.py",
             "        if am:\n"
             "            # matching is case-insensitive (re.IGNORECASE), so normalise the\n"
             "            # captured meridiem before the case-sensitive conversion below\n"
             "            am = am.strip().upper()\n",
             "        if am:\n"
             "            am = am.strip()\n"),
            ("tests/test_parse.py",
             "    # lowercase meridiem: parsing is case-insensitive, conversion must be too\n"
             '    y("a {:tt} b", "a 10:21:36 pm b", time(22, 21, 36))\n'
             '    y("a {:tt} b", "a 10:21:36 am b", time(10, 21, 36))\n'
             '    y("a {:tt} b", "a 12:15:00 am b", time(0, 15, 0))\n'
             '    y("a {:tt} b", "a 12:15:00 pm b", time(12, 15, 0))\n', ""),
        ],
        fix=[("parse/__init__.py",
              "        if am:\n"
              "            am = am.strip()\n",
              "        if am:\n"
              "            # the pattern matches case-insensitively: normalise before comparing\n"
              "            am = am.strip().upper()\n")],
        tests=[("tests/test_parse.py",
                "    # lowercase Zulu offset must be honoured, not crash\n",
                "    # lowercase meridiem: parsing is case-insensitive, conversion must be too\n"
                '    y("a {:tt} b", "a 10:21:36 pm b", time(22, 21, 36))\n'
                '    y("a {:tt} b", "a 10:21:36 am b", time(10, 21, 36))\n'
                '    y("a {:tt} b", "a 12:15:00 am b", time(0, 15, 0))\n'
                '    y("a {:tt} b", "a 12:15:00 pm b", time(12, 15, 0))\n'
                "    # lowercase Zulu offset must be honoured, not crash\n")],
        problem_statement="""Lowercase "pm" is accepted but ignored by {:tt} / {:tg}

A time written with a lowercase meridiem matches, but the hour is not converted, so the result is silently 12 hours off:

```python
>>> import parse
>>> parse.parse("{:tt}", "10:21:36 PM")[0]
datetime.time(22, 21, 36)
>>> parse.parse("{:tt}", "10:21:36 pm")[0]
datetime.time(10, 21, 36)
>>> parse.parse("{:tt}", "12:15:00 am")[0]
datetime.time(12, 15)
>>> parse.parse("Meet at {:tg}", "Meet at 1/2/2011 10:15 pm")[0]
datetime.datetime(2011, 2, 1, 10, 15)
```

Expected `time(22, 21, 36)`, `time(0, 15)` and `datetime(2011, 2, 1, 22, 15)`, the same as with "PM"/"AM". Since the pattern matches "pm" at all, I'd expect it to mean the same thing; if lowercase weren't supported I'd rather get no match than a wrong time.

parse 1.22.4, Python 3.11.
""",
    ),
    Spec(
        instance_id="r1chardj0n3s__parse-2",
        repo="r1chardj0n3s/parse",
        dist="parse==1.22.4",
        version="1.22",
        test_cmd="pytest -rA -o addopts=",
        packages=PYTEST + SETUPTOOLS,
        bug=[("parse/__init__.py",
              'if string[number_start] == "0" and len(string) - number_start > 2:',
              'if string[number_start] == "0" and len(string) - number_start > 3:')],
        fix=[("parse/__init__.py",
              'if string[number_start] == "0" and len(string) - number_start > 3:',
              'if string[number_start] == "0" and len(string) - number_start > 2:')],
        tests=[("tests/test_parse.py", '    y("a {:d} b", "a 0xabcdef b", 0xABCDEF)\n',
                '    y("a {:d} b", "a 0xabcdef b", 0xABCDEF)\n'
                '    y("a {:d} b", "a 0x9 b", 9)\n'
                '    y("a {:d} b", "a 0xa b", 10)\n'
                '    y("a {:d} b", "a 0xF b", 15)\n'
                '    y("a {:d} b", "a -0xb b", -11)\n'
                '    y("a {:d} b", "a 0b1 b", 1)\n')],
        problem_statement="""{:d} returns 0 for single-digit hex numbers like 0xa ... 0xf

`{:d}` auto-detects the `0x` prefix, but a hex number with a single digit after the prefix comes back as 0 when that digit is a letter:

```python
>>> import parse
>>> parse.parse("{:d}", "0xff")[0]
255
>>> parse.parse("{:d}", "0xf")[0]
0
>>> parse.parse("{:d}", "0xa")[0]
0
>>> parse.parse("flags={:d}", "flags=-0xb")[0]
0
>>> parse.parse("{:d}", "0x7")[0]
7
```

Expected 15, 10 and -11. `0x7` looks right only because 7 is also a decimal digit. I hit this parsing register dumps where small values like `0xf` are common; nothing fails, the value is just wrong.

parse 1.22.4, Python 3.11.
""",
    ),
    Spec(
        instance_id="more-itertools__more-itertools-1",
        repo="more-itertools/more-itertools",
        dist="more-itertools==11.2.1",
        version="11.2",
        test_cmd="pytest -rA",
        packages=PYTEST + FLIT,
        bug=[
            ("more_itertools/more.py", "stop += q + 1 if i <= r else q", "stop += q + 1 if i < r else q"),
            ("tests/test_more.py", "            (3, [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10]]),\n", ""),
            ("tests/test_more.py",
             "    def test_large_n(self):\n"
             "        self.assertEqual(\n"
             "            [list(x) for x in mi.divide(6, iter(range(1, 4 + 1)))],\n"
             "            [[1], [2], [3], [4], [], []],\n"
             "        )\n\n", ""),
        ],
        fix=[("more_itertools/more.py", "stop += q + 1 if i < r else q", "stop += q + 1 if i <= r else q")],
        tests=[("tests/test_more.py", "            (2, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]),\n",
                "            (2, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]),\n"
                "            (3, [[1, 2, 3, 4], [5, 6, 7], [8, 9, 10]]),\n"
                "            (4, [[1, 2, 3], [4, 5, 6], [7, 8], [9, 10]]),\n"),
               ("tests/test_more.py", "class TestAlwaysIterable(TestCase):",
                "    def test_large_n(self):\n"
                "        self.assertEqual(\n"
                "            [list(x) for x in mi.divide(6, iter(range(1, 4 + 1)))],\n"
                "            [[1], [2], [3], [4], [], []],\n"
                "        )\n\n"
                "    def test_keeps_every_item(self):\n"
                "        for size in range(12):\n"
                "            for n in range(1, 6):\n"
                "                parts = [list(p) for p in mi.divide(n, range(size))]\n"
                "                self.assertEqual(len(parts), n)\n"
                "                self.assertEqual(sum(parts, []), list(range(size)))\n\n\n"
                "class TestAlwaysIterable(TestCase):")],
        problem_statement="""divide() silently drops items when the length is not a multiple of n

`more_itertools.divide` loses elements whenever the iterable's length doesn't divide evenly:

```python
>>> from more_itertools import divide
>>> [list(p) for p in divide(3, [1, 2, 3, 4, 5, 6, 7])]
[[1, 2], [3, 4], [5, 6]]
>>> [list(p) for p in divide(5, [1, 2, 3])]
[[1], [2], [], [], []]
>>> [list(p) for p in divide(2, [1, 2, 3, 4])]
[[1, 2], [3, 4]]
```

The docstring's own example says `divide(3, [1, 2, 3, 4, 5, 6, 7])` gives `[[1, 2, 3], [4, 5], [6, 7]]`, and `divide(5, [1, 2, 3])` gives `[[1], [2], [3], [], []]`. Even division works. I noticed because a batch job split with `divide` processed fewer records than it was given.

more-itertools 11.2.1, Python 3.11.
""",
    ),
    Spec(
        instance_id="more-itertools__more-itertools-2",
        repo="more-itertools/more-itertools",
        dist="more-itertools==11.2.1",
        version="11.2",
        test_cmd="pytest -rA",
        packages=PYTEST + FLIT,
        bug=[
            ("more_itertools/more.py",
             "    padding = (fillvalue,) * (n - 1 if step >= n else step - 1)",
             "    padding = (fillvalue,) * (step - 1)"),
            ("tests/test_more.py",
             "            (3, 4, [(1, 2, 3), (5, 6, 7)]),  # lines up nicely\n"
             "            (3, 5, [(1, 2, 3), (6, 7, None)]),  # off by one\n"
             "            (3, 6, [(1, 2, 3), (7, None, None)]),  # off by two\n"
             "            (3, 7, [(1, 2, 3)]),  # step past the end\n"
             "            (7, 8, [(1, 2, 3, 4, 5, 6, 7)]),  # step > len(iterable)\n", ""),
        ],
        fix=[("more_itertools/more.py",
              "    padding = (fillvalue,) * (step - 1)",
              "    padding = (fillvalue,) * (n - 1 if step >= n else step - 1)")],
        tests=[("tests/test_more.py",
                "            (3, 3, [(1, 2, 3), (4, 5, 6), (7, None, None)]),  # n == step\n",
                "            (3, 3, [(1, 2, 3), (4, 5, 6), (7, None, None)]),  # n == step\n"
                "            (3, 4, [(1, 2, 3), (5, 6, 7)]),  # lines up nicely\n"
                "            (3, 5, [(1, 2, 3), (6, 7, None)]),  # off by one\n"
                "            (3, 6, [(1, 2, 3), (7, None, None)]),  # off by two\n"
                "            (3, 7, [(1, 2, 3)]),  # step past the end\n"
                "            (7, 8, [(1, 2, 3, 4, 5, 6, 7)]),  # step > len(iterable)\n"),
               ("tests/test_more.py", "    def test_invalid_step(self):\n",
                "    def test_step_larger_than_n(self):\n"
                "        actual = list(mi.windowed(range(6), 2, step=3))\n"
                "        self.assertEqual(actual, [(0, 1), (3, 4)])\n\n"
                "    def test_invalid_step(self):\n")],
        problem_statement="""windowed() with step > n yields extra windows made only of fillvalue

When the step is larger than the window size, `windowed` emits trailing windows that contain nothing but the fill value:

```python
>>> from more_itertools import windowed
>>> list(windowed(range(6), 2, step=3))
[(0, 1), (3, 4), (None, None)]
>>> list(windowed([1, 2, 3, 4, 5, 6, 7], 3, step=7))
[(1, 2, 3), (None, None, None)]
>>> list(windowed([1, 2, 3, 4, 5, 6, 7], 3, step=2))
[(1, 2, 3), (3, 4, 5), (5, 6, 7)]
```

Expected `[(0, 1), (3, 4)]` and `[(1, 2, 3)]`: a window that starts past the end of the data shouldn't exist at all (with step <= n everything looks right). We use `windowed(..., step=k)` to sample frames and these all-None windows crash the consumer.

more-itertools 11.2.1, Python 3.11.
""",
    ),
]


# ------------------------------------------------------------------------------------ building


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env={**os.environ, **(env or {})}, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    return proc.stdout


def git(tree: Path, *args: str) -> str:
    return run(["git", "-c", "safe.directory=*", "-c", "user.name=swesrl", "-c", "user.email=swesrl@localhost", *args],
               cwd=tree)


def apply_edits(tree: Path, edits: list[Edit], what: str) -> None:
    for path, old, new in edits:
        f = tree / path
        text = f.read_text()
        if text.count(old) != 1:
            raise RuntimeError(f"{what}: {path}: expected the old text once, found {text.count(old)}: {old[:60]!r}")
        f.write_text(text.replace(old, new))


def diff(tree: Path) -> str:
    out = git(tree, "diff", "--no-color", "--no-ext-diff")
    if not out.strip():
        raise RuntimeError(f"{tree}: empty diff")
    return out


def venv(packages: list[str], root: Path) -> Path:
    python = root / "bin" / "python"
    if not python.exists():
        run([sys.executable, "-m", "venv", str(root)])
        run([str(python), "-m", "pip", "install", "-q", *packages])
    return python


def test_log(python: Path, tree: Path, test_cmd: str, test_files: list[str]) -> str:
    bin_dir = str(python.parent)
    cmd = f"{test_cmd} {' '.join(test_files)}".replace("pytest ", f"{python} -m pytest -p no:cacheprovider ", 1)
    return run(["bash", "-c", cmd], cwd=tree, env={"PATH": f"{bin_dir}:{os.environ['PATH']}"}, check=False)


def statuses(log: str) -> dict[str, str]:
    from swebench.harness.log_parsers import PARSER_REGISTRY

    return PARSER_REGISTRY["parse_log_pytest"](log, None)


def node_ids(python: Path, tree: Path, test_files: list[str]) -> set[str]:
    out = run([str(python), "-m", "pytest", "-p", "no:cacheprovider", "-o", "addopts=", "--collect-only", "-q",
               *test_files], cwd=tree, check=False)
    return {line.strip() for line in out.splitlines() if "::" in line}


def build(spec: Spec, work: Path) -> dict:
    # The sandbox's own preparation (sdist from PyPI, fixed-identity commit), so base_commit matches its images.
    pristine = work / "pristine"
    prepare_repo(RepoSource("sdist", spec.dist), pristine)
    apply_edits(pristine, spec.bug, f"{spec.instance_id} bug")
    bug_patch = diff(pristine)
    tree = work / "tree"
    base_commit = prepare_repo(RepoSource("sdist", spec.dist, patch=bug_patch), tree)
    apply_edits(tree, spec.tests, f"{spec.instance_id} tests")
    test_patch = diff(tree)
    git(tree, "checkout", "-q", "--", ".")
    apply_edits(tree, spec.fix, f"{spec.instance_id} fix")
    gold_patch = diff(tree)
    apply_edits(tree, spec.tests, f"{spec.instance_id} tests")  # now tests + fix

    test_files = sorted({line[6:] for line in test_patch.splitlines() if line.startswith("+++ b/")})
    python = venv(spec.packages, VENVS / "-".join(sorted(p.split("==")[0] for p in spec.packages)))
    run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", "."], cwd=tree,
        env={"SETUPTOOLS_SCM_PRETEND_VERSION": spec.dist.partition("==")[2], **spec.env})
    after = statuses(test_log(python, tree, spec.test_cmd, test_files))
    git(tree, "checkout", "-q", "--", ".")  # the buggy tree as shipped: its own tests must not catch the bug
    shipped = statuses(test_log(python, tree, spec.test_cmd, test_files))
    caught = sorted(t for t, s in shipped.items() if s in ("FAILED", "ERROR"))
    if caught:
        raise RuntimeError(f"{spec.instance_id}: the buggy tree's own tests fail: {caught[:5]}")
    apply_edits(tree, spec.tests, f"{spec.instance_id} tests")
    git(tree, "checkout", "-q", "--", *sorted({e[0] for e in spec.fix}))
    before = statuses(test_log(python, tree, spec.test_cmd, test_files))
    exact = node_ids(python, tree, test_files)
    f2p = sorted(t for t in exact if after.get(t) == "PASSED" and before.get(t) in ("FAILED", "ERROR"))
    p2p = sorted(t for t in exact if after.get(t) == "PASSED" and before.get(t) == "PASSED")
    if not f2p:
        raise RuntimeError(f"{spec.instance_id}: no test fails before the fix and passes after")
    broken = sorted(t for t, s in after.items() if s in ("FAILED", "ERROR"))
    if broken:
        raise RuntimeError(f"{spec.instance_id}: tests fail with the fix: {broken[:5]}")
    unrelated = sorted(t for t, s in before.items() if s in ("FAILED", "ERROR") and t not in f2p)
    if unrelated:
        raise RuntimeError(f"{spec.instance_id}: failures before the fix outside FAIL_TO_PASS: {unrelated[:5]}")
    print(f"{spec.instance_id}: base {base_commit[:12]}, FAIL_TO_PASS {len(f2p)}, PASS_TO_PASS {len(p2p)}")
    return {
        "instance_id": spec.instance_id,
        "repo": spec.repo,
        "base_commit": base_commit,
        "problem_statement": spec.problem_statement,
        "hints_text": spec.hints_text,
        "created_at": "",
        "patch": gold_patch,
        "test_patch": test_patch,
        "FAIL_TO_PASS": json.dumps(f2p),
        "PASS_TO_PASS": json.dumps(p2p),
        "version": spec.version,
        "environment_setup_commit": base_commit,
        "environment": {
            "python_packages": spec.packages,
            "setup_commands": [],
            "base_image": None,
            "repo": {"kind": "sdist", "location": spec.dist, "commit": None, "patch": bug_patch, "subdir": None},
            "install_commands": [INSTALL],
            "env": spec.env,
        },
        "test_cmd": spec.test_cmd,
        "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
    }


def main() -> None:
    """Build every task, or only the instance ids given, keeping the other rows of the file."""
    only = set(sys.argv[1:])
    rows = {}
    if only and OUT.exists():
        rows = {r["instance_id"]: r for r in map(json.loads, OUT.read_text(encoding="utf-8").splitlines())}
    for spec in SPECS:
        if only and spec.instance_id not in only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            rows[spec.instance_id] = build(spec, Path(tmp))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        for spec in SPECS:
            if spec.instance_id in rows:
                f.write(json.dumps(rows[spec.instance_id]) + "\n")
    print(f"wrote {len(rows)} tasks to {OUT}")


if __name__ == "__main__":
    main()
