"""Sandboxes by kind: the one place that knows which class serves "docker" or "local".

The agent, the evaluation and RLVR open sandboxes through ``open_sandbox``, so another backend
(a remote container service, a VM) is one ``register`` call, not an edit in every caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from swesrl.errors import DockerUnavailable, SwesrlError

from .base import Sandbox

Factory = Callable[..., Sandbox]
_FACTORIES: dict[str, Factory] = {}
_CHECKS: dict[str, Callable[[], None]] = {}


def register(kind: str, factory: Factory, check: Callable[[], None] | None = None) -> None:
    """``factory(source, **options)`` opens a sandbox; ``check()`` raises when the backend is unusable."""
    _FACTORIES[kind] = factory
    if check is not None:
        _CHECKS[kind] = check


def open_sandbox(kind: str, source: str, **options: Any) -> Sandbox:
    """A started sandbox: ``source`` is an image (docker) or a folder copied to a scratch repo (local)."""
    if kind not in _FACTORIES:
        raise SwesrlError(f"unknown sandbox kind {kind!r}: one of {', '.join(_FACTORIES)}")
    return _FACTORIES[kind](source, **options)


def check_sandbox(kind: str) -> None:
    """Fail before any work when the backend cannot run (e.g. no Docker daemon answers)."""
    if kind not in _FACTORIES:
        raise SwesrlError(f"unknown sandbox kind {kind!r}: one of {', '.join(_FACTORIES)}")
    _CHECKS.get(kind, lambda: None)()


def _docker(source: str, **options: Any) -> Sandbox:
    from .docker_sandbox import DockerSandbox

    return DockerSandbox(source, **options)


def _docker_check() -> None:
    import docker

    try:
        docker.from_env(timeout=10).ping()
    except Exception as e:
        raise DockerUnavailable(e) from None


def _local(source: str, **labels: Any) -> Sandbox:
    """A host-side copy of a folder (tests, benchmarks; no isolation). Labels such as run_id are ignored."""
    from .local import LocalSandbox

    return LocalSandbox(source)


register("docker", _docker, _docker_check)
register("local", _local)
