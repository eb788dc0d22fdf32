"""Layered images built without a registry: base (Debian + Python + git) -> environment (a venv with
pinned packages) -> instance (the repository at /testbed on its base commit).

Every layer is tagged by a content hash of its spec, so equal specs reuse the image and a changed spec
builds a new one. Nothing inside a build touches the network: packages are fetched on the host (whose
pip configuration knows the local indexes) and installed from the build context with `--no-index`.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import docker
import docker.errors

from swesrl.errors import DiskFull, DockerUnavailable, SwesrlError
from swesrl.util import safe_name

log = logging.getLogger(__name__)

Progress = Callable[[str], None] | None

# python3-wheel-whl: venvs get `wheel` offline, which `pip install --no-build-isolation -e .` needs.
BASE_PACKAGES = (
    "python3", "python3-venv", "python3-pip", "python3-wheel-whl", "git", "ca-certificates", "patch", "procps",
)  # fmt: skip
_DPKG_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")
# Bump when the base build below changes in a way its key does not capture (packages and excludes
# are in the key). Environment and instance keys include their Dockerfile templates' text instead.
_BASE_RECIPE = 2
_REPO_RECIPE = 1  # bump when prepare_repo changes what ends up in /testbed
_KINDS = ("base", "env", "instance")

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
BASE_TAG = "swesrl-base"
# Files that running or installing a repo creates and that must never end up in a model's patch.
_GIT_EXCLUDES = "__pycache__/\n*.py[cod]\n*.egg-info/\n.eggs/\n.pytest_cache/\n.mypy_cache/\n.hypothesis/\n.tox/\n"


class ImageBuildError(RuntimeError):
    """A layer failed to build; the message names the layer and ends with the build log's tail."""


def _key(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class EnvironmentSpec:
    python_packages: tuple[str, ...] = ()  # pip requirement specs, e.g. "pytest==8.3.3"
    setup_commands: tuple[str, ...] = ()  # shell commands run (offline) after the packages are installed
    base_image: str | None = None  # None = swesrl's own Debian base, built locally

    def key(self) -> str:
        recipe = _template("environment.Dockerfile")
        return _key({"recipe": recipe, "base": _base_key(self.base_image), **asdict(self)})


@dataclass(frozen=True)
class RepoSource:
    kind: Literal["git", "dir", "tarball", "sdist"]
    location: str  # git URL or mirror path / directory / .tar.gz or .zip path / "name==version"
    commit: str | None = None  # git: the base commit (default: the mirror's HEAD)
    patch: str | None = None  # applied before the base commit is made (how bundled tasks inject a bug)
    subdir: str | None = None  # top folder inside a tarball/sdist; auto-detected when None

    def key(self) -> str:
        return _key({**asdict(self), "content": _source_digest(self)})


@dataclass(frozen=True)
class InstanceSpec:
    environment: EnvironmentSpec
    repo: RepoSource
    install_commands: tuple[str, ...] = ("python -m pip install --no-deps --no-build-isolation -e .",)
    env: tuple[tuple[str, str], ...] = ()  # ENV lines of the image, e.g. SETUPTOOLS_SCM_PRETEND_VERSION

    def key(self) -> str:
        return _key(
            {
                "recipe": [_template("instance.Dockerfile"), _REPO_RECIPE],
                "environment": self.environment.key(),
                "repo": self.repo.key(),
                "install": list(self.install_commands),
                "env": [list(kv) for kv in self.env],
            }
        )


@dataclass(frozen=True)
class ImageInfo:
    tag: str
    kind: str  # base | env | instance
    size_bytes: int
    created: str


# -- docker helpers ---------------------------------------------------------------------------------


def _client() -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=600)
        client.ping()
        return client
    except Exception as e:
        raise DockerUnavailable(e) from e


def image_exists(name: str) -> bool:
    try:
        _client().images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


