"""Arrange fetched bare git mirrors into a --repos-dir: one `<owner>__<name>.git` link per repository.

Mirrors may sit anywhere below SOURCE, in folders named `owner+name`, `owner__name(.git)` or anything
else whose `remote.origin.url` names the GitHub repository. With --tasks, each task's base commit
(and environment_setup_commit) is looked up in its mirror, so a run knows up front what it can build.

    python scripts/prepare-mirrors.py /work/.mirror repos/ [--tasks swebench_lite_dev.csv]

Nothing is copied: the links point at the mirrors (never commit them).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path


def is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def repo_name(git_dir: Path, top: Path) -> str | None:
    """owner/name from the folder's name (`owner+name`, `owner__name.git`) or from its origin URL."""
    for part in (top.name, git_dir.name):
        m = re.fullmatch(r"([\w.-]+?)(?:\+|__)([\w.-]+?)(?:\.git)?", part)
        if m:
            return f"{m.group(1)}/{m.group(2)}"
    url = subprocess.run(["git", "--git-dir", str(git_dir), "config", "remote.origin.url"], capture_output=True, text=True).stdout
    m = re.search(r"github\.com[:/]([\w.-]+)/([\w.-]+?)(?:\.git)?/?$", url.strip())
    return f"{m.group(1)}/{m.group(2)}" if m else None


def find_mirrors(source: Path) -> dict[str, Path]:
    """owner/name -> git dir, for every git dir up to three levels below `source`."""
    found: dict[str, Path] = {}
    for top in sorted(p for p in source.iterdir() if p.is_dir()):
        candidates = [top, *sorted(top.glob("*")), *sorted(top.glob("*/*"))]
        git_dir = next((c for c in candidates if c.is_dir() and is_git_dir(c)), None)
        if git_dir is None and (top / ".git").is_dir():
            git_dir = top / ".git"
        name = repo_name(git_dir, top) if git_dir else None
        if name:
            found.setdefault(name, git_dir)
        else:
            print(f"skipped {top}: no git directory with a recognizable owner/name", file=sys.stderr)
    return found


def has_commit(git_dir: Path, commit: str) -> bool:
    proc = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "-e", f"{commit}^{{commit}}"], capture_output=True)
    return proc.returncode == 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="folder holding the fetched mirrors")
    ap.add_argument("repos_dir", type=Path, help="the --repos-dir to fill with <owner>__<name>.git links")
    ap.add_argument("--tasks", help="tasks file: report which base commits the mirrors hold")
    args = ap.parse_args()
    if not args.source.is_dir():
        print(f"{args.source} is not a folder", file=sys.stderr)
        return 1
    args.repos_dir.mkdir(parents=True, exist_ok=True)
    mirrors = find_mirrors(args.source)
    for name, git_dir in mirrors.items():
        link = args.repos_dir / (name.replace("/", "__") + ".git")
        if link.is_symlink() or not link.exists():
            link.unlink(missing_ok=True)
            link.symlink_to(git_dir.resolve(), target_is_directory=True)
        print(f"{link.name} -> {git_dir}")
    if not args.tasks:
        return 0
    from swesrl.eval.tasks import load_tasks

    errors: list = []
    tasks = load_tasks(args.tasks, errors=errors)
    for e in errors:
        print(f"bad task: {e}", file=sys.stderr)
    counts: Counter[str] = Counter()
    for t in tasks:
        git_dir = mirrors.get(t.repo)
        if git_dir is None:
            state = "no mirror"
        elif not has_commit(git_dir, t.base_commit):
            state = "base commit missing"
        elif t.environment_setup_commit and not has_commit(git_dir, t.environment_setup_commit):
            state = "environment_setup_commit missing"
        else:
            state = "ready"
        counts[state] += 1
        if state != "ready":
            print(f"{t.instance_id}: {state}")
    print(", ".join(f"{n} {s}" for s, n in counts.most_common()) + f" (of {len(tasks)} tasks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
