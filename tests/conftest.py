"""Shared fixtures: the real third-party data, skips for missing Docker or GPU, and a wide terminal.

Outside CI a missing part (../shared, Docker, an extra, a GPU) skips its tests with the reason shown in the
summary (-ra), so a fresh clone anywhere passes; under ``CI`` a missing ../shared, daemon or extra fails.
"""

from __future__ import annotations

import importlib
import os
import signal
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SWESRL_SHARED", REPO.parent / "shared")).resolve()
TRAJ_DATA = SHARED / "data" / "trajectories"
SWEBENCH_DATA = SHARED / "data" / "swebench"


def _docker_ok() -> bool:
    try:
        import docker

        docker.from_env(timeout=5).ping()
        return True
    except Exception:
        return False


def _cuda_ok() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except Exception:
        return False


def pytest_configure(config):
    """`nohup` and `cmd &` in a script start the suite with SIGHUP and SIGINT ignored, which every process a
    test starts inherits: the tests that signal a run would then see it ignore them. Defaults, as in a terminal."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def pytest_collection_modifyitems(config, items):
    """Skip docker/gpu tests where the part is missing; in CI a missing Docker is a failure, not a skip."""
    # Markers, not item.keywords: keywords also hold the names of the folders above a test (a checkout
    # in /work/gpu would mark every test "gpu").
    has_docker = any(item.get_closest_marker("docker") for item in items) and _docker_ok()
    has_gpu = any(item.get_closest_marker("gpu") for item in items) and _cuda_ok()
    for item in items:
        # In CI the test runs anyway and fails loudly: a missing daemon there is a broken setup.
        if item.get_closest_marker("docker") and not has_docker and not os.environ.get("CI"):
            item.add_marker(pytest.mark.skip(reason="no Docker daemon answers (run scripts/setup-docker.sh)"))
        if item.get_closest_marker("gpu") and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="no CUDA GPU"))


def require_shared(path: Path) -> Path:
    """The shared data folder, or a skip (a fresh clone elsewhere) / a failure (CI, where it must be)."""
    if not path.is_dir():
        message = f"shared data not found at {path} (clone beside shared/ or set SWESRL_SHARED)"
        if os.environ.get("CI"):
            pytest.fail(f"CI: {message}")
        pytest.skip(message)
    return path


def import_extra(module: str, extra: str):
    """The module of an optional extra, or a skip naming it (a fresh clone without the extra) / a
    failure (CI, where scripts/test.sh installs it). Call at module level."""
    if not os.environ.get("CI"):
        return pytest.importorskip(module, reason=f"needs the {extra} extra: pip install -e '.[{extra}]'")
    try:
        return importlib.import_module(module)
    except ImportError as e:
        pytest.fail(f"CI: {module} is not installed, but scripts/test.sh installs the {extra} extra ({e})", pytrace=False)


def shared_files(folder: Path) -> list:
    """Parameters for a test per shared file; one placeholder when the folder is missing, so the
    test still runs, asks for its fixture and skips (or fails under CI) with the reason."""
    if folder.is_dir():
        return sorted(p for p in folder.rglob("*") if p.is_file())
    return [pytest.param(None, id="shared-data-missing")]


@pytest.fixture(scope="session")
def traj_data() -> Path:
    return require_shared(TRAJ_DATA)


@pytest.fixture(scope="session")
def swebench_data() -> Path:
    return require_shared(SWEBENCH_DATA)


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    """Rich wraps (and boxes) messages at the terminal's width; tests read messages whole, whatever
    COLUMNS the shell has and however long pytest's tmp paths are."""
    monkeypatch.setenv("COLUMNS", "4000")
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("FORCE_COLOR", "PY_COLORS", "LINES"):
        monkeypatch.delenv(name, raising=False)


def short_temp_dir(prefix: str) -> str:
    """A new folder right under /tmp: Unix socket paths (Ray's, Chromium's profile lock) must fit in
    107 bytes, which pytest's tmp_path and tempfile's default do not under a long TMPDIR."""
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")
