"""Repository sources for instance images: a git mirror at a commit, a folder, a tarball or an sdist,
laid out as a git repository whose commit tagged swesrl-base is the task's base commit."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, get_args

from .host import ImageBuildError, run_host, spec_key

BASE_TAG = "swesrl-base"
REPO_RECIPE = 1  # bump when prepare_repo changes what ends up in /testbed
# Deterministic base commits: same tree -> same hash, on any machine.
_GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "swesrl",
    "GIT_AUTHOR_EMAIL": "swesrl@localhost",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00+0000",
    "GIT_COMMITTER_NAME": "swesrl",
    "GIT_COMMITTER_EMAIL": "swesrl@localhost",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00+0000",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}
# Files that running or installing a repo creates and that must never end up in a model's patch.
_GIT_EXCLUDES = "__pycache__/\n*.py[cod]\n*.egg-info/\n.eggs/\n.pytest_cache/\n.mypy_cache/\n.hypothesis/\n.tox/\n"


RepoKind = Literal["git", "dir", "tarball", "sdist"]
REPO_KINDS: tuple[str, ...] = get_args(RepoKind)


@dataclass(frozen=True)
class RepoSource:
    """Where a repository tree comes from: what an instance image is built from, and what a task's
    `environment.repo` names."""

    kind: RepoKind
    location: str  # git URL or mirror path / directory / .tar.gz or .zip path / "name==version"
    commit: str | None = None  # git: the base commit (default: the mirror's HEAD)
    patch: str | None = None  # applied before the base commit is made (how bundled tasks inject a bug)
    subdir: str | None = None  # top folder inside a tarball/sdist; auto-detected when None

    def key(self) -> str:
        return spec_key({**asdict(self), "content": _source_digest(self)})


def _git(args: list[str], cwd: Path, what: str) -> str:
    return run_host(["git", *args], what, cwd=cwd, env=_GIT_IDENTITY)


def prepare_repo(src: RepoSource, dest: Path) -> str:
    """Lay the repository out at `dest` with a commit tagged swesrl-base; return that commit's hash.

    git: a clone at `src.commit`, stripped of every ref the base commit cannot reach (no peeking at the
    fix). dir/tarball/sdist: the files committed by a fixed identity and date, so equal trees give equal
    hashes. `src.patch` is applied and committed on top in both cases.
    """
    where = f"{src.kind} source {src.location}"
    if src.kind == "git":
        try:
            _clone_history(src, dest, where)
        except ImageBuildError:
            _clone_base_only(src, dest, where)  # or say which of the base commit's own files are missing
    else:
        with tempfile.TemporaryDirectory(prefix="swesrl-src-") as tmp:
            tree = _source_tree(src, Path(tmp))
            shutil.copytree(tree, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        _git(["init", "--quiet"], dest, f"git init for {where}")
    (dest / ".git" / "info").mkdir(parents=True, exist_ok=True)
    (dest / ".git" / "info" / "exclude").write_text(_GIT_EXCLUDES)
    if src.kind != "git":
        _git(["add", "-A"], dest, f"staging {where}")
        _git(["commit", "--quiet", "--no-verify", "--allow-empty", "-m", "swesrl base"], dest, f"committing {where}")
    if src.patch:
        patch = dest / ".git" / "swesrl-task.patch"
        patch.write_text(src.patch if src.patch.endswith("\n") else src.patch + "\n")
        _git(["apply", "--whitespace=nowarn", str(patch)], dest, f"applying RepoSource.patch to {where}")
        patch.unlink()
        _git(["add", "-A"], dest, "staging the task patch")
        _git(["commit", "--quiet", "--no-verify", "-m", "swesrl task patch"], dest, "committing the task patch")
    _git(["tag", BASE_TAG], dest, "tagging the base commit")
    return _git(["rev-parse", "HEAD"], dest, "reading the base commit").strip()


def working_tree_changes(repo: Path) -> str:
    """A git repository's uncommitted changes (edits, deletions, new files git does not ignore) as a
    binary diff against HEAD: what a folder holds on disk beyond its last commit ('' when clean).

    Staged through a copy of the repository's index, so the user's own index is left untouched.
    """
    where = f"the working tree of {repo}"
    git_dir = Path(_git(["rev-parse", "--absolute-git-dir"], repo, f"finding the git folder of {repo}").strip())
    with tempfile.TemporaryDirectory(prefix="swesrl-index-") as tmp:
        index = Path(tmp) / "index"
        if (git_dir / "index").is_file():  # its stat cache spares re-hashing unchanged files
            shutil.copyfile(git_dir / "index", index)
        env = {**_GIT_IDENTITY, "GIT_INDEX_FILE": str(index)}
        run_host(["git", "add", "--all", "."], f"reading {where}", cwd=repo, env=env)
        tree = run_host(["git", "write-tree"], f"reading {where}", cwd=repo, env=env).strip()
    proc = subprocess.run(["git", "diff", "--binary", "--no-color", "--no-ext-diff", "HEAD", tree],
                          cwd=repo, capture_output=True, env={**os.environ, **_GIT_IDENTITY})
    if proc.returncode != 0:
        raise ImageBuildError(f"diffing {where} against HEAD failed: {proc.stderr.decode(errors='replace').strip()}")
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ImageBuildError(f"the uncommitted changes in {repo} hold text that is not UTF-8: commit or stash them") from None


def _clone_history(src: RepoSource, dest: Path, where: str) -> None:
    """The base commit with its history and the tags it contains; nothing that came after it."""
    run_host(["git", "clone", "--quiet", "--no-checkout", src.location, str(dest)], f"cloning {where}", env=_GIT_IDENTITY)
    commit = src.commit or _git(["rev-parse", "HEAD"], dest, f"reading HEAD of {where}").strip()
    _git(["checkout", "--quiet", "--detach", commit], dest, f"checking out {commit} of {where}")
    keep = set(_git(["tag", "--merged", commit], dest, "listing tags").split())
    for ref in _git(["for-each-ref", "--format=%(refname)"], dest, "listing refs").split():
        if not (ref.startswith("refs/tags/") and ref[len("refs/tags/"):] in keep):
            _git(["update-ref", "-d", ref], dest, f"dropping {ref}")
    _git(["remote", "remove", "origin"], dest, "dropping the remote")
    _git(["reflog", "expire", "--expire=now", "--all"], dest, "expiring reflogs")
    _git(["gc", "--quiet", "--prune=now"], dest, "pruning unreachable objects")


def _clone_base_only(src: RepoSource, dest: Path, where: str) -> None:
    """A mirror that lacks objects (snapshots of big repositories leave out their largest files)
    fails the clone above wherever a missing object is reachable from the base commit. When none is
    in the base commit's own tree, the base commit alone (depth 1, no history: `.git/shallow` says
    so) still gives the repository as the task needs it; else no source can, and the error names
    the missing files."""
    commit = src.commit or _git(["rev-parse", "HEAD"], Path(src.location), f"reading HEAD of {where}").strip()
    missing = missing_in_tree(src.location, commit)
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise ImageBuildError(f"{where} lacks {len(missing)} file(s) of commit {commit}'s own tree ({shown}): "
                              "a complete mirror (`git clone --mirror`) has them")  # fmt: skip
    shutil.rmtree(dest, ignore_errors=True)
    _git(["init", "--quiet", str(dest)], Path(src.location), f"git init for {where}")
    upload = "git -c uploadpack.allowAnySHA1InWant=true upload-pack"  # the base commit is rarely a branch tip
    url = Path(src.location).resolve().as_uri()
    _git(["fetch", "--quiet", "--depth", "1", "--upload-pack", upload, url, commit], dest, f"fetching {commit} alone from {where}")
    _git(["checkout", "--quiet", "--detach", commit], dest, f"checking out {commit} of {where}")
    (dest / ".git" / "FETCH_HEAD").unlink(missing_ok=True)
    _git(["gc", "--quiet", "--prune=now"], dest, "packing the base commit")


def missing_in_tree(mirror: str, commit: str) -> list[str]:
    """Paths of `commit`'s tree whose blobs the mirror lacks."""
    tree = _git(["ls-tree", "-r", "-z", commit], Path(mirror), f"listing {commit} in {mirror}")
    paths = {}
    for entry in tree.split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            if meta.split()[1] == "blob":  # not submodules' commits
                paths[meta.split()[2]] = path
    proc = subprocess.run(["git", "-C", mirror, "cat-file", "--batch-check"], input="\n".join(paths) + "\n",
                          capture_output=True, text=True, env={**os.environ, **_GIT_IDENTITY})  # fmt: skip
    return sorted(paths[line.split()[0]] for line in proc.stdout.splitlines() if line.endswith(" missing"))


