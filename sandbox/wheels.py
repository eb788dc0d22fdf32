"""Python packages for an image whose Python differs from the host's: resolve a pinned closure for
the target Python and platform with uv, download its wheels on the host with pip, install them
offline inside the build. An exact pin that has no wheel for the target Python moves to the nearest
version that has one, and the move is reported (SWE-bench pins e.g. numpy==1.19.2, which has no
Python 3.9 wheel)."""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .host import ImageBuildError, run_host

_NO_VERSION = re.compile(r"Could not find a version that satisfies the requirement (\S+) \(from versions: ([^)]*)\)")
_UV_MAX_GLIBC = (2, 40)  # the newest manylinux tag uv's --python-platform knows


@dataclass(frozen=True)
class Target:
    """The interpreter and platform packages are chosen for: CPython `python` on x86_64 Linux with `glibc`."""

    python: str  # "3.9"
    glibc: tuple[int, int]

    def pip_flags(self) -> list[str]:
        cp = "cp" + self.python.replace(".", "")
        platforms = [f"manylinux_2_{m}_x86_64" for m in range(self.glibc[1], 4, -1)]
        platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
        return ["--python-version", self.python, "--implementation", "cp", "--abi", cp, "--abi", "abi3", "--abi", "none",
                *(f"--platform={p}" for p in platforms)]  # fmt: skip

    def uv_platform(self) -> str:
        major, minor = min(self.glibc, _UV_MAX_GLIBC)
        return f"x86_64-manylinux_{major}_{minor}"


@dataclass(frozen=True)
class Deviation:
    """An exact pin replaced because no wheel of it runs on the target."""

    requirement: str  # as asked, e.g. "numpy==1.19.2"
    chosen: str  # e.g. "numpy==1.19.3"
    why: str

    def __str__(self) -> str:
        return f"{self.requirement} -> {self.chosen} ({self.why})"


def _uv() -> str:
    path = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    if not Path(path).exists():
        raise ImageBuildError("resolving packages for another Python needs uv: pip install uv (swesrl's eval extra has it)")
    return path


@functools.cache
def host_python(version: str) -> str | None:
    """A host interpreter of `version` ("3.9") on PATH, if one runs. uv builds source distributions
    (the repository itself among them) with it to read their metadata: old setup.py files import
    their package, which fails on a newer Python (requests 2.3 on 3.11: `collections.MutableMapping`)."""
    path = shutil.which(f"python{version}")
    if path is None:
        return None
    check = "import sys; print('%d.%d' % sys.version_info[:2])"
    proc = subprocess.run([path, "-c", check], capture_output=True, text=True)  # a pyenv shim of an inactive version fails
    return path if proc.returncode == 0 and proc.stdout.strip() == version else None


def exact_pin(line: str) -> tuple[str, str] | None:
    """(name, version) of a plain `name==version` requirement, else None."""
    try:
        req = Requirement(line)
    except InvalidRequirement:
        return None
    specs = list(req.specifier)
    if req.url or len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
        return None
    return req.name, specs[0].version


def _nearest(pinned: str, available: Sequence[str]) -> str | None:
    """The lowest available version above the pin (a later patch release usually added the wheels),
    else the highest below it."""
    try:
        want = Version(pinned)
    except InvalidVersion:
        return None
    versions = []
    for v in available:
        with contextlib.suppress(InvalidVersion):
            versions.append(Version(v))
    above = sorted(v for v in versions if v > want and not v.is_prerelease)
    below = sorted(v for v in versions if v < want and not v.is_prerelease)
    best = above[0] if above else (below[-1] if below else None)
    return str(best) if best else None


