"""Environments derived from SWE-bench's own specs, for rows that carry none of swesrl's fields.

SWE-bench 4.1's harness kept, per repository and version, the Python, the packages (a conda package
list, "requirements.txt" or "environment.yml"), extra `pip_packages`, `pre_install` and `install`
commands (`MAP_REPO_VERSION_TO_SPECS_PY`, with `MAP_REPO_TO_REQS_PATHS` naming the requirement files).
swebench 5 dropped that map, so it is imported from the swebench 4.1.0 wheel (downloaded once, checked
against its hash). From it and the repository at the task's commits this builds what swesrl's images
need: the Python, a complete pinned closure of packages for it (resolved on the host as of
`RESOLVE_AS_OF`, wheels preferred) and the install commands, run offline. What cannot be the same
offline (another Python, a pin without a wheel, apt packages) is recorded as a deviation.
"""

from __future__ import annotations

import configparser
import contextlib
import functools
import hashlib
import json
import shlex
import subprocess
import sys
import tempfile
import types
import zipfile
from pathlib import Path
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from swesrl.sandbox.base_images import SUITES, suite_for_python
from swesrl.sandbox.host import ImageBuildError, run_host, spec_key
from swesrl.sandbox.images import cache_dir
from swesrl.sandbox.repo_sources import RepoSource, prepare_repo
from swesrl.sandbox.wheels import Target, compile_closure, exact_pin, wheel_pin

from .tasks import Environment, Task

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SWEBENCH_SPECS = ("swebench", "4.1.0", "1243776f720047cc9e20a427f7a52b75c13a07abda6154fb60fe77f82ec8af57")
# Unpinned requirements resolve to releases of the first of these dates (or older) that resolves:
# SWE-bench's release (Oct 2023), when its rows' PASS_TO_PASS lists were computed (e.g. pydicom 2.1's
# nose-style tests pass only with pytest < 8, of Jan 2024); then its containerized harness (June
# 2024), whose spec pins include newer releases; then no bound. Exact pins are always exempt.
RESOLVE_AS_OF = ("2023-10-10", "2024-06-15", None)
_RECIPE = 6  # bump when the derivation below changes what it produces
_CONDA_ONLY = {"python", "pip", "conda", "compilers", "c-compiler", "cxx-compiler", "fortran-compiler", "make", "cmake"}


class DeriveError(RuntimeError):
    """No environment can be derived for a task (unknown repo/version, unreadable requirements)."""


@functools.cache
def swebench_specs() -> types.ModuleType:
    """swebench 4.1.0's `harness/constants/python.py` (plain data, no imports), loaded from its wheel."""
    name, version, sha256 = SWEBENCH_SPECS
    folder = cache_dir() / "swebench-specs"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    if not wheel.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        run_host(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", str(folder), f"{name}=={version}"],
            f"downloading SWE-bench's environment specs ({name}=={version})",
        )
    if hashlib.sha256(wheel.read_bytes()).hexdigest() != sha256:
        raise DeriveError(f"{wheel} does not have the sha256 of {name}=={version} from PyPI: delete it and retry")
    with zipfile.ZipFile(wheel) as zf:
        source = zf.read("swebench/harness/constants/python.py").decode()
    module = types.ModuleType("swebench_4_1_constants_python", f"{wheel}: swebench/harness/constants/python.py")
    exec(compile(source, f"{wheel}/swebench/harness/constants/python.py", "exec"), module.__dict__)  # noqa: S102 - data, hash-checked
    return module


def swebench_spec(repo: str, version: str) -> dict[str, Any] | None:
    return swebench_specs().MAP_REPO_VERSION_TO_SPECS_PY.get(repo, {}).get(version)


def spec_cpus(task: Task) -> float | None:
    """The CPUs SWE-bench's spec gives a derived row's container (`nano_cpus`: pylint 2.14+ rows get
    2, and their `needs_two_cores` tests are skipped, not passed, on one), else None."""
    if task.environment is not None or task.image:
        return None
    try:
        nano = (swebench_spec(task.repo, task.version) or {}).get("nano_cpus")
    except Exception:  # the specs' wheel cannot be had: the default limits stand
        return None
    return nano / 1e9 if nano else None


# ---- reading the repository ---------------------------------------------------------------------


def _read(tree: Path, source: RepoSource, commit: str | None, path: str) -> str | None:
    """`path` at `commit` of a git source (SWE-bench reads requirements at environment_setup_commit),
    else in the prepared tree at the base commit."""
    if source.kind == "git" and commit:
        proc = subprocess.run(["git", "-C", source.location, "show", f"{commit}:{path}"], capture_output=True, text=True)
        if proc.returncode == 0:
            return proc.stdout
    f = tree / path
    return f.read_text(errors="replace") if f.is_file() else None


