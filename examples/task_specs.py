"""The bundled tasks as readable edit specs: which sdist, the bug put into it, the fix, the test change
and the issue text. ``make_tasks.py`` turns them into examples/tasks/tasks.jsonl."""

from __future__ import annotations

from dataclasses import dataclass, field

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
