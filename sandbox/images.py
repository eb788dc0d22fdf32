"""Layered images built without a registry: base (Debian + Python + git) -> environment (a venv with
pinned packages) -> instance (the repository at /testbed on its base commit).

Every layer is tagged by a content hash of its spec, so equal specs reuse the image and a changed spec
builds a new one. Nothing inside a build touches the network: packages are resolved and downloaded
on the host for the image's Python, installed in a first build stage with `--no-index`, and only the
installed venv is copied into the environment image (the downloaded files never reach a layer).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import json
import logging
import os
import shlex
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import docker
import docker.errors

from swesrl.errors import DiskFull, DockerUnavailable
from swesrl.util import safe_name

from .base_images import SUITES, base_key, ensure_base_image, suite_for_python
from .base_images import base_image_tag as base_image_tag
from .host import ImageBuildError as ImageBuildError
from .host import spec_key
from .repo_sources import BASE_TAG as BASE_TAG
from .repo_sources import REPO_RECIPE, RepoSource, prepare_repo
from .wheels import Target, compile_closure, download

log = logging.getLogger(__name__)

Progress = Callable[[str], None] | None
_KINDS = ("base", "env", "instance")
# Installed first, on their own: the rest may need them to build (sdists) or be installed by them (pip).
_TOOLS = ("pip", "setuptools", "wheel")


@dataclass(frozen=True)
class EnvironmentSpec:
    python_packages: tuple[str, ...] = ()  # pip requirement specs, e.g. "pytest==8.3.3"
    setup_commands: tuple[str, ...] = ()  # shell commands run (offline) after the packages are installed
    base_image: str | None = None  # None = swesrl's own Debian base for `python`, built locally
    python: str | None = None  # wanted Python ("3.9"): the Debian suite with the nearest one; None = the host's suite
    deviations: tuple[str, ...] = ()  # what differs from the spec it was derived from (kept in the image's labels)

    def key(self) -> str:
        suite = None if self.base_image else suite_for_python(self.python)
        recipe = _template("environment.Dockerfile")
        return spec_key({"recipe": recipe, "base": base_key(self.base_image, suite), **asdict(self)})


@dataclass(frozen=True)
class InstanceSpec:
    environment: EnvironmentSpec
    repo: RepoSource
    install_commands: tuple[str, ...] = ("python -m pip install --no-deps --no-build-isolation -e .",)
    env: tuple[tuple[str, str], ...] = ()  # ENV lines of the image, e.g. SETUPTOOLS_SCM_PRETEND_VERSION

    def key(self) -> str:
        return spec_key(
            {
                "recipe": [_template("instance.Dockerfile"), REPO_RECIPE],
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
    size_bytes: int  # the whole image
    created: str
    own_bytes: int | None  # what its own layers add to the image it was built from (None: that image is gone)


# -- docker helpers ---------------------------------------------------------------------------------


_clients = threading.local()


def docker_client() -> docker.DockerClient:
    """A checked client, one per thread, process and daemon address: making one costs a version query
    and a ping, and one evaluation asks for a client several times (measured: 15 API calls per
    evaluation against a minimal evaluator's 6, bench/eval_throughput.py)."""
    key = (os.getpid(), os.environ.get("DOCKER_HOST", ""))
    cached: dict[tuple[int, str], docker.DockerClient] = getattr(_clients, "by_key", {})
    if key in cached:
        return cached[key]
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as e:
        raise DockerUnavailable(e) from e
    _clients.by_key = {**cached, key: client}
    return client


def image_exists(name: str) -> bool:
    try:
        docker_client().images.get(name)
        return True
    except docker.errors.ImageNotFound:
        return False


@contextlib.contextmanager
def build_lock(tag: str) -> Iterator[None]:
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


def say(progress: Progress, msg: str) -> None:
    if progress:
        progress(msg)


def _build(context: Path, dockerfile: str, tag: str, what: str, progress: Progress) -> str:
    """Legacy `docker build --network none` (no BuildKit here); raise with the log's tail on failure."""
    (context / "Dockerfile").write_text(dockerfile)
    log: list[str] = []
    api = docker_client().api
    try:
        for chunk in api.build(path=str(context), tag=tag, network_mode="none", rm=True, forcerm=True, decode=True):
            if "stream" in chunk:
                line = chunk["stream"].rstrip()
                if line:
                    log.append(line)
                    say(progress, line)
            if "error" in chunk:
                log.append(chunk["error"].rstrip())
                raise ImageBuildError(f"building the {what} image {tag} failed:\n" + "\n".join(log[-40:]))
    except docker.errors.APIError as e:
        raise ImageBuildError(f"building the {what} image {tag} failed: {e}\n" + "\n".join(log[-40:])) from e
    return tag


def probe(image: str, argv: list[str]) -> tuple[int, bytes]:
    """Exit code and stdout of a short command in a throwaway container without network. Through an
    exec, whose output is streamed: the logs of a container that just exited can still be empty."""
    container = docker_client().containers.run(image, ["sleep", "600"], detach=True, network_mode="none", entrypoint=[])
    try:
        result = container.exec_run(argv, stdout=True, stderr=False)
        return result.exit_code, result.output
    finally:
        container.remove(force=True)


@functools.cache
def _template(name: str) -> str:
    return (resources.files("swesrl.sandbox") / "dockerfiles" / name).read_text()


def cache_dir() -> Path:
    """Host-side downloads shared by all builds: $SWESRL_CACHE, else ~/.cache/swesrl."""
    root = os.environ.get("SWESRL_CACHE") or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "swesrl"
    return Path(root)


# -- environment --------------------------------------------------------------------------------------


def image_target(spec: EnvironmentSpec, base: str) -> Target:
    """The Python and glibc packages are chosen for: known for swesrl's bases, asked of a user's image."""
    if not spec.base_image:
        python, glibc = SUITES[suite_for_python(spec.python)]
        return Target(python, glibc)
    script = "import platform, sys; print('%d.%d' % sys.version_info[:2], platform.libc_ver()[1])"
    out = probe(base, ["python3", "-c", script])[1].decode().split()
    major, minor = (out[1].split(".") + ["17"])[:2] if len(out) > 1 and out[1] else ("2", "17")
    return Target(out[0], (int(major), int(minor)))


def ensure_environment_image(spec: EnvironmentSpec, *, progress: Progress = None) -> str:
    """swesrl/env:<key>: a venv at /opt/venv (on PATH) with the closure of `spec.python_packages`
    for the image's Python, built offline."""
    tag = f"swesrl/env:{spec.key()}"
    if image_exists(tag):
        return tag
    suite = None if spec.base_image else suite_for_python(spec.python)
    base = ensure_base_image(spec.base_image, suite=suite, progress=progress)
    with build_lock(tag), tempfile.TemporaryDirectory(prefix="swesrl-env-") as tmp:
        if image_exists(tag):
            return tag
        ctx = Path(tmp)
        (ctx / "wheels").mkdir()
        target = image_target(spec, base)
        pins: list[str] = []
        if spec.python_packages:
            say(progress, f"resolving for Python {target.python}: {' '.join(spec.python_packages)}")
            pins = compile_closure(spec.python_packages, target)
            download(pins, target, ctx / "wheels", cache_dir() / "wheels" / f"cp{target.python}")
        (ctx / "requirements.txt").write_text("".join(p + "\n" for p in pins))
        tools = [p for p in pins if p.split("==")[0].lower() in _TOOLS]
        labels = {
            "swesrl.kind": "env", "swesrl.key": spec.key(), "swesrl.parent": base, "swesrl.python": target.python,
            "swesrl.deviations": json.dumps(list(spec.deviations)),
        }  # fmt: skip
        dockerfile = _template("environment.Dockerfile").format(
            base=base,
            key=spec.key(),
            labels=" ".join(f"{k}={json.dumps(v)}" for k, v in labels.items()),
            tools=" ".join(shlex.quote(t) for t in tools) or "pip",
            setup="\n".join(f"RUN {c}" for c in spec.setup_commands),
        )
        say(progress, f"building {tag}")
        try:
            return _build(ctx, dockerfile, tag, "environment", progress)
        finally:
            _drop_build_stages(spec.key())


def _drop_build_stages(key: str) -> None:
    """The legacy builder keeps each first stage as an untagged image: remove this build's."""
    client = docker_client()
    for img in client.images.list(all=True, filters={"label": f"swesrl.build-stage-of={key}"}):
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(img.id, force=True)


# -- instance -----------------------------------------------------------------------------------------


def ensure_instance_image(spec: InstanceSpec, *, progress: Progress = None) -> str:
    """swesrl/instance:<key>: the repository at /testbed on top of its environment image."""
    tag = f"swesrl/instance:{spec.key()}"
    if image_exists(tag):
        return tag
    env_image = ensure_environment_image(spec.environment, progress=progress)
    with build_lock(tag), tempfile.TemporaryDirectory(prefix="swesrl-instance-") as tmp:
        if image_exists(tag):
            return tag
        ctx = Path(tmp)
        say(progress, f"preparing /testbed from {spec.repo.kind} {spec.repo.location}")
        prepare_repo(spec.repo, ctx / "testbed")
        envs = dict(spec.env)
        if spec.repo.kind == "sdist" and "SETUPTOOLS_SCM_PRETEND_VERSION" not in envs:
            envs["SETUPTOOLS_SCM_PRETEND_VERSION"] = spec.repo.location.partition("==")[2]
        env_lines = "\n".join(f"ENV {k}={json.dumps(v)}" for k, v in envs.items())
        install = "\n".join(f"RUN {c}" for c in spec.install_commands)
        dockerfile = _template("instance.Dockerfile").format(
            env=env_image, key=spec.key(), envs=env_lines, install=install
        )
        say(progress, f"building {tag}")
        return _build(ctx, dockerfile, tag, "instance", progress)


# -- housekeeping -------------------------------------------------------------------------------------


def image_deviations(tag: str) -> list[str]:
    """Where an image's environment differs from the spec it was derived from (its environment
    layer's `swesrl.deviations` label); none for images swesrl did not build."""
    client = docker_client()
    try:
        labels = client.images.get(tag).labels
        if labels.get("swesrl.kind") == "instance" and labels.get("swesrl.parent"):
            labels = client.images.get(labels["swesrl.parent"]).labels
        return list(json.loads(labels.get("swesrl.deviations", "[]")))
    except (docker.errors.APIError, ValueError):  # gone, or not an image of swesrl's
        return []


def list_images() -> list[ImageInfo]:
    """Every image swesrl built (label swesrl.kind), base first, with what each adds to its parent."""
    # One listing call (the SDK's images.list inspects each image after listing, which fails when
    # another process removes one in between)
    images = docker_client().api.images(filters={"label": "swesrl.kind"})
    tagged = [(img, [t for t in img.get("RepoTags") or [] if t != "<none>:<none>"]) for img in images]
    sizes = {tag: img.get("Size", 0) for img, tags in tagged for tag in tags}
    out = []
    for img, tags in tagged:
        labels = img.get("Labels") or {}
        kind = labels.get("swesrl.kind", "?")
        size = img.get("Size", 0)
        parent = labels.get("swesrl.parent")
        own = size if kind == "base" else (size - sizes[parent] if parent in sizes else None)
        created = datetime.datetime.fromtimestamp(img.get("Created", 0), datetime.timezone.utc).isoformat()
        for tag in tags or [img["Id"].removeprefix("sha256:")[:12]]:
            out.append(ImageInfo(tag=tag, kind=kind, size_bytes=size, created=created, own_bytes=own))
    return sorted(out, key=lambda i: (_KINDS.index(i.kind) if i.kind in _KINDS else 9, i.tag))


def prune_images(kind: Literal["instance", "all"] = "instance") -> list[str]:
    """Remove swesrl's instance images (or all its images) and untagged leftovers of failed builds;
    return the removed names. Images a container still uses are kept and reported."""
    if kind not in ("instance", "all"):
        raise ValueError(f"prune_images: kind must be 'instance' or 'all', got {kind!r}")
    client = docker_client()
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
    root = docker_client().info().get("DockerRootDir", "/var/lib/docker")
    path = root if os.path.exists(root) else "/"
    free = shutil.disk_usage(path).free / 1e9
    if free < min_free_gb:
        raise DiskFull(
            f"only {free:.1f} GB free under {path} (need {min_free_gb} GB): run `swesrl sandbox prune --images instance`"
        )
    return free