def requirement_files(task: Task, tree: Path, source: RepoSource) -> tuple[list[str], str]:
    """The lines of the first of the repo's requirement files that exists, with its `-r` includes,
    skipping what SWE-bench skipped (comments, `-e .`, `.[test]`); and the file used."""
    paths = swebench_specs().MAP_REPO_TO_REQS_PATHS.get(task.repo, [])
    commit = task.environment_setup_commit or task.base_commit
    for path in paths:
        text = _read(tree, source, commit, path)
        if text is None:
            continue
        lines: list[str] = []
        folder = str(Path(path).parent)
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("-r"):
                included = _read(tree, source, commit, str(Path(folder, stripped[2:].strip())))
                lines += [x.strip() for x in (included or "").splitlines() if not _skipped(x)]
            elif not _skipped(line):
                lines.append(stripped)
        return [ln for ln in lines if ln], path
    raise DeriveError(f"{task.instance_id}: none of {paths} exists in {task.repo} at {commit}")


def _skipped(line: str) -> bool:
    return not line.strip() or line.strip().startswith(("-e .", "#", ".[test"))


def conda_packages(text: str) -> list[str]:
    """A conda package list ("numpy scipy 'pandas<2.0.0'", or an environment.yml's dependencies) as pip
    requirements: `name=1.2` is conda's `name==1.2.*`; conda-only names are dropped."""
    out = []
    for item in shlex.split(text):
        name = item.split("=")[0].split("<")[0].split(">")[0].strip()
        if name.lower() in _CONDA_ONLY:
            continue
        if "=" in item and "==" not in item and not any(op in item for op in ("<", ">", "!")):
            n, _, v = item.partition("=")
            item = f"{n}=={v.split('=')[0]}" + ("" if v.endswith("*") or v.count(".") >= 2 else ".*")
        out.append(item)
    return out


def environment_yml(task: Task, tree: Path, source: RepoSource) -> list[str]:
    """The conda and pip dependencies of the repo's environment.yml, as pip requirements."""
    commit = task.environment_setup_commit or task.base_commit
    for path in swebench_specs().MAP_REPO_TO_ENV_YML_PATHS.get(task.repo, []):
        text = _read(tree, source, commit, path)
        if text is not None:
            deps = yaml.safe_load(text).get("dependencies", [])
            conda = [d for d in deps if isinstance(d, str)]
            pip = [p for d in deps if isinstance(d, dict) for p in d.get("pip", [])]
            return conda_packages(" ".join(shlex.quote(c) for c in conda)) + pip
    raise DeriveError(f"{task.instance_id}: no environment.yml for {task.repo} at {commit}")


def _install_target(install: str, tree: Path) -> str | None:
    """The repository as a requirement (with the extras its install command asks for), when that
    command installs it with pip or setup.py: its dependencies belong in the environment. Not
    editable: resolving then needs only the wheel metadata hook, which setuptools < 64 (pinned by
    e.g. pylint 2.15's build-system) has, unlike PEP 660's `build_editable`."""
    words = shlex.split(install)
    if "setup.py" in words:
        return str(tree)
    for w in words:
        if w == "." or w.startswith(".["):
            return f"{tree}{w[1:]}"
    return None


def declared_dependencies(tree: Path) -> dict[str, SpecifierSet]:
    """What the repository itself requires (pyproject's [project] dependencies, setup.cfg's
    install_requires), by name: SWE-bench installed the repository last, online, so its own
    constraints won over the requirement files' pins (pip downgraded e.g. pylint 2.15's
    `astroid==2.12.13` to the `astroid<=2.12.0-dev0` of its base commit)."""
    lines: list[str] = []
    pyproject = tree / "pyproject.toml"
    if pyproject.is_file():
        with contextlib.suppress(tomllib.TOMLDecodeError):
            lines += tomllib.loads(pyproject.read_text()).get("project", {}).get("dependencies", [])
    cfg = configparser.ConfigParser(interpolation=None)
    with contextlib.suppress(configparser.Error, UnicodeDecodeError):
        cfg.read(tree / "setup.cfg")
        lines += cfg.get("options", "install_requires", fallback="").splitlines()
    declared: dict[str, SpecifierSet] = {}
    for line in lines:
        with contextlib.suppress(InvalidRequirement):
            req = Requirement(line.split("#")[0].strip())
            name = canonicalize_name(req.name)
            declared[name] = declared.get(name, SpecifierSet()) & req.specifier
    return declared


