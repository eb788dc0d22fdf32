"""Removing what crashed or killed runs left behind: their containers and stale build-step containers."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import docker
import docker.errors

from . import ownership

LABEL = "swesrl"  # every container swesrl starts carries it
_STALE_BUILD_STEP = 600.0  # seconds: a stopped build-step container older than this is a dead build's


@dataclass(frozen=True)
class Pruned:
    removed: int
    kept: int  # containers of live runs (or of owners that cannot be told) left alone


def prune(run_id: str | None = None, *, force: bool = False) -> Pruned:
    """Remove what crashed or killed runs left: swesrl containers whose owner process is gone (all,
    or one run's). A container whose owner is alive is never removed without `force`; one whose owner
    cannot be told (another host, an older swesrl) is removed only when its run id is named.

    Without a run id this also removes stopped build-step containers of swesrl images (they carry the
    image's `swesrl.kind` label) older than ten minutes: a daemon killed mid-build leaves them, and no
    build can clean up; a younger one may be a live build's step.
    """
    client = docker.from_env(timeout=60)
    found = client.containers.list(all=True, filters={"label": f"swesrl.run_id={run_id}" if run_id else LABEL})
    removable, kept = [], 0
    for c in found:
        alive = ownership.owner_alive(c.labels)
        if force or alive is False or (alive is None and run_id is not None):
            removable.append(c)
        else:
            kept += 1
    if run_id is None:
        now = time.time()
        for status in ("exited", "created"):
            for c in client.containers.list(all=True, filters={"label": "swesrl.kind", "status": status}):
                if force or now - _created(c) > _STALE_BUILD_STEP:
                    removable.append(c)
    n = 0
    for c in {c.id: c for c in removable}.values():
        try:
            c.remove(force=True)
            n += 1
        except docker.errors.NotFound:
            pass
    client.close()
    return Pruned(n, kept)


def _created(c: docker.models.containers.Container) -> float:
    return datetime.fromisoformat(c.attrs["Created"][:26].rstrip("Z") + "+00:00").timestamp()


_reaped = threading.Event()


def reap_dead_owners_once() -> None:
    """The first sandbox of a process removes, in the background, containers whose owner process
    is gone (what SIGKILLed runs left); live runs' containers are never touched."""
    if _reaped.is_set():
        return
    _reaped.set()
    threading.Thread(target=_safe_prune, name="swesrl-reap", daemon=True).start()


def _safe_prune() -> None:
    with contextlib.suppress(Exception):  # a reap that fails changes nothing; prune reports it when asked
        prune()
