"""`swesrl agent run` as a person watches it, against an OpenAI-compatible server on 127.0.0.1:
each step shown as it happens, the patch saved beside the trajectory and applied with --apply, and
a bad key or a dead server ending the run in seconds with a non-zero status."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import uuid

import pytest
from test_policies import ScriptedServer, chat  # pytest puts tests/ on sys.path
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.cli.agent_view import printable
from swesrl.trajectories.actions import Bash, StrReplace, Submit, render_xml
from swesrl.trajectories.answer import render_answer

runner = CliRunner()


def _git_repo(path):
    path.mkdir()
    (path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (path / "banner.txt").write_text("hello \x1b]0;pwned\x07\x1b[2J world\n")
    for cmd in (["init", "-q"], ["add", "."], ["-c", "user.name=a", "-c", "user.email=a@b", "commit", "-qm", "init"]):
        subprocess.run(["git", *cmd], cwd=path, check=True)
    return path


def test_printable_shows_control_characters_as_codes():
    assert printable("a\x1b[2Jb\tc\nd\x07") == "a\\x1b[2Jb\tc\nd\\x07"


@pytest.mark.docker
def test_live_steps_patch_file_and_apply(tmp_path):
    repo = _git_repo(tmp_path / "calc")
    (repo / "calc.py").write_text("def add(a, b):  # uncommitted\n    return a - b\n")  # the agent sees the tree on disk
    (repo / "banner.txt").unlink()
    (repo / "notes.txt").write_text("hello \x1b]0;pwned\x07\x1b[2J world\n")  # a new file, not yet added
    answers = [render_answer("Look at the banner first.\nThen fix.", render_xml(Bash("cat notes.txt calc.py; ls"))),
               render_answer("Fix the sign.", render_xml(StrReplace("/testbed/calc.py", "a - b", "a + b"))),
               render_answer("Done.", render_xml(Submit()))]
    out = tmp_path / "run" / "calc.jsonl"
    with ScriptedServer([(200, chat(a)) for a in answers]) as srv:
        res = runner.invoke(app, ["agent", "run", "--repo", str(repo), "--issue", "add subtracts", "--model",
                                  f"openai:gpt-4o-mini@{srv.url}", "--out", str(out), "--apply",
                                  "--run-id", f"test-live-{uuid.uuid4().hex[:6]}"])
    assert res.exit_code == 0, res.output
    text = res.output
    assert "step 1/50" in text and "step 3/50" in text and "450 tokens" in text and "$0.0" in text
    assert "Look at the banner first." in text and "Then fix." not in text  # the thought's first line
    assert "as it is on disk" in text and "?? notes.txt" in text
    assert "$ cat notes.txt calc.py; ls" in text and "# uncommitted" in text and "return a - b" in text  # action, output head
    assert "\x1b" not in text and "\\x1b[2J" in text  # escape sequences shown, not obeyed
    [record] = [json.loads(line) for line in out.read_text().splitlines()]
    assert "\x1b[2J" in record["steps"][0]["observation"]  # the trajectory keeps the raw text
    patch = out.with_suffix(".patch").read_text()
    assert "+    return a + b" in patch and "notes.txt" not in patch and "banner" not in patch
    assert (repo / "calc.py").read_text() == "def add(a, b):  # uncommitted\n    return a + b\n"  # --apply
    assert runner.invoke(app, ["report", str(out)]).exit_code == 0  # the run's own viewer
    [page] = (tmp_path / "run" / "calc.report" / "trajectories").glob("*.html")
    assert "Fix the sign." in page.read_text() and "+    return a + b" in page.read_text()
    status = subprocess.run(["git", "status", "--short"], cwd=repo, capture_output=True, text=True).stdout
    assert sorted(status.splitlines()) == [" D banner.txt", " M calc.py", "?? notes.txt"]  # the user's index untouched


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_key_and_dead_server_fail_fast_before_any_image(tmp_path):
    repo = _git_repo(tmp_path / "calc")
    with ScriptedServer([]) as srv:
        srv.httpd.RequestHandlerClass.do_GET = lambda h: (h.send_response(401), h.end_headers(), h.wfile.write(b"bad key"))
        t0 = time.monotonic()
        res = runner.invoke(app, ["agent", "run", "--repo", str(repo), "--issue", "x", "--model", f"openai:m@{srv.url}",
                                  "--out", str(tmp_path / "a.jsonl")])
    assert res.exit_code == 1 and "refused the API key (HTTP 401)" in res.output and time.monotonic() - t0 < 10
    t0 = time.monotonic()
    res = runner.invoke(app, ["agent", "run", "--repo", str(repo), "--issue", "x", "--model",
                              f"openai:m@http://127.0.0.1:{_free_port()}/v1", "--out", str(tmp_path / "b.jsonl")])
    assert res.exit_code == 1 and "cannot reach the model server" in res.output and time.monotonic() - t0 < 10
    assert not (tmp_path / "a.jsonl").exists() and not (tmp_path / "b.jsonl").exists()