def build_requirements(tree: Path) -> list[str]:
    """What building the repo needs (pyproject's build-system, else setuptools and wheel), plus pip."""
    pyproject = tree / "pyproject.toml"
    requires = ["setuptools", "wheel"]
    if pyproject.is_file():
        with contextlib.suppress(tomllib.TOMLDecodeError):
            requires = tomllib.loads(pyproject.read_text()).get("build-system", {}).get("requires", requires)
    return ["pip", *requires]


# ---- the derivation -----------------------------------------------------------------------------


def derive_environment(task: Task, source: RepoSource, *, progress: Any = None) -> Environment:
    """The task's environment from SWE-bench's spec for its repo and version (cached on the host)."""
    spec = swebench_spec(task.repo, task.version)
    if spec is None:
        raise DeriveError(f"{task.instance_id}: SWE-bench's specs have no {task.repo} version {task.version!r}")
    key = spec_key({"recipe": _RECIPE, "spec": spec, "source": source.key(), "setup": task.environment_setup_commit,
                    "base": task.base_commit, "as_of": RESOLVE_AS_OF, "suites": SUITES})  # fmt: skip
    cached = cache_dir() / "environments" / f"{key}.json"
    if cached.is_file():
        return _from_json(json.loads(cached.read_text()))
    if progress:
        progress(f"deriving the environment of {task.instance_id} from SWE-bench's spec for {task.repo} {task.version}")
    with tempfile.TemporaryDirectory(prefix="swesrl-derive-") as tmp:
        tree = Path(tmp) / "repo"
        prepare_repo(source, tree)
        env = _derive(task, spec, tree, source)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(json.dumps(_to_json(env), indent=1))
    return env


def _derive(task: Task, spec: dict[str, Any], tree: Path, source: RepoSource) -> Environment:
    suite = suite_for_python(spec["python"])
    python, glibc = SUITES[suite]
    target = Target(python, glibc)
    deviations = [] if python == spec["python"] else [f"Python {python} (Debian {suite}) for SWE-bench's {spec['python']}"]
    packages = spec.get("packages", "")
    if packages == "requirements.txt":
        base, _ = requirement_files(task, tree, source)
    elif packages == "environment.yml":
        base = environment_yml(task, tree, source)
    else:
        base = conda_packages(packages)
    extra = list(spec.get("pip_packages", []))
    _edit_requirements(spec, tree)
    install = spec.get("install", "")
    repo = _install_target(install, tree)
    tools = build_requirements(tree)
    # Exact pins with no wheel for this Python move to the nearest version that has one.
    cache = cache_dir() / "wheels" / f"cp{python}"
    moved: dict[str, str] = {}
    for line in dict.fromkeys(base + extra + tools):
        pin = exact_pin(line)
        if pin:
            chosen, deviation = wheel_pin(*pin, target, cache)
            if deviation:
                moved[line] = chosen
                deviations.append(str(deviation))
    base, extra, tools = ([moved.get(x, x) for x in group] for group in (base, extra, tools))
    newer = [p[0] for p in map(exact_pin, base + extra + tools) if p]
    closure, note = _resolve(base, extra, [*tools, *([repo] if repo else [])], target, newer, declared_dependencies(tree))
    deviations += [note] if note else []
    pre_install = []
    for cmd in spec.get("pre_install", []):
        if "apt-get" in cmd:
            deviations.append(f"not run offline: {cmd}")
        else:
            pre_install.append(cmd)
    if (tree / ".git" / "shallow").is_file():
        deviations.append("no git history: the mirror lacks objects of earlier commits, so /testbed holds the base commit alone")
    env: dict[str, str] = {}
    if _legacy_editable(tree, closure):
        env["PIP_CONFIG_SETTINGS"] = "editable_mode=compat"
    if source.kind != "git" and _uses_scm(tree):
        env["SETUPTOOLS_SCM_PRETEND_VERSION"] = task.version  # a snapshot has no tags to count from
    return Environment(
        python_packages=tuple(closure),
        python=spec["python"],
        install_commands=(*pre_install, install) if install else tuple(pre_install),
        env=tuple(sorted(env.items())),
        deviations=tuple(deviations),
    )


