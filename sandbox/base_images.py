"""Base images without a registry: Debian (one suite per Python) + git, built once with mmdebstrap
and `docker import`, reused after. Debian's archive serves bullseye (Python 3.9), bookworm (3.11)
and trixie (3.13), so those are the Pythons an offline machine can have."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import docker.errors

from swesrl.errors import SwesrlError

from .host import ImageBuildError, run_host, spec_key

Progress = Callable[[str], None] | None

# python3-wheel-whl: venvs get `wheel` offline, which `pip install --no-build-isolation -e .` needs.
BASE_PACKAGES = (
    "python3", "python3-venv", "python3-pip", "python3-wheel-whl", "git", "ca-certificates", "patch", "procps",
)  # fmt: skip
_DPKG_EXCLUDES = ("/usr/share/doc/*", "/usr/share/man/*", "/usr/share/locale/*", "/usr/share/info/*")
# Bump when the base build below changes in a way its key does not capture (packages and excludes
# are in the key).
_BASE_RECIPE = 2
# bullseye has no python3-wheel-whl: its python-pip-whl (a python3-venv dependency) carries the wheel.
_NOT_IN = {"bullseye": {"python3-wheel-whl"}}
# Debian suite -> (its python3, its glibc): the glibc bounds which manylinux wheels run there.
SUITES = {"bullseye": ("3.9", (2, 31)), "bookworm": ("3.11", (2, 36)), "trixie": ("3.13", (2, 41))}


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.split(".")[:2]
    return int(major), int(minor)


def suite_for_python(python: str | None) -> str:
    """The suite whose Python is nearest `python` ("3.6" -> bullseye's 3.9); a tie goes to the newer
    one, since code written for 3.10 more likely runs on 3.11 than on 3.9. None: the host's suite."""
    if python is None:
        return host_suite()
    want = _minor(python)
    return min(SUITES, key=lambda s: (abs(_minor(SUITES[s][0])[1] - want[1]), -_minor(SUITES[s][0])[1]))


def host_suite() -> str:
    if os.environ.get("SWESRL_DEBIAN_SUITE"):
        return os.environ["SWESRL_DEBIAN_SUITE"]
    os_release = Path("/etc/os-release")
    if os_release.exists():
        m = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", os_release.read_text(), re.M)
        if m and m.group(1) in SUITES:
            return m.group(1)
    return "bookworm"


def apt_mirror(suite: str) -> str:
    """The host's Debian mirror (set SWESRL_DEBIAN_MIRROR to override): the source that lists `suite`,
    else the one serving the host's own Debian suite (one archive serves them all)."""
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
    for wanted in (suite, *SUITES):
        for uris, suites, comps in stanzas:
            if wanted in suites and "main" in comps and uris:
                return uris[0]
    raise SwesrlError(
        f"no Debian apt source with component main in /etc/apt: set SWESRL_DEBIAN_MIRROR to a Debian mirror URL for {suite}"
    )


def base_packages(suite: str) -> tuple[str, ...]:
    return tuple(p for p in BASE_PACKAGES if p not in _NOT_IN.get(suite, ()))


def base_key(base_image: str | None, suite: str | None = None) -> str:
    if base_image:
        return base_image
    suite = suite or host_suite()
    return spec_key({"recipe": _BASE_RECIPE, "suite": suite, "packages": base_packages(suite), "exclude": _DPKG_EXCLUDES})


def base_image_tag(base_image: str | None = None, suite: str | None = None) -> str:
    return base_image or f"swesrl/base:{base_key(None, suite)}"


def ensure_base_image(base_image: str | None = None, *, suite: str | None = None, progress: Progress = None) -> str:
    """The base image's name, built once per suite (~30 s) and reused after.

    A `base_image` of your own (e.g. "python:3.9-slim", pulled if missing) is used as-is: it must
    provide bash, coreutils `timeout`, git, patch and python3 with venv.
    """
    from .images import build_lock, docker_client, image_exists, say

    if base_image:
        try:
            docker_client().images.get(base_image)
        except docker.errors.ImageNotFound:
            say(progress, f"pulling {base_image}")
            docker_client().images.pull(base_image)
        return base_image
    tag = base_image_tag(None, suite)
    if image_exists(tag):
        return tag
    with build_lock(tag):
        if not image_exists(tag):
            build_base(tag, progress, suite)
    return tag


def build_base(tag: str, progress: Progress, suite: str | None = None) -> None:
    """mmdebstrap the suite into a tarball and `docker import` it as `tag`."""
    from .images import docker_client, image_exists, say

    client = docker_client()
    if not shutil.which("mmdebstrap"):
        say(progress, "installing mmdebstrap (apt-get)")
        run_host(["apt-get", "install", "-y", "-qq", "mmdebstrap"], "installing mmdebstrap", env={"DEBIAN_FRONTEND": "noninteractive"})
    suite = suite or host_suite()
    mirror = apt_mirror(suite)
    say(progress, f"building {tag}: mmdebstrap {suite} from {mirror}")
    with tempfile.TemporaryDirectory(prefix="swesrl-base-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        cmd = [
            "mmdebstrap", "--quiet", "--mode=root", "--variant=apt", "--include=" + ",".join(base_packages(suite)),
            *(f"--dpkgopt=path-exclude={p}" for p in _DPKG_EXCLUDES),
            "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            # agents may commit; and a repo owned by another uid must still be usable
            '--customize-hook=chroot "$1" git config --system user.name swesrl',
            '--customize-hook=chroot "$1" git config --system user.email swesrl@localhost',
            '--customize-hook=chroot "$1" git config --system --add safe.directory "*"',
            '--customize-hook=rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*',
            suite, str(rootfs), mirror,
        ]  # fmt: skip
        run_host(cmd, f"building the base image {tag} (mmdebstrap)")
        repository, _, version = tag.rpartition(":")
        labels = f'swesrl.kind="base" swesrl.key="{base_key(None, suite)}" swesrl.suite="{suite}" swesrl.python="{SUITES[suite][0]}"'
        client.api.import_image(
            src=str(rootfs), repository=repository, tag=version, changes=[f"LABEL {labels}", "ENV LANG=C.UTF-8", 'CMD ["bash"]']
        )
    if not image_exists(tag):
        raise ImageBuildError(f"docker import did not produce {tag}")
