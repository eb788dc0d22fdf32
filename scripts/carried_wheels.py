"""Which carried wheels an offline GPU machine needs, and which requirements it still misses.

scripts/gpu-check.sh carries wheels of the versions tested here (.carry/wheels) and, in
.carry/wheels/fallback, older versions that ask less of the machine (datasets 5.2 needs pyarrow>=24,
5.0 only TRL's pyarrow>=21; pyarrow itself is too big to carry). ``choose`` picks, per package, the
first wheel whose requirements on packages that are not carried the machine meets, and prints it
when the machine lacks the package or holds another version. ``check`` names the requirements of
installed packages that are still unmet (reported, not fatal).

Usage: python scripts/carried_wheels.py choose WHEELS_DIR
       python scripts/carried_wheels.py check NAME...
"""

from __future__ import annotations

import importlib.metadata as m
import sys
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _installed(name: str) -> str | None:
    try:
        return m.version(name)
    except m.PackageNotFoundError:
        return None


def _applies(req: Requirement) -> bool:
    return req.marker is None or req.marker.evaluate({"extra": ""})


def wheel_requires(wheel: Path) -> list[Requirement]:
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        text = z.read(name).decode("utf-8")
    return [Requirement(line.split(":", 1)[1].strip()) for line in text.splitlines() if line.startswith("Requires-Dist:")]


def _name_version(wheel: Path) -> tuple[str, str]:
    name, version = wheel.name.split("-")[:2]
    return _norm(name), version


def choose(folder: Path) -> list[Path]:
    """The wheels to install: per carried package, the first (tested version, then fallbacks newest first) whose
    requirements outside the carried set hold here; only where this machine lacks that version."""
    primary = sorted(folder.glob("*.whl"))
    fallbacks = sorted((folder / "fallback").glob("*.whl"), key=lambda w: Version(_name_version(w)[1]), reverse=True)
    carried = {_name_version(w)[0] for w in primary}

    def fits(wheel: Path) -> bool:
        for req in filter(_applies, wheel_requires(wheel)):
            if _norm(req.name) in carried:
                continue
            have = _installed(req.name)
            if have is None or not req.specifier.contains(have, prereleases=True):
                return False
        return True

    out = []
    for wheel in primary:
        name, _ = _name_version(wheel)
        choice = next((w for w in [wheel, *(f for f in fallbacks if _name_version(f)[0] == name)] if fits(w)), wheel)
        if _installed(name) != _name_version(choice)[1]:
            out.append(choice)
    return out


def unmet(names: list[str]) -> list[str]:
    """Requirements of the installed ``names`` that the visible environment does not meet."""
    out = []
    for name in names:
        version = _installed(name)
        if version is None:
            out.append(f"{name}: not installed")
            continue
        for req in filter(_applies, map(Requirement, m.requires(name) or [])):
            have = _installed(req.name)
            if have is None or not req.specifier.contains(have, prereleases=True):
                out.append(f"{name} {version} needs {req}, found {have or 'none'}")
    return out


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "choose":
        for wheel in choose(Path(args[0])):
            print(wheel)
    elif command == "check":
        for line in unmet(args):
            print(f"[gpu-check] requirement not met here: {line}")
        print("[gpu-check] versions: " + ", ".join(f"{n} {_installed(n)}" for n in ("torch", *args) if _installed(n)))
    else:
        sys.exit(__doc__)