def _source_tree(src: RepoSource, tmp: Path) -> Path:
    """The directory holding the repository's files for dir/tarball/sdist sources."""
    if src.kind == "dir":
        path = Path(src.location)
        if not path.is_dir():
            raise ImageBuildError(f"RepoSource(kind='dir'): {path} is not a directory")
        return path
    if src.kind == "sdist":
        if "==" not in src.location:
            raise ImageBuildError(f"RepoSource(kind='sdist'): location must be 'name==version', got {src.location!r}")
        dl = tmp / "download"
        run_host(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-binary", ":all:", "--no-deps", "--dest", str(dl), src.location],
            f"downloading the sdist {src.location}",
        )
        archives = sorted(dl.iterdir())
        if len(archives) != 1:
            raise ImageBuildError(f"pip download {src.location} gave {len(archives)} files, expected one sdist")
        archive = archives[0]
    elif src.kind == "tarball":
        archive = Path(src.location)
        if not archive.is_file():
            raise ImageBuildError(f"RepoSource(kind='tarball'): {archive} is not a file")
    else:
        raise ImageBuildError(f"RepoSource.kind must be git, dir, tarball or sdist, got {src.kind!r}")
    out = tmp / "extract"
    out.mkdir()
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(out)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(out, filter="data")
    if src.subdir:
        tree = out / src.subdir
        if not tree.is_dir():
            raise ImageBuildError(f"{archive}: subdir {src.subdir!r} not found (has: {sorted(p.name for p in out.iterdir())})")
        return tree
    entries = list(out.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else out


def _source_digest(src: RepoSource) -> str:
    """What the key must see besides the spec's fields: the bytes of a local dir or tarball."""
    h = hashlib.sha256()
    if src.kind == "dir" and Path(src.location).is_dir():
        root = Path(src.location)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in (".git", "__pycache__"))
            for name in sorted(filenames):
                p = Path(dirpath, name)
                h.update(str(p.relative_to(root)).encode() + b"\0")
                if p.is_symlink():
                    h.update(b"L" + os.readlink(p).encode())
                elif p.is_file():
                    h.update(b"X" if os.access(p, os.X_OK) else b"F")
                    h.update(p.read_bytes())
    elif src.kind == "tarball" and Path(src.location).is_file():
        h.update(Path(src.location).read_bytes())
    elif src.kind == "git" and src.commit is None and Path(src.location).exists():
        h.update(_git(["rev-parse", "HEAD"], Path(src.location), f"reading HEAD of {src.location}").encode())
    return h.hexdigest()[:16]


