"""Shared fixtures: paths to the real third-party data, and skips for missing Docker or GPU."""

from __future__ import annotations

import os
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


def pytest_collection_modifyitems(config, items):
    """Skip docker/gpu tests where the part is missing; in CI a missing Docker is a failure, not a skip."""
    has_docker = any("docker" in item.keywords for item in items) and _docker_ok()
    has_gpu = any("gpu" in item.keywords for item in items) and _cuda_ok()
    for item in items:
        # In CI the test runs anyway and fails loudly: a missing daemon there is a broken setup.
        if "docker" in item.keywords and not has_docker and not os.environ.get("CI"):
            item.add_marker(pytest.mark.skip(reason="no Docker daemon answers (run scripts/setup-docker.sh)"))
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(pytest.mark.skip(reason="no CUDA GPU"))


@pytest.fixture(scope="session")
def traj_data() -> Path:
    if not TRAJ_DATA.is_dir():
        pytest.skip(f"shared trajectories not found at {TRAJ_DATA}")
    return TRAJ_DATA


@pytest.fixture(scope="session")
def swebench_data() -> Path:
    if not SWEBENCH_DATA.is_dir():
        pytest.skip(f"shared SWE-bench data not found at {SWEBENCH_DATA}")
    return SWEBENCH_DATA
