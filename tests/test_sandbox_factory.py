"""Sandboxes by kind through one factory; patch application works on any sandbox (here the local one)."""

from __future__ import annotations

import pytest

from swesrl.errors import SwesrlError
from swesrl.sandbox.base import Sandbox, apply_patch
from swesrl.sandbox.factory import check_sandbox, open_sandbox, register

PATCH = """diff --git a/calc.py b/calc.py
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@
 def add(a, b):
-    return a - b
+    return a + b
"""


@pytest.fixture
def src(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    return tmp_path / "src"


def test_local_sandbox_applies_a_patch_and_diffs_it(src):
    with open_sandbox("local", str(src)) as sb:
        assert isinstance(sb, Sandbox)
        applied = apply_patch(sb, PATCH, timeout=30)
        assert applied.exit_code == 0 and applied.method == "git apply"
        assert "+    return a + b" in sb.diff()
        again = apply_patch(sb, PATCH, timeout=30)  # already applied: both tools refuse, the tree stays
        assert again.exit_code == 1 and "$ git apply" in again.output and "$ patch" in again.output
        assert sb.read_file("calc.py") == "def add(a, b):\n    return a + b\n"
    assert (src / "calc.py").read_text().endswith("a - b\n")  # the source folder is never touched



def test_local_sandbox_files_and_commands_see_the_same_paths(src, tmp_path):
    """The seam's contract: a file written by path is the file a command names by that path, absolute
    or relative (on the local sandbox, commands run on the host, so absolute paths are host paths)."""
    elsewhere = tmp_path / "scratch" / "script.py"
    with open_sandbox("local", str(src)) as sb:
        sb.write_file(str(elsewhere), "print('hi')\n")
        assert sb.exec(f"python {elsewhere}", 30).output == "hi\n"
        sb.write_file("pkg/new.py", "x = 1\n")
        assert sb.exec("cat pkg/new.py", 30).output == "x = 1\n" and sb.read_file(f"{sb.workdir}/pkg/new.py") == "x = 1\n"
        assert "+x = 1" in sb.diff() and "script.py" not in sb.diff()

def test_unknown_kinds_are_named_and_new_kinds_register(src):
    with pytest.raises(SwesrlError, match="unknown sandbox kind 'vm'.*docker, local"):
        open_sandbox("vm", "image")
    opened = []

    def vm(source: str, **options):
        opened.append((source, options))
        return open_sandbox("local", source)

    register("vm-test", vm)
    with open_sandbox("vm-test", str(src), run_id="r") as sb:
        assert sb.read_file("calc.py").startswith("def add")
    assert opened == [(str(src), {"run_id": "r"})]
    check_sandbox("vm-test")  # no check registered: always usable