@contextlib.contextmanager
def _build_lock(tag: str) -> Iterator[None]:
    """One build per tag across processes (parallel evaluations and test runs ask for the same
    images at once); callers re-check the image under the lock."""
    d = Path(tempfile.gettempdir()) / "swesrl-image-locks"
    d.mkdir(exist_ok=True)
    with open(d / (safe_name(tag) + ".lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _say(progress: Progress, msg: str) -> None:
    if progress:
        progress(msg)


def _build(context: Path, dockerfile: str, tag: str, what: str, progress: Progress) -> str:
    """Legacy `docker build --network none` (no BuildKit here); raise with the log's tail on failure."""
    (context / "Dockerfile").write_text(dockerfile)
    log: list[str] = []
    api = _client().api
    try:
        for chunk in api.build(path=str(context), tag=tag, network_mode="none", rm=True, forcerm=True, decode=True):
            if "stream" in chunk:
                line = chunk["stream"].rstrip()
                if line:
                    log.append(line)
                    _say(progress, line)
            if "error" in chunk:
                log.append(chunk["error"].rstrip())
                raise ImageBuildError(f"building the {what} image {tag} failed:\n" + "\n".join(log[-40:]))
    except docker.errors.APIError as e:
        raise ImageBuildError(f"building the {what} image {tag} failed: {e}\n" + "\n".join(log[-40:])) from e
    return tag


@functools.cache
def _template(name: str) -> str:
    return (resources.files("swesrl.sandbox") / "dockerfiles" / name).read_text()


# -- base ---------------------------------------------------------------------------------------------


def _debian_suite() -> str:
    if os.environ.get("SWESRL_DEBIAN_SUITE"):
        return os.environ["SWESRL_DEBIAN_SUITE"]
    os_release = Path("/etc/os-release")
    if os_release.exists():
        m = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", os_release.read_text(), re.M)
        if m:
            return m.group(1)
    return "bookworm"


def apt_mirror(suite: str) -> str:
    """The host's own Debian mirror for `suite` (set SWESRL_DEBIAN_MIRROR to override)."""
    if os.environ.get("SWESRL_DEBIAN_MIRROR"):
        return os.environ["SWESRL_DEBIAN_MIRROR"]
    stanzas: list[tuple[list[str], list[str], list[str]]] = []  # (uris, suites, components)
    for f in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for block in re.split(r"\n\s*\n", f.read_text()):
            fields = dict(
                (k.strip().lower(), v.split())
                for k, _, v in (ln.partition(":") for ln in block.splitlines() if ln and not ln.startswith("#"))
            )
            if "deb" in fields.get("types", []) and fields.get("enabled", ["yes"]) != ["no"]:
                stanzas.append((fields.get("uris", []), fields.get("suites", []), fields.get("components", [])))
    for f in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*.list"))]:
        if f.exists():
            for line in f.read_text().splitlines():
                words = re.sub(r"\[[^]]*\]", "", line).split()
                if len(words) >= 4 and words[0] == "deb":
                    stanzas.append(([words[1]], [words[2]], words[3:]))
    for uris, suites, comps in stanzas:
        if suite in suites and "main" in comps and uris:
            return uris[0]
    raise SwesrlError(
        f"no apt source for suite {suite!r} with component main in /etc/apt: set SWESRL_DEBIAN_MIRROR to a Debian mirror URL"
    )


def _base_key(base_image: str | None) -> str:
    if base_image:
        return base_image
    return _key({"recipe": _BASE_RECIPE, "suite": _debian_suite(), "packages": BASE_PACKAGES, "exclude": _DPKG_EXCLUDES})


def base_image_tag(base_image: str | None = None) -> str:
    return base_image or f"swesrl/base:{_base_key(None)}"


def ensure_base_image(base_image: str | None = None, *, progress: Progress = None) -> str:
    """The base image's name, built once with mmdebstrap + `docker import` (~30 s) and reused after.

    A `base_image` of your own (e.g. "python:3.11-slim", pulled if missing) is used as-is: it must
    provide bash, coreutils `timeout`, git, patch and python3 with venv.
    """
    client = _client()
    if base_image:
        try:
            client.images.get(base_image)
        except docker.errors.ImageNotFound:
            _say(progress, f"pulling {base_image}")
            client.images.pull(base_image)
        return base_image
    tag = base_image_tag()
    if image_exists(tag):
        return tag
    with _build_lock(tag):
        if not image_exists(tag):
            _build_base(tag, progress)
    return tag


def _build_base(tag: str, progress: Progress) -> None:
    client = _client()
    if not shutil.which("mmdebstrap"):
        _say(progress, "installing mmdebstrap (apt-get)")
        _host(["apt-get", "install", "-y", "-qq", "mmdebstrap"], "installing mmdebstrap", env={"DEBIAN_FRONTEND": "noninteractive"})
    suite = _debian_suite()
    mirror = apt_mirror(suite)
    _say(progress, f"building {tag}: mmdebstrap {suite} from {mirror}")
    with tempfile.TemporaryDirectory(prefix="swesrl-base-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        cmd = [
            "mmdebstrap", "--quiet", "--mode=root", "--variant=apt", "--include=" + ",".join(BASE_PACKAGES),
            *(f"--dpkgopt=path-exclude={p}" for p in _DPKG_EXCLUDES),
            "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            # agents may commit; and a repo owned by another uid must still be usable
            '--customize-hook=chroot "$1" git config --system user.name swesrl',
            '--customize-hook=chroot "$1" git config --system user.email swesrl@localhost',
            '--customize-hook=chroot "$1" git config --system --add safe.directory "*"',
            '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
            suite, str(rootfs), mirror,
        ]  # fmt: skip
        _host(cmd, f"building the base image {tag} (mmdebstrap)")
        client.api.import_image(
            src=str(rootfs),
            repository=tag.split(":")[0],
            tag=tag.split(":")[1],
            changes=[f'LABEL swesrl.kind="base" swesrl.key="{_base_key(None)}"', "ENV LANG=C.UTF-8", 'CMD ["bash"]'],
        )
    if not image_exists(tag):
        raise ImageBuildError(f"docker import did not produce {tag}")


def _host(cmd: list[str], what: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-30:]
        raise ImageBuildError(f"{what} failed (exit {proc.returncode}): {shlex.join(cmd)}\n" + "\n".join(tail))
    return proc.stdout


# -- environment --------------------------------------------------------------------------------------


def ensure_environment_image(spec: EnvironmentSpec, *, progress: Progress = None) -> str:
    """swesrl/env:<key>: a venv at /opt/venv (on PATH) with `spec.python_packages`, built offline."""
    tag = f"swesrl/env:{spec.key()}"
    if image_exists(tag):
        return tag
    base = ensure_base_image(spec.base_image, progress=progress)
    with _build_lock(tag), tempfile.TemporaryDirectory(prefix="swesrl-env-") as tmp:
        if image_exists(tag):
            return tag
        ctx = Path(tmp)
        wheels = ctx / "wheels"
        wheels.mkdir()
        install = ""
        if spec.python_packages:
            _check_python_matches_host(base)
            _say(progress, f"pip wheel (host) {' '.join(spec.python_packages)}")
            _host(
                [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels), *spec.python_packages],
                f"fetching the environment's packages on the host for {tag}",
            )
            pkgs = " ".join(shlex.quote(p) for p in spec.python_packages)
            install = f"&& /opt/venv/bin/python -m pip install --quiet --find-links /tmp/swesrl-wheels {pkgs} "
        setup = "\n".join(f"RUN {c}" for c in spec.setup_commands)
        dockerfile = _template("environment.Dockerfile").format(base=base, key=spec.key(), install=install, setup=setup)
        _say(progress, f"building {tag}")
        return _build(ctx, dockerfile, tag, "environment", progress)


def _check_python_matches_host(base: str) -> None:
    """Wheels are built by the host's Python, so the image's Python must be the same minor version."""
    host = f"{sys.version_info[0]}.{sys.version_info[1]}"
    out = _client().containers.run(
        base, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], network_mode="none", remove=True
    )
    image = out.decode().strip()
    if image != host:
        raise ImageBuildError(
            f"base image {base} has Python {image} but the host builds wheels with Python {host}: "
            f"run swesrl with a Python {image} or pick a base image with Python {host}"
        )


