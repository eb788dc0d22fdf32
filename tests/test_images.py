"""Layered images: stable tags for equal specs, deterministic base commits, no peeking past the base
commit, and (with Docker) a real instance image with its repo installed."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swesrl.cli import app
from swesrl.sandbox.base_images import SUITES
from swesrl.sandbox.images import (
    BASE_TAG,
    EnvironmentSpec,
    InstanceSpec,
    RepoSource,
    ensure_base_image,
    ensure_instance_image,
    list_images,
    prepare_repo,
    probe,
)


def write_tiny_project(root: Path) -> Path:
    (root / "tiny").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "tiny"\nversion = "0.1"\n'
    )
    (root / "tiny" / "__init__.py").write_text("def add(a, b):\n    return a + b\n")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "run.sh").chmod(0o755)
    return root


def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_tiny_project(tmp_path / "tiny-0.1")


def test_equal_specs_share_a_key_and_changes_change_it(tiny: Path) -> None:
    env = EnvironmentSpec(python_packages=("pytest==8.3.3",))
    assert env.key() == EnvironmentSpec(python_packages=("pytest==8.3.3",)).key()
    assert env.key() != EnvironmentSpec(python_packages=("pytest==8.3.4",)).key()
    assert env.key() != EnvironmentSpec(python_packages=("pytest==8.3.3",), base_image="python:3.11-slim").key()

    spec = InstanceSpec(environment=env, repo=RepoSource(kind="dir", location=str(tiny)))
    same = InstanceSpec(environment=env, repo=RepoSource(kind="dir", location=str(tiny)))
    assert spec.key() == same.key()
    assert spec.key() != InstanceSpec(environment=env, repo=RepoSource(kind="dir", location=str(tiny), patch="x")).key()
    assert spec.key() != InstanceSpec(environment=env, repo=spec.repo, install_commands=()).key()
    before = spec.key()
    (tiny / "tiny" / "__init__.py").write_text("def add(a, b):\n    return a - b\n")  # the bytes count
    assert spec.key() != before


def test_dir_and_tarball_give_the_same_deterministic_base_commit(tiny: Path, tmp_path: Path) -> None:
    first = prepare_repo(RepoSource(kind="dir", location=str(tiny)), tmp_path / "a")
    again = prepare_repo(RepoSource(kind="dir", location=str(tiny)), tmp_path / "b")
    tarball = tmp_path / "tiny-0.1.tar.gz"
    with tarfile.open(tarball, "w:gz") as tf:
        tf.add(tiny, arcname="tiny-0.1")
    from_tar = prepare_repo(RepoSource(kind="tarball", location=str(tarball)), tmp_path / "c")
    assert first == again == from_tar
    assert git(tmp_path / "c", "rev-parse", BASE_TAG) == first
    assert git(tmp_path / "c", "ls-files", "-s", "run.sh").startswith("100755")  # modes survive
    assert git(tmp_path / "c", "status", "--porcelain") == ""


def test_patch_is_part_of_the_base_commit(tiny: Path, tmp_path: Path) -> None:
    bug = (
        "--- a/tiny/__init__.py\n+++ b/tiny/__init__.py\n@@ -1,2 +1,2 @@\n"
        " def add(a, b):\n-    return a + b\n+    return a - b\n"
    )
    clean = prepare_repo(RepoSource(kind="dir", location=str(tiny)), tmp_path / "clean")
    buggy = prepare_repo(RepoSource(kind="dir", location=str(tiny), patch=bug), tmp_path / "buggy")
    assert clean != buggy
    assert "a - b" in (tmp_path / "buggy" / "tiny" / "__init__.py").read_text()
    assert git(tmp_path / "buggy", "status", "--porcelain") == ""


def test_git_source_hides_everything_after_the_base_commit(tiny: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    subprocess.run(["cp", "-r", str(tiny), str(mirror)], check=True)
    git(mirror, "init", "-q")
    git(mirror, "add", "-A")
    git(mirror, "commit", "-qm", "one")
    git(mirror, "tag", "v0.1")
    base = git(mirror, "rev-parse", "HEAD")
    (mirror / "tiny" / "__init__.py").write_text("def add(a, b):\n    return b + a  # the fix\n")
    git(mirror, "commit", "-qam", "the fix")
    git(mirror, "tag", "v0.2")
    fix = git(mirror, "rev-parse", "HEAD")

    dest = tmp_path / "testbed"
    assert prepare_repo(RepoSource(kind="git", location=str(mirror), commit=base), dest) == base
    assert git(dest, "tag").split() == ["swesrl-base", "v0.1"]
    assert subprocess.run(["git", "cat-file", "-e", fix], cwd=dest).returncode != 0
    assert "the fix" not in git(dest, "log", "--all", "--format=%s")


def test_a_mirror_missing_objects_gives_the_base_commit_alone_or_names_the_missing_files(tiny: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["cp", "-r", str(tiny), str(repo)], check=True)
    (repo / "big.dat").write_text("large data a snapshot left out\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "with data")
    with_data = git(repo, "rev-parse", "HEAD")
    git(repo, "rm", "-q", "big.dat")
    git(repo, "commit", "-qm", "data moved out")
    base = git(repo, "rev-parse", "HEAD")
    mirror = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--bare", "--no-hardlinks", str(repo), str(mirror)], check=True)
    blob = git(repo, "rev-parse", f"{with_data}:big.dat")
    (mirror / "objects" / blob[:2] / blob[2:]).unlink()  # loose objects: the mirror now lacks that file

    dest = tmp_path / "testbed"
    assert prepare_repo(RepoSource(kind="git", location=str(mirror), commit=base), dest) == base
    assert (dest / ".git" / "shallow").is_file() and git(dest, "log", "--format=%s").splitlines() == ["data moved out"]
    assert (dest / "tiny" / "__init__.py").is_file()
    with pytest.raises(RuntimeError, match=rf"lacks 1 file\(s\) of commit {with_data}'s own tree \(big.dat\)"):
        prepare_repo(RepoSource(kind="git", location=str(mirror), commit=with_data), tmp_path / "old")


def test_bad_sources_are_named(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not a directory"):
        prepare_repo(RepoSource(kind="dir", location=str(tmp_path / "missing")), tmp_path / "x")
    with pytest.raises(RuntimeError, match="name==version"):
        prepare_repo(RepoSource(kind="sdist", location="tiny"), tmp_path / "y")


# -- with Docker ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_instance(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, InstanceSpec]:
    """One instance image for the session: tiny project, no extra packages, the default editable install."""
    root = write_tiny_project(tmp_path_factory.mktemp("proj") / "tiny")
    spec = InstanceSpec(environment=EnvironmentSpec(), repo=RepoSource(kind="dir", location=str(root)))
    return ensure_instance_image(spec), spec


@pytest.mark.docker
def test_base_image_has_what_the_sandbox_needs() -> None:
    tag = ensure_base_image()
    assert ensure_base_image() == tag  # cached by hash
    script = "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'; git --version; patch --version | head -1; timeout --version | head -1"
    for suite, image in (("bookworm", tag), ("bullseye", ensure_base_image(suite="bullseye"))):
        code, out = probe(image, ["bash", "-c", script])
        assert code == 0 and out.decode().splitlines()[0] == SUITES[suite][0]
        assert all(word in out.decode() for word in ("git version", "patch", "timeout"))


@pytest.mark.docker
def test_instance_image_has_the_repo_installed_at_its_base_commit(tiny_instance, tmp_path: Path) -> None:
    from swesrl.sandbox.docker_sandbox import DockerSandbox

    tag, spec = tiny_instance
    assert tag == f"swesrl/instance:{spec.key()}"
    assert ensure_instance_image(spec) == tag
    expected = prepare_repo(spec.repo, tmp_path / "host")
    with DockerSandbox(tag, run_id="test-images") as sb:
        res = sb.exec("git rev-parse swesrl-base HEAD; cd / && python -c 'import tiny; print(tiny.add(2, 3))'; git -C /testbed status --porcelain", 60)
    assert res.exit_code == 0, res.output
    assert res.output.split() == [expected, expected, "5"]  # installed, and the install left no untracked files
    with DockerSandbox(tag, run_id="test-images") as sb:  # what tox-current-env does with sys.executable
        res = sb.exec("ln -s \"$(python -c 'import sys; print(sys.executable)')\" /tmp/python && /tmp/python -c 'import sys, tiny; print(sys.prefix)'", 60)
    assert res.output.split() == ["/opt/venv"], res.output


@pytest.mark.docker
def test_images_are_listed_by_kind_and_by_the_cli(tiny_instance) -> None:
    tag, _ = tiny_instance
    kinds = {i.tag: i.kind for i in list_images()}
    assert kinds[tag] == "instance"
    assert "base" in kinds.values() and "env" in kinds.values()
    res = CliRunner().invoke(app, ["sandbox", "images"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and tag in res.output


@pytest.mark.docker
def test_cli_base_and_doctor() -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["sandbox", "base"])
    assert res.exit_code == 0 and f"{ensure_base_image()} ready" in res.output
    res = runner.invoke(app, ["doctor"], env={"COLUMNS": "200"})
    rows = {line.split("│")[1].strip(): line for line in res.output.splitlines() if line.count("│") >= 4}
    assert " ok " in rows["docker daemon"] and " ok " in rows["base image"] and "disk free" in rows
    narrow = runner.invoke(app, ["doctor"], env={"COLUMNS": "50"})  # details and fixes fold, never cut
    assert "docker" in narrow.output and "…" not in narrow.output


def test_cli_shell_names_an_unknown_instance(tmp_path: Path) -> None:
    tasks = Path(__file__).resolve().parents[1] / "examples" / "tasks" / "tasks.jsonl"
    if not tasks.exists():
        pytest.skip("no bundled tasks")
    res = CliRunner().invoke(app, ["sandbox", "shell", "nobody__nothing-1", "--tasks", str(tasks)])
    assert res.exit_code != 0 and "nobody__nothing-1" in res.output
