"""scripts/prepare-mirrors.py turns fetched bare mirrors into a --repos-dir and says what it can build."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from swesrl.eval.environment import repo_source

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "prepare-mirrors.py"


def _git(*args: str, cwd: Path) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": "/usr/bin:/bin", "GIT_CONFIG_GLOBAL": "/dev/null"}  # fmt: skip
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_fetched_mirrors_become_owner__name_links_and_tasks_are_checked(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    _git("init", "-q", cwd=work)
    (work / "a.py").write_text("x = 1\n")
    _git("add", "a.py", cwd=work)
    _git("commit", "-qm", "base", cwd=work)
    base = _git("rev-parse", "HEAD", cwd=work)
    fetched = tmp_path / "fetched"
    (fetched / "acme+widget").mkdir(parents=True)
    _git("clone", "-q", "--bare", str(work), str(fetched / "acme+widget" / "repo.git"), cwd=tmp_path)
    rows = [{"instance_id": f"acme__widget-{i}", "repo": "acme/widget", "base_commit": c, "problem_statement": "p",
             "FAIL_TO_PASS": ["t"], "test_cmd": "pytest"} for i, c in ((1, base), (2, "f" * 40))]  # fmt: skip
    rows.append(dict(rows[0], instance_id="other__lib-1", repo="other/lib"))
    tasks = tmp_path / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(r) + "\n" for r in rows))
    repos = tmp_path / "repos"
    out = subprocess.run([sys.executable, str(SCRIPT), str(fetched), str(repos), "--tasks", str(tasks)],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert (repos / "acme__widget.git").resolve() == (fetched / "acme+widget" / "repo.git").resolve()
    assert "acme__widget-2: base commit missing" in out and "other__lib-1: no mirror" in out
    assert "1 ready" in out
    from swesrl.eval.tasks import load_tasks

    src = repo_source(load_tasks(tasks)[0], repos)
    assert (src.kind, src.commit) == ("git", base)