# -- instance -----------------------------------------------------------------------------------------


def ensure_instance_image(
    spec: InstanceSpec, *, image_template: str | None = None, instance_id: str = "", progress: Progress = None
) -> str:
    """swesrl/instance:<key>, or `image_template.format(instance_id=...)` when that image exists locally
    (e.g. 'swebench/sweb.eval.x86_64.{instance_id}:latest' for users who pulled SWE-bench's images)."""
    if image_template and instance_id:
        name = image_template.format(instance_id=instance_id)
        if image_exists(name):
            return name
    tag = f"swesrl/instance:{spec.key()}"
    if image_exists(tag):
        return tag
    env_image = ensure_environment_image(spec.environment, progress=progress)
    with _build_lock(tag), tempfile.TemporaryDirectory(prefix="swesrl-instance-") as tmp:
        if image_exists(tag):
            return tag
        ctx = Path(tmp)
        _say(progress, f"preparing /testbed from {spec.repo.kind} {spec.repo.location}")
        prepare_repo(spec.repo, ctx / "testbed")
        envs = dict(spec.env)
        if spec.repo.kind == "sdist" and "SETUPTOOLS_SCM_PRETEND_VERSION" not in envs:
            envs["SETUPTOOLS_SCM_PRETEND_VERSION"] = spec.repo.location.partition("==")[2]
        env_lines = "\n".join(f"ENV {k}={json.dumps(v)}" for k, v in envs.items())
        install = "\n".join(f"RUN {c}" for c in spec.install_commands)
        dockerfile = _template("instance.Dockerfile").format(env=env_image, key=spec.key(), envs=env_lines, install=install)
        _say(progress, f"building {tag}")
        return _build(ctx, dockerfile, tag, "instance", progress)


