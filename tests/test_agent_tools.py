"""The editor commands and bash, run in a real temp git repository (LocalSandbox)."""

from __future__ import annotations

import pytest

from swesrl.agent.tools import Editor, execute
from swesrl.sandbox.local import LocalSandbox
from swesrl.trajectories import Bash, Create, Insert, StrReplace, ToolCall, UndoEdit, View

TEXT = "import os\n\n\ndef f():\n    return 1\n\n\ndef g():\n    return 1\n"


@pytest.fixture
def sb(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text(TEXT)
    with LocalSandbox(tmp_path) as sandbox:
        yield sandbox


def run(sb, action, editor=None):
    return execute(action, sb, editor or Editor(sb.workdir), timeout=10)


def test_view_numbers_lines_like_cat_n_and_honours_view_range(sb):
    out = run(sb, View("pkg/mod.py"))
    assert out.splitlines()[1] == "     1\timport os"
    assert out.splitlines()[-1] == "     9\t    return 1"
    ranged = run(sb, View("pkg/mod.py", (4, 5)))
    assert ranged.splitlines()[1:] == ["     4\tdef f():", "     5\t    return 1"]
    assert run(sb, View("pkg/mod.py", (8, -1))).splitlines()[1:] == ["     8\tdef g():", "     9\t    return 1"]
    assert run(sb, View("pkg/mod.py", (20, 30))).startswith("ERROR: view_range start 20")


def test_view_lists_a_directory_and_reports_missing_paths(sb):
    listing = run(sb, View(sb.workdir))
    assert f"{sb.workdir}/pkg/mod.py" in listing and ".git" not in listing
    assert run(sb, View("nope.py")) == f"ERROR: the path {sb.workdir}/nope.py does not exist"


def test_str_replace_needs_exactly_one_match(sb):
    assert "did not appear verbatim" in run(sb, StrReplace("pkg/mod.py", "return 2", "return 3"))
    twice = run(sb, StrReplace("pkg/mod.py", "return 1", "return 2"))
    assert "occurs 2 times" in twice and "[5, 9]" in twice
    assert sb.read_file("pkg/mod.py") == TEXT
    ok = run(sb, StrReplace("pkg/mod.py", "def g():\n    return 1", "def g():\n    return 2"))
    assert "has been edited" in ok and "     9\t    return 2" in ok
    assert sb.read_file("pkg/mod.py").endswith("def g():\n    return 2\n")


def test_insert_create_and_undo_keep_per_file_history(sb):
    ed = Editor(sb.workdir)
    run(sb, Insert("pkg/mod.py", 1, "import sys"), ed)
    run(sb, StrReplace("pkg/mod.py", "return 1\n\n\ndef g", "return 0\n\n\ndef g"), ed)
    assert sb.read_file("pkg/mod.py").startswith("import os\nimport sys\n")
    assert "undone" in run(sb, UndoEdit("pkg/mod.py"), ed)
    assert "return 0" not in sb.read_file("pkg/mod.py") and "import sys" in sb.read_file("pkg/mod.py")
    run(sb, UndoEdit("pkg/mod.py"), ed)
    assert sb.read_file("pkg/mod.py") == TEXT
    assert run(sb, UndoEdit("pkg/mod.py"), ed).startswith("ERROR: no edit history")

    assert run(sb, Create("new/dir/x.py", "x = 1\n"), ed).startswith("File created successfully")
    assert "already exists" in run(sb, Create("new/dir/x.py", "y = 2\n"), ed)
    assert sb.diff().count("+++ b/new/dir/x.py") == 1
    run(sb, UndoEdit("new/dir/x.py"), ed)
    assert sb.diff() == ""
    assert run(sb, Insert("pkg/mod.py", 99, "x"), ed).startswith("ERROR: insert_line 99")


def test_bash_reports_exit_codes_timeouts_and_silence(sb):
    assert run(sb, Bash("ls pkg")) == "mod.py\n"
    assert run(sb, Bash("echo oops; exit 3")) == "oops\n\n[exit code 3]"
    assert "did not produce any output" in run(sb, Bash("true"))
    assert "timed out after 1 s" in execute(Bash("sleep 20"), sb, Editor(sb.workdir), timeout=1)


def test_unknown_tool_is_an_error_observation(sb):
    assert run(sb, ToolCall.make("browser", {"url": "x"})).startswith("ERROR: unknown tool 'browser'")


def test_insert_at_the_end_keeps_the_final_newline(sb):
    out = run(sb, Insert("pkg/mod.py", 9, "x = 2"))
    assert sb.read_file("pkg/mod.py") == TEXT + "x = 2\n"
    assert out.splitlines()[-2] == "    10\tx = 2"  # the snippet has no phantom empty line


def test_unreadable_and_unwritable_paths_are_error_observations(sb):
    (sb.root / "pkg" / "blocker").write_text("a file, not a folder")
    assert run(sb, Create("pkg/blocker/x.py", "x = 1\n")).startswith("ERROR: ")
    (sb.root / "dangling").symlink_to(sb.root / "missing-target")
    assert run(sb, StrReplace("dangling", "a", "b")) == f"ERROR: the path {sb.workdir}/dangling does not exist"
