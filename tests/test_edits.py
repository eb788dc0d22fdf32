"""SEARCH/REPLACE edits (swesrl.trajectories.edits): the oracle prompt, the parser, application and the patch."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from swesrl.trajectories.edits import (
    SearchReplace,
    answer_patch,
    apply_edits,
    gold_files,
    oracle_messages,
    parse_search_replace,
    patch_to_edits,
    render_search_replace,
    unified_diff,
)

CALC = "def add(a, b):\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n"
FILES = {"calc.py": CALC, "docs/new.md": None}

ANSWER = """<think>
add uses the wrong operator.
</think>
### calc.py
<<<<<<< SEARCH
def add(a, b):
    return a - b
=======
def add(a, b):
    return a + b
>>>>>>> REPLACE

### ./calc.py
<<<<<<< SEARCH
this text is not in the file
=======
nothing
>>>>>>> REPLACE

### /docs/new.md
<<<<<<< SEARCH
=======
hello
>>>>>>> REPLACE
"""


def test_parse_reads_thought_paths_and_blocks():
    thought, edits = parse_search_replace(ANSWER)
    assert thought == "add uses the wrong operator."
    assert edits == [
        SearchReplace("calc.py", "def add(a, b):\n    return a - b", "def add(a, b):\n    return a + b"),
        SearchReplace("calc.py", "this text is not in the file", "nothing"),
        SearchReplace("docs/new.md", "", "hello"),
    ]
    assert parse_search_replace("<think>hmm</think> I would change add.") == ("hmm", [])
    assert parse_search_replace("<<<<<<< SEARCH\na\n=======\nb\n>>>>>>> REPLACE") == ("", [])  # no ### path line


def test_render_then_parse_gives_the_same_edits():
    edits = [SearchReplace("a.py", "x = 1\ny = 2", "x = 1\ny = 3"), SearchReplace("new/b.py", "", "print('b')")]
    assert parse_search_replace(render_search_replace(edits))[1] == edits


def test_apply_follows_the_editor_rules_and_keeps_going_after_a_bad_edit():
    edits = parse_search_replace(ANSWER)[1] + [
        SearchReplace("calc.py", "    return a - b", "    return 0"),  # now only in sub(): exactly once
        SearchReplace("calc.py", "", "x"),  # create over an existing file
        SearchReplace("other.py", "a", "b"),  # a file that was not shown
    ]
    out = apply_edits(FILES, edits)
    assert out.applied == 3
    assert out.files["calc.py"] == "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return 0\n"
    assert out.files["docs/new.md"] == "hello\n"
    assert [e.split(":")[0] for e in out.errors] == ["edit 2 (calc.py)", "edit 5 (calc.py)", "edit 6 (other.py)"]
    assert "occurs 0 times" in out.errors[0] and "already exists" in out.errors[1] and "not one of the files shown" in out.errors[2]
    twice = apply_edits({"calc.py": CALC}, [SearchReplace("calc.py", "return a - b", "return 1")])
    assert twice.applied == 0 and "occurs 2 times" in twice.errors[0] and twice.files == {"calc.py": CALC}
    missing = apply_edits({"n.py": None}, [SearchReplace("n.py", "a", "b")])
    assert "does not exist" in missing.errors[0]


def _git(cwd, *args, stdin=None):
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, text=True, capture_output=True, check=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_patch_applies_with_git_and_matches_git_diff(tmp_path):
    before = {"calc.py": CALC, "tail.txt": "one\ntwo", "empty.txt": "", "new/mod.py": None}
    after = {"calc.py": CALC.replace("a - b", "a + b", 1), "tail.txt": "one\nthree", "empty.txt": "x\n", "new/mod.py": "A = 1\n"}
    for path, text in before.items():
        if text is not None:
            (tmp_path / path).write_text(text)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    patch = unified_diff(before, after)
    _git(tmp_path, "apply", "-", stdin=patch)
    for path, text in after.items():
        assert (tmp_path / path).read_text() == text
    _git(tmp_path, "add", "-A")
    expected = _git(tmp_path, "diff", "--cached", "HEAD")
    strip_index = [line for line in expected.splitlines() if not line.startswith("index ")]
    assert patch.splitlines() == strip_index  # the same hunks git itself writes
    assert unified_diff(before, before) == ""


GOLD = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,5 +1,5 @@
 def add(a, b):
-    return a - b
+    return a + b
 
 
 def sub(a, b):
diff --git a/docs/new.md b/docs/new.md
new file mode 100644
--- /dev/null
+++ b/docs/new.md
@@ -0,0 +1 @@
+hello
"""


def test_gold_patch_as_edits_reproduces_the_gold_patch():
    assert gold_files(GOLD) == ["calc.py", "docs/new.md"]
    edits = patch_to_edits(GOLD)
    assert edits[1] == SearchReplace("docs/new.md", "", "hello")
    answer = "<think>\nfix add\n</think>\n" + render_search_replace(edits)
    result = answer_patch(answer, FILES)
    assert result.errors == [] and result.thought == "fix add"
    assert result.patch.replace("new file mode 100644\n", "") == GOLD.replace("new file mode 100644\n", "")
    with pytest.raises(ValueError, match="deletes this file"):
        patch_to_edits("diff --git a/x b/x\ndeleted file mode 100644\n--- a/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n")


def test_malformed_answers_make_no_patch():
    assert answer_patch("no edits here", FILES).patch == ""
    wrong = answer_patch("### calc.py\n<<<<<<< SEARCH\nnot there\n=======\nx\n>>>>>>> REPLACE\n", FILES)
    assert wrong.patch == "" and len(wrong.errors) == 1


def test_oracle_prompt_shows_the_issue_and_every_file():
    messages = oracle_messages("  add subtracts\n", {"calc.py": CALC, "docs/new.md": None})
    assert [m["role"] for m in messages] == ["system", "user"]
    assert "SEARCH/REPLACE" in messages[0]["content"]
    user = messages[1]["content"]
    assert user.startswith("<issue>\nadd subtracts\n</issue>\n\n<files>\n### calc.py\n```\ndef add")
    assert "### docs/new.md\n```\n\n```\n</files>" in user