def _git(args: list[str], cwd: Path, what: str) -> str:
    return _host(["git", *args], what, cwd=cwd, env=_GIT_IDENTITY)


def prepare_repo(src: RepoSource, dest: Path) -> str:
    """Lay the repository out at `dest` with a commit tagged swesrl-base; return that commit's hash.

    git: a clone at `src.commit`, stripped of every ref the base commit cannot reach (no peeking at the
    fix). dir/tarball/sdist: the files committed by a fixed identity and date, so equal trees give equal
    hashes. `src.patch` is applied and committed on top in both cases.
    """
    where = f"{src.kind} source {src.location}"
    if src.kind == "git":
        _host(["git", "clone", "--quiet", "--no-checkout", src.location, str(dest)], f"cloning {where}", env=_GIT_IDENTITY)
        commit = src.commit or _git(["rev-parse", "HEAD"], dest, f"reading HEAD of {where}").strip()
        _git(["checkout", "--quiet", "--detach", commit], dest, f"checking out {commit} of {where}")
        keep = set(_git(["tag", "--merged", commit], dest, "listing tags").split())
        for ref in _git(["for-each-ref", "--format=%(refname)"], dest, "listing refs").split():
            if not (ref.startswith("refs/tags/") and ref[len("refs/tags/"):] in keep):
                _git(["update-ref", "-d", ref], dest, f"dropping {ref}")
        _git(["remote", "remove", "origin"], dest, "dropping the remote")
        _git(["reflog", "expire", "--expire=now", "--all"], dest, "expiring reflogs")
        _git(["gc", "--quiet", "--prune=now"], dest, "pruning unreachable objects")
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
        _host(
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


# -- housekeeping -------------------------------------------------------------------------------------


def list_images() -> list[ImageInfo]:
    """Every image swesrl built (label swesrl.kind), base first."""
    out = []
    for img in _client().images.list(filters={"label": "swesrl.kind"}):
        kind = img.labels.get("swesrl.kind", "?")
        for tag in img.tags or [img.short_id]:
            out.append(ImageInfo(tag=tag, kind=kind, size_bytes=img.attrs.get("Size", 0), created=img.attrs.get("Created", "")))
    return sorted(out, key=lambda i: (_KINDS.index(i.kind) if i.kind in _KINDS else 9, i.tag))


def prune_images(kind: Literal["instance", "all"] = "instance") -> list[str]:
    """Remove swesrl's instance images (or all its images) and untagged leftovers of failed builds;
    return the removed names. Images a container still uses are kept and reported."""
    if kind not in ("instance", "all"):
        raise ValueError(f"prune_images: kind must be 'instance' or 'all', got {kind!r}")
    client = _client()
    removed = []
    for info in reversed(list_images()):  # instances before environments before bases
        dangling = not info.tag.startswith("swesrl/")  # left by failed or raced builds
        if kind == "all" or info.kind == "instance" or dangling:
            try:
                client.images.remove(info.tag)
                removed.append(info.tag)
            except docker.errors.APIError as e:
                log.warning(f"kept {info.tag}: {e.explanation}")
    return removed


def check_disk(min_free_gb: float = 10.0) -> float:
    """Free GB where Docker stores images; raise when below `min_free_gb` (builds fail midway otherwise)."""
    root = _client().info().get("DockerRootDir", "/var/lib/docker")
    path = root if os.path.exists(root) else "/"
    free = shutil.disk_usage(path).free / 1e9
    if free < min_free_gb:
        raise DiskFull(
            f"only {free:.1f} GB free under {path} (need {min_free_gb} GB): run `swesrl sandbox prune --images instance`"
        )
    return free