def _edit_requirements(spec: dict[str, Any], tree: Path) -> None:
    """Run the spec's `sed -i` pre-install commands on the host's copy, before resolving: they edit
    the repository's own requirements (sphinx 3-4: `Jinja2>=2.3` becomes `Jinja2<3.0`), which the
    install command then enforces. They run again, verbatim, in the image."""
    for cmd in spec.get("pre_install", []):
        if cmd.startswith("sed -i "):
            run_host(["bash", "-c", cmd], f"pre-install edit {cmd!r}", cwd=tree)


def _resolve(base: list[str], extra: list[str], rest: list[str], target: Target, newer: list[str],
             declared: dict[str, SpecifierSet] | None = None) -> tuple[list[str], str]:  # fmt: skip
    """The closure as of the first date in RESOLVE_AS_OF that resolves. Where the repository's
    requirements and pip_packages conflict, a pip_packages pin is first relaxed to its name (the
    repository's install ran last in SWE-bench and enforces its own, e.g. sphinx 3's edited
    `Jinja2<3.0`, so an override would leave it uninstallable offline), then the requirement files'
    exact pins of what the repository itself declares (`declared`: its constraints decide, as its
    install did), else pip_packages override."""
    variants: list[tuple[list[str], list[str], str]] = [([*base, *extra, *rest], [], "")]
    for pin in filter(exact_pin, extra):
        name = exact_pin(pin)[0]  # type: ignore[index]
        relaxed = [name if e == pin else e for e in extra]
        variants.append(([*base, *relaxed, *rest], [], f"{pin} relaxed to {name}: the repository's requirements conflict with it"))
    declared = declared or {}
    pins = {b: p for b in base if (p := exact_pin(b.split("#")[0]))}
    own = {b: name for b, (name, version) in pins.items()
           if not declared.get(canonicalize_name(name), SpecifierSet()).contains(version, prereleases=True)}  # fmt: skip
    if own:
        shown = ", ".join(f"{n}=={pins[b][1]}" for b, n in own.items())
        variants.append(([own.get(b, b) for b in base] + extra + rest, [],
                         f"requirement-file pins {shown} relaxed: the repository's own requirements exclude them"))
    variants.append(([*base, *extra, *rest], extra, "pip_packages override the repository's requirements (they conflict)"))
    errors = []
    for as_of in RESOLVE_AS_OF:
        for requirements, overrides, note in variants:
            try:
                closure = compile_closure(requirements, target, overrides=overrides, exclude_newer=as_of, newer_allowed=newer)
            except ImageBuildError as e:
                errors.append(_cause(str(e)))
                continue
            notes = ([f"packages resolved as of {as_of or 'today'}"] if as_of != RESOLVE_AS_OF[0] else []) + ([note] if note else [])
            return closure, "; ".join(notes)
    raise DeriveError("no resolution of the packages for Python " + target.python + ": " + " | ".join(errors[-2:]))


def _cause(error: str) -> str:
    """The lines of a resolver failure that say why (uv ends with generic hints)."""
    lines = [ln.strip() for ln in error.splitlines()[1:] if ln.strip() and not ln.lstrip().startswith("hint:")]
    return " ".join(lines[-4:])


def _legacy_editable(tree: Path, closure: list[str]) -> bool:
    """Whether the repository's editable install must put its root on sys.path, as SWE-bench's did:
    pip then ran `setup.py develop` for a project without pyproject.toml. The images install through
    PEP 660, where setuptools >= 64 maps the packages with an import hook instead, and code that
    finds modules by path (pylint 2.14 loads its checkers with astroid's modpath_from_file) breaks;
    setuptools' compat mode writes the .pth that develop wrote."""
    if (tree / "pyproject.toml").is_file() or not (tree / "setup.py").is_file():
        return False
    pins = dict(p for p in map(exact_pin, closure) if p)
    return Version(pins.get("setuptools", "0")) >= Version("64")


def _uses_scm(tree: Path) -> bool:
    return any("setuptools_scm" in (tree / f).read_text(errors="replace") for f in ("setup.py", "setup.cfg", "pyproject.toml") if (tree / f).is_file())


def _to_json(env: Environment) -> dict[str, Any]:
    return {"python_packages": list(env.python_packages), "python": env.python, "install_commands": list(env.install_commands),
            "env": [list(kv) for kv in env.env], "deviations": list(env.deviations)}  # fmt: skip


def _from_json(d: dict[str, Any]) -> Environment:
    return Environment(
        python_packages=tuple(d["python_packages"]),
        python=d["python"],
        install_commands=tuple(d["install_commands"]),
        env=tuple((k, v) for k, v in d["env"]),
        deviations=tuple(d["deviations"]),
    )