def wheel_pin(name: str, version: str, target: Target, cache: Path) -> tuple[str, Deviation | None]:
    """`name==version` when a wheel of it runs on `target` (downloading it into `cache`), else the nearest
    version that has one, with the deviation."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", str(cache),
           *target.pip_flags(), f"{name}=={version}"]  # fmt: skip
    try:
        run_host(cmd, f"checking for a Python {target.python} wheel of {name}=={version}")
        return f"{name}=={version}", None
    except ImageBuildError as e:
        m = _NO_VERSION.search(str(e))
        if not m:
            raise
        best = _nearest(version, [v.strip() for v in m.group(2).split(",") if v.strip() not in ("", "none")])
        if best is None:
            return f"{name}=={version}", None  # no wheel at all: the sdist is tried at download time
        return f"{name}=={best}", Deviation(f"{name}=={version}", f"{name}=={best}", f"no wheel for Python {target.python}")


def compile_closure(
    requirements: Sequence[str],
    target: Target,
    *,
    overrides: Sequence[str] = (),
    exclude_newer: str | None = None,
    newer_allowed: Sequence[str] = (),
) -> list[str]:
    """The complete pinned closure (`name==version` lines) of `requirements` for `target`, by uv.

    `exclude_newer` (a date) keeps releases of that date or older, except for `newer_allowed` names
    (exact pins made after it); `overrides` replace every other requirement on their packages. Wheels
    are preferred: a closure that needs a source distribution is resolved again allowing them. A
    requirement whose only releases were yanked after the fact (types-pkg-resources, needed by
    sqlfluff 0.6's dev requirements) gets the yanked release pinned exactly, as pip and uv allow.
    """
    yanked: list[str] = []
    newer = list(newer_allowed)
    while True:
        try:
            return _compile([*requirements, *yanked], target, overrides, exclude_newer, newer)
        except ImageBuildError as e:
            found = [f"{name}=={version}" for name, version in _YANKED.findall(str(e))]
            # An exact pin made after the date may need a dependency from after it too (tox==4.16.0,
            # pinned by SWE-bench's sphinx specs, needs packaging>=24.1): only that one is let through.
            allowed = {canonicalize_name(n) for n in newer}
            needed = [dep for dep, pin in _NEEDS_NEWER.findall(str(e))
                      if exclude_newer and canonicalize_name(pin) in allowed and canonicalize_name(dep) not in allowed]  # fmt: skip
            if needed:
                newer += needed
            elif found and not set(found) <= set(yanked):
                yanked = sorted({*yanked, *found})
            else:
                raise


_YANKED = re.compile(r"\b([A-Za-z0-9][\w.-]*)==(\S+) was yanked")
# uv: "Because only packaging<=23.2 is available and tox==4.16.0 depends on packaging>=24.1, ..."
_NEEDS_NEWER = re.compile(r"only ([A-Za-z0-9][\w.-]*)<=\S+ is available and ([A-Za-z0-9][\w.-]*)==\S+ depends on \1")


def _compile(
    requirements: Sequence[str], target: Target, overrides: Sequence[str], exclude_newer: str | None, newer_allowed: Sequence[str]
) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="swesrl-resolve-") as tmp:
        req_file, override_file = Path(tmp, "requirements.in"), Path(tmp, "overrides.txt")
        req_file.write_text("\n".join(requirements) + "\n")
        override_file.write_text("\n".join(overrides) + "\n")
        cmd = [_uv(), "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--no-python-downloads",
               "--python-version", target.python, "--python-platform", target.uv_platform(),
               "--override", str(override_file), str(req_file)]  # fmt: skip
        if interpreter := host_python(target.python):
            cmd += ["--python", interpreter]
        if exclude_newer:
            cmd += ["--exclude-newer", exclude_newer]
            cmd += [f"--exclude-newer-package={canonicalize_name(n)}=2100-01-01" for n in newer_allowed]
        what = f"resolving the packages for Python {target.python} (uv pip compile)"
        try:
            out = run_host([*cmd, "--only-binary", ":all:"], what)
        except ImageBuildError:
            out = run_host(cmd, what)
    lines = (ln.strip() for ln in out.splitlines())
    local = ("/", ".", "#", "-e", "--")  # local trees (the repository) are built in the image, not pinned
    return [ln for ln in lines if ln and not ln.startswith(local) and "file://" not in ln]


def download(pins: Sequence[str], target: Target, dest: Path, cache: Path) -> None:
    """Every pin's file into `dest` (a wheel for `target`, else its source distribution), through `cache`."""
    cache.mkdir(parents=True, exist_ok=True)
    if pins:
        run_host(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(cache), *target.pip_flags(), *pins],
            f"downloading the packages for Python {target.python} (pip download)",
        )
    wanted = dict(pin for pin in map(exact_pin, pins) if pin is not None)
    wanted = {canonicalize_name(name): str(Version(v)) for name, v in wanted.items()}
    for f in cache.iterdir():
        name, version = _dist_name_version(f.name)
        if name is not None and wanted.get(name) == version:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest / f.name)


def _dist_name_version(filename: str) -> tuple[str | None, str | None]:
    """(canonical name, version) of a wheel or sdist file name."""
    try:
        if filename.endswith(".whl"):
            name, version, *_ = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
        return canonicalize_name(name), str(version)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None, None
