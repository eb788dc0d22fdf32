"""scripts/validate-swebench.py: the run order covers many repositories early; the table is rebuilt from results."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

from swesrl.eval.tasks import load_tasks

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "validate-swebench.py"


def _row(repo: str, n: int, version: str, tests: int) -> dict:
    return {"instance_id": f"{repo.replace('/', '__')}-{n}", "repo": repo, "base_commit": "a" * 40,
            "problem_statement": "p", "version": version, "test_cmd": "pytest", "FAIL_TO_PASS": json.dumps([f"t{i}" for i in range(tests)])}  # fmt: skip


def _script():
    spec = importlib.util.spec_from_file_location("validate_swebench", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_interleave_goes_round_robin_with_shared_versions_and_small_tests_first(tmp_path):
    rows = [_row("big/repo", 1, "1.0", 5), _row("big/repo", 2, "2.0", 1), _row("big/repo", 3, "2.0", 3),
            _row("small/lib", 1, "0.1", 9)]  # fmt: skip
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    order = [t.instance_id for t in _script().interleave(load_tasks(path))]
    assert order == ["small__lib-1", "big__repo-2", "big__repo-3", "big__repo-1"]
    sizes = {"big__repo-1": 10, "big__repo-2": 300, "big__repo-3": None}  # test-file bytes; None: no mirror
    order = [t.instance_id for t in _script().interleave(load_tasks(path), cost=lambda t: sizes.get(t.instance_id))]
    assert order == ["small__lib-1", "big__repo-1", "big__repo-2", "big__repo-3"]


def test_table_is_rebuilt_from_results_of_several_task_files_without_running_anything(tmp_path):
    files = []
    for name, repo in (("a.json", "acme/widget"), ("b.json", "other/lib")):
        files.append(tmp_path / name)
        files[-1].write_text(json.dumps([_row(repo, 1, "1.0", 1)]))
    results = tmp_path / "results.jsonl"
    done = [{"instance_id": "acme__widget-1", "repo": "acme/widget", "version": "1.0", "outcome": "valid", "phase": "",
             "why": "", "build_s": 10.0, "test_s": 2.0, "instance_mb": 1.5, "env_image": "e", "env_mb": 40.0, "python": "3.9"},
            {"instance_id": "other__lib-1", "repo": "other/lib", "version": "1.0", "outcome": "invalid", "phase": "gold",
             "why": "unresolved: t0 failed", "build_s": 20.0, "test_s": 4.0, "python": "3.11"}]  # fmt: skip
    results.write_text("".join(json.dumps(d) + "\n" for d in done))
    table = tmp_path / "t.md"
    subprocess.run([sys.executable, str(SCRIPT), *map(str, files), "--repos-dir", str(tmp_path), "--results", str(results),
                    "--interleave", "--markdown", str(table)], check=True, capture_output=True)  # fmt: skip
    text = table.read_text()
    assert text.startswith("1/2 attempted instances valid across 2 repositories.")
    assert "| acme/widget | 1 | 1 | 10.0 | 2.0 | 40 | 1.5 |" in text
    assert "| other__lib-1 | invalid | gold | unresolved: t0 failed | 3.11 |  |" in text


def test_sigterm_while_an_environment_is_derived_stops_cleanly_and_a_torn_row_is_not_a_row(tmp_path):
    import os
    import signal
    import time

    src = tmp_path / "src"
    src.mkdir()
    (src / "setup.py").write_text("from setuptools import setup\nsetup(name='marshmallow', version='3.0')\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=src, check=True)
    subprocess.run([*git, "add", "-A"], cwd=src, check=True)
    subprocess.run([*git, "commit", "-qm", "base"], cwd=src, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, check=True, capture_output=True, text=True).stdout.strip()
    repos = tmp_path / "repos"
    subprocess.run(["git", "clone", "-q", "--mirror", str(src), str(repos / "marshmallow-code__marshmallow.git")], check=True)
    row = {**_row("marshmallow-code/marshmallow", 9, "3.0", 1), "base_commit": head}  # version 3.0: in SWE-bench's specs
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([row]))
    results = tmp_path / "results.jsonl"
    earlier = json.dumps({"instance_id": "other__lib-1", "repo": "other/lib", "version": "1.0", "outcome": "valid"})
    results.write_text(earlier + '\n{"instance_id": "marshmallow-code__marshm')  # a row torn by a kill
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, str(SCRIPT), str(rows), "--repos-dir", str(repos), "--results", str(results)],
                            env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    # the clone inside the derivation's folder: the folder is in its `with` block by then (a signal in
    # the instant between mkdtemp and the cleanup's registration would leave it, as for any process)
    while not list(tmp.glob("swesrl-derive-*/repo")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp.glob("swesrl-derive-*/repo")), "the environment was never being derived"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "line 2: not a complete row" in err and "interrupted: the instance under way has no row" in err
    assert results.read_text() == earlier + '\n{"instance_id": "marshmallow-code__marshm'  # nothing half-written added
    assert not list(tmp.glob("swesrl-*"))  # its temporary folders were removed on the way out
    script = _script()
    script.append_line(results, json.dumps({"instance_id": "x__y-1"}))
    assert list(script.read_results(results)) == ["other__lib-1", "x__y-1"]  # the next row starts on a line of its own
